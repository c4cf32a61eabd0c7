package torch

// #include "shim.h"
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// DType is a tensor element type; the values are the shim's SG_* codes.
type DType int

// Element types.
const (
	Float32  DType = C.SG_F32
	Float64  DType = C.SG_F64
	Int64    DType = C.SG_I64
	Uint8    DType = C.SG_U8
	Bool     DType = C.SG_BOOL
	Float16  DType = C.SG_F16
	BFloat16 DType = C.SG_BF16
	Int32    DType = C.SG_I32
)

var dtypeNames = map[DType]string{Float32: "float32", Float64: "float64", Int64: "int64", Uint8: "uint8", Bool: "bool",
	Float16: "float16", BFloat16: "bfloat16", Int32: "int32"}

func (d DType) String() string {
	if n, ok := dtypeNames[d]; ok {
		return n
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// DeviceType is CPU or CUDA.
type DeviceType int

// Device types.
const (
	CPUType DeviceType = iota
	CUDAType
	OtherType
)

// Device is a device type and index. The zero value is the CPU.
type Device struct {
	Type  DeviceType
	Index int
}

// CPU is the host.
var CPU = Device{Type: CPUType}

// CUDA returns the i-th CUDA device.
func CUDA(i int) Device { return Device{Type: CUDAType, Index: i} }

func (d Device) String() string {
	switch d.Type {
	case CPUType:
		return "cpu"
	case CUDAType:
		return fmt.Sprintf("cuda:%d", max(d.Index, 0))
	}
	return "other"
}

// IsCUDA reports whether d is a CUDA device.
func (d Device) IsCUDA() bool { return d.Type == CUDAType }

// ParseDevice reads "auto" (CUDA when available), "cpu", "cuda" or "cuda:N".
func ParseDevice(s string) (Device, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case s == "" || s == "auto":
		if CUDAAvailable() {
			return CUDA(0), nil
		}
		return CPU, nil
	case s == "cpu":
		return CPU, nil
	case s == "cuda" || strings.HasPrefix(s, "cuda:"):
		i := 0
		if rest, ok := strings.CutPrefix(s, "cuda:"); ok {
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return CPU, fmt.Errorf("torch: bad device %q (use auto, cpu, cuda or cuda:N)", s)
			}
			i = n
		}
		if n := CUDADeviceCount(); i >= n {
			return CPU, fmt.Errorf("torch: device %q asked for, but this libtorch sees %d CUDA devices (use device = \"cpu\" or \"auto\")", s, n)
		}
		return CUDA(i), nil
	}
	return CPU, fmt.Errorf("torch: unknown device %q (use auto, cpu, cuda or cuda:N)", s)
}

// Options are the dtype and device of a new tensor; the zero value is float32 on the CPU.
type Options struct {
	DType  DType
	Device Device
}

func (o Options) c() (C.int, C.int, C.int) {
	return C.int(o.DType), C.int(o.Device.Type), C.int(o.Device.Index)
}

// CUDAAvailable reports whether libtorch was built with CUDA and sees a GPU.
func CUDAAvailable() bool { return C.sg_cuda_available() != 0 }

// CUDADeviceCount is the number of visible CUDA devices.
func CUDADeviceCount() int { return int(C.sg_cuda_device_count()) }

// SetNumThreads sets libtorch's intra-op thread count.
func SetNumThreads(n int) { C.sg_set_num_threads(C.int(n)) }

// NumThreads is libtorch's intra-op thread count.
func NumThreads() int { return int(C.sg_get_num_threads()) }

// ManualSeed seeds libtorch's default generators (CPU and CUDA).
func ManualSeed(seed uint64) { C.sg_manual_seed(C.uint64_t(seed)) }

// SetCUDAPerf turns on cuDNN autotuning and TF32 matmuls/convs; harmless without CUDA.
func SetCUDAPerf(benchmark, tf32 bool) {
	C.sg_set_cudnn_benchmark(cbool(benchmark))
	C.sg_set_tf32(cbool(tf32))
}

// Synchronize waits for queued CUDA work; a no-op on CPU.
func Synchronize() error { return errOrNil(errOf("synchronize", C.sg_cuda_synchronize())) }

func errOrNil(e *Error) error {
	if e == nil {
		return nil
	}
	return e
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Debian's libtorch starts with one intra-op thread on a 2-core machine; use every core unless
// the user asked otherwise through OMP_NUM_THREADS or SGAN_THREADS.
func init() {
	if os.Getenv("SGAN_MALLOC") != "default" {
		C.sg_tune_malloc()
	}
	for _, k := range []string{"SGAN_THREADS", "OMP_NUM_THREADS"} {
		if v := os.Getenv(k); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				SetNumThreads(n)
				return
			}
		}
	}
	SetNumThreads(runtime.NumCPU())
}

// Generator is a seeded random number generator on a device.
type Generator struct {
	g      C.sg_gen
	device Device
}

// NewGenerator returns a generator of the device's kind seeded with seed.
func NewGenerator(d Device, seed uint64) (*Generator, error) {
	var g C.sg_gen
	if err := errOf("generator", C.sg_gen_new(C.int(d.Type), C.int(d.Index), C.uint64_t(seed), &g)); err != nil {
		return nil, err
	}
	return &Generator{g: g, device: d}, nil
}

// Device is where the generator draws numbers.
func (g *Generator) Device() Device { return g.device }

// State returns a copy of the generator state (a uint8 tensor) for checkpoints.
func (g *Generator) State() *Tensor {
	var out C.sg_tensor
	must("generator state", C.sg_gen_get_state(g.g, &out))
	return wrap(out)
}

// SetState restores a state from State.
func (g *Generator) SetState(s *Tensor) error {
	return errOrNil(errOf("generator set state", C.sg_gen_set_state(g.g, s.handle()), s))
}

// Close releases the generator.
func (g *Generator) Close() {
	if g != nil && g.g != nil {
		C.sg_gen_free(g.g)
		g.g = nil
	}
}

func (g *Generator) h() C.sg_gen {
	if g == nil {
		return nil
	}
	return g.g
}
