package torch

// #include "shim.h"
import "C"

import (
	"fmt"
	"strconv"
)

// AdamConfig holds Adam's hyper-parameters; LR may be changed between steps (phased schedules).
type AdamConfig struct {
	LR          float64
	Beta1       float64
	Beta2       float64
	Eps         float64
	WeightDecay float64
}

// Adam is torch.optim.Adam over one parameter group. Its moment buffers live on the parameters'
// devices and are owned by the optimizer; Step updates every parameter in one shim call.
type Adam struct {
	AdamConfig
	params []*Tensor
	m, v   []*Tensor
	step   int64
}

// NewAdam creates an optimizer over params (which must be leaves requiring grad).
func NewAdam(params []*Tensor, cfg AdamConfig) *Adam {
	a := &Adam{AdamConfig: cfg, params: params}
	for _, p := range params {
		o := Options{DType: p.DType(), Device: p.Device()}
		a.m = append(a.m, Zeros(p.Shape(), o).Keep())
		a.v = append(a.v, Zeros(p.Shape(), o).Keep())
	}
	return a
}

// Steps is the number of updates taken so far.
func (a *Adam) Steps() int64 { return a.step }

// Step applies one update from the parameters' current gradients.
func (a *Adam) Step() {
	a.step++
	ph, mh, vh := handles(a.params), handles(a.m), handles(a.v)
	must("adam", C.sg_adam_step(ptrH(ph), ptrH(mh), ptrH(vh), C.int(len(ph)), C.double(a.LR), C.double(a.Beta1),
		C.double(a.Beta2), C.double(a.Eps), C.double(a.WeightDecay), C.int64_t(a.step)))
}

// ZeroGrad drops every parameter's gradient.
func (a *Adam) ZeroGrad() { ZeroGrad(a.params...) }

// State returns the optimizer state as named tensors (prefix + "step", prefix + "exp_avg.i",
// prefix + "exp_avg_sq.i"), the tensors still owned by the optimizer.
func (a *Adam) State(prefix string) map[string]*Tensor {
	st := map[string]*Tensor{}
	for i := range a.params {
		st[prefix+"exp_avg."+strconv.Itoa(i)] = a.m[i]
		st[prefix+"exp_avg_sq."+strconv.Itoa(i)] = a.v[i]
	}
	return st
}

// LoadState copies state written by State back in; step is the number of steps taken.
func (a *Adam) LoadState(prefix string, st map[string]*Tensor, step int64) error {
	for i := range a.params {
		for _, kv := range []struct {
			name string
			dst  *Tensor
		}{{"exp_avg.", a.m[i]}, {"exp_avg_sq.", a.v[i]}} {
			k := prefix + kv.name + strconv.Itoa(i)
			src, ok := st[k]
			if !ok {
				return fmt.Errorf("torch: optimizer state lacks %s", k)
			}
			if fmt.Sprint(src.Shape()) != fmt.Sprint(kv.dst.Shape()) {
				return fmt.Errorf("torch: optimizer state %s has shape %v, parameter needs %v", k, src.Shape(), kv.dst.Shape())
			}
			NoGrad(func() { kv.dst.CopyFrom(src) })
		}
	}
	a.step = step
	return nil
}

// Free releases the optimizer's buffers.
func (a *Adam) Free() {
	FreeAll(a.m...)
	FreeAll(a.v...)
	a.m, a.v = nil, nil
}
