// Package torch is sgan's own binding to libtorch: a small C++ shim (shim.h, shim_*.cpp) with a
// plain-C API, wrapped by idiomatic Go.
//
// Rules of the package:
//   - No C++ exception crosses into Go. Every shim call returns an error string. Tensor ops used
//     inside forward and backward passes panic with a *Error naming the op and the input shapes
//     (a wrong shape there is a programmer error); Try converts such a panic back to an error at a
//     step boundary. Files, devices and checkpoints return error values.
//   - Lifetime is explicit. A tensor is created in the innermost open Scope, which frees it at
//     Close; Keep takes a tensor out of its scope (parameters, optimizer state), Escape hands it to
//     the enclosing scope. Free is idempotent. No finalizers: LiveTensors counts the handles alive
//     in the shim so tests can prove a step frees what it makes.
//   - All libtorch work runs on one goroutine. Scopes are not synchronized, and grad mode is
//     thread-local inside libtorch (NoGrad locks the OS thread for its duration).
//   - Go memory never stays in C: data is copied into tensors (FromFloat32) and out (Float32s).
//   - Build flags live in cgo.go; another libtorch is chosen with LIBTORCH (scripts/torch-env),
//     and version differences between libtorch 1.13 and 2.x are confined to shim_compat.h.
package torch
