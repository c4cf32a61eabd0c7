//go:build cuda

package torch

// With -tags cuda the CUDA half of libtorch is linked explicitly; --no-as-needed keeps the linker
// from dropping it, since nothing names its symbols but its static initializers register the CUDA
// backend.

// SGAN_NCCL compiles the NCCL process group into shim_dist.cpp (data-parallel training on GPUs);
// the CPU build references no NCCL symbol.

// #cgo CPPFLAGS: -DSGAN_NCCL
// #cgo LDFLAGS: -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed
import "C"
