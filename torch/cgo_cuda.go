//go:build cuda

package torch

// With -tags cuda the CUDA half of libtorch is linked explicitly; --no-as-needed keeps the linker
// from dropping it, since nothing names its symbols but its static initializers register the CUDA
// backend.

// #cgo LDFLAGS: -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed
import "C"
