package torch

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Tensor is a handle to a libtorch tensor. Handles are pointers, never copied by value, so a
// tensor is freed exactly once: by Free, or by the Scope that owns it.
type Tensor struct {
	h     C.sg_tensor
	owner *Scope
	idx   int // position in owner.ts, for O(1) Keep
}

// Error is a failed libtorch call: the op, libtorch's message and the input shapes. Ops inside a
// forward or backward pass panic with *Error (a shape bug is a programmer error); Try turns such
// a panic back into an error at a step boundary.
type Error struct {
	Op     string
	Msg    string
	Shapes []string
}

func (e *Error) Error() string {
	if len(e.Shapes) == 0 {
		return e.Op + ": " + e.Msg
	}
	return fmt.Sprintf("%s: %s (inputs %s)", e.Op, e.Msg, strings.Join(e.Shapes, ", "))
}

// Try runs fn and returns the *Error it panicked with, if any. Other panics propagate.
func Try(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if te, ok := r.(*Error); ok {
				err = te
				return
			}
			panic(r)
		}
	}()
	fn()
	return nil
}

// errOf converts a shim error string into an *Error naming the op and its inputs' shapes, and
// frees the C string. It returns nil for a nil error.
func errOf(op string, e C.sg_err, inputs ...*Tensor) *Error {
	if e == nil {
		return nil
	}
	msg := C.GoString(e)
	C.sg_free_err(e)
	te := &Error{Op: op, Msg: strings.TrimSpace(msg)}
	for _, t := range inputs {
		if t == nil || t.h == nil {
			te.Shapes = append(te.Shapes, "nil")
			continue
		}
		te.Shapes = append(te.Shapes, fmt.Sprint(t.Shape()))
	}
	return te
}

// must panics with the *Error for a failed op.
func must(op string, e C.sg_err, inputs ...*Tensor) {
	if err := errOf(op, e, inputs...); err != nil {
		panic(err)
	}
}

// handle returns t's C handle, panicking on a nil or freed tensor (a programmer error).
func (t *Tensor) handle() C.sg_tensor {
	if t == nil {
		panic(&Error{Op: "tensor", Msg: "nil tensor"})
	}
	if t.h == nil {
		panic(&Error{Op: "tensor", Msg: "use of a freed tensor"})
	}
	return t.h
}

func handleOrNil(t *Tensor) C.sg_tensor {
	if t == nil {
		return nil
	}
	return t.handle()
}

// Scope owns every tensor created while it is the innermost open scope, and frees them all at
// Close. sgan opens one per training phase, so a step's temporaries cost one call each to free
// and nothing relies on the garbage collector. Scopes are not safe for concurrent use: all
// libtorch work runs on one goroutine (see doc.go).
type Scope struct {
	ts     []*Tensor
	parent *Scope
	closed bool
}

var current *Scope

// NewScope opens a scope nested in the current one.
func NewScope() *Scope {
	s := &Scope{parent: current}
	current = s
	return s
}

// WithScope runs fn inside a fresh scope and closes it afterwards, even on panic.
func WithScope(fn func()) {
	s := NewScope()
	defer s.Close()
	fn()
}

// Close frees every tensor the scope still owns and makes its parent current again. Closing
// out of order (an outer scope before an inner one) also closes the inner ones.
func (s *Scope) Close() {
	if s.closed {
		return
	}
	for current != nil && current != s {
		current.Close()
	}
	for _, t := range s.ts {
		if t != nil && t.owner == s {
			t.owner = nil
			t.Free()
		}
	}
	s.ts = nil
	s.closed = true
	current = s.parent
}

// Owns reports whether t belongs to s.
func (s *Scope) Owns(t *Tensor) bool { return t != nil && t.owner == s }

// Len is the number of tensors the scope owns.
func (s *Scope) Len() int {
	n := 0
	for _, t := range s.ts {
		if t != nil && t.owner == s {
			n++
		}
	}
	return n
}

func wrap(h C.sg_tensor) *Tensor {
	if h == nil {
		return nil
	}
	t := &Tensor{h: h}
	if s := current; s != nil {
		t.owner = s
		t.idx = len(s.ts)
		s.ts = append(s.ts, t)
	}
	return t
}

func (t *Tensor) release() {
	if s := t.owner; s != nil {
		if t.idx < len(s.ts) && s.ts[t.idx] == t {
			s.ts[t.idx] = nil
		}
		t.owner = nil
	}
}

// Keep takes t out of its scope: it lives until Free. Parameters, optimizer state and anything
// else that outlives a step are kept.
func (t *Tensor) Keep() *Tensor {
	t.release()
	return t
}

// Escape moves t from its scope to the enclosing one (or makes it unowned at the top level), for
// a result that a helper with its own scope hands back to its caller.
func (t *Tensor) Escape() *Tensor {
	s := t.owner
	if s == nil {
		return t
	}
	t.release()
	if p := s.parent; p != nil {
		t.owner = p
		t.idx = len(p.ts)
		p.ts = append(p.ts, t)
	}
	return t
}

// Free releases the tensor now. It is idempotent; freeing a tensor a scope owns is fine.
func (t *Tensor) Free() {
	if t == nil || t.h == nil {
		return
	}
	t.release()
	C.sg_free(t.h)
	t.h = nil
}

// FreeAll frees every tensor in ts.
func FreeAll(ts ...*Tensor) {
	for _, t := range ts {
		t.Free()
	}
}

// LiveTensors is the number of tensor handles not yet freed, counted by the shim; leak tests
// check that it stays flat across steps.
func LiveTensors() int64 { return int64(C.sg_live_tensors()) }

// Version is the libtorch version the shim was compiled against.
func Version() string { return C.GoString(C.sg_torch_version()) }

// Dim is the number of dimensions.
func (t *Tensor) Dim() int { return int(C.sg_dim(t.handle())) }

// Shape returns the sizes of every dimension.
func (t *Tensor) Shape() []int64 {
	h := t.handle()
	n := int(C.sg_dim(h))
	s := make([]int64, n)
	if n > 0 {
		C.sg_shape(h, (*C.int64_t)(unsafe.Pointer(&s[0])))
	}
	return s
}

// Size returns the size of dimension d (negative counts from the end).
func (t *Tensor) Size(d int) int64 {
	s := t.Shape()
	if d < 0 {
		d += len(s)
	}
	return s[d]
}

// Numel is the number of elements.
func (t *Tensor) Numel() int64 {
	n := int64(1)
	for _, s := range t.Shape() {
		n *= s
	}
	return n
}

// DType is the element type.
func (t *Tensor) DType() DType { return DType(C.sg_dtype(t.handle())) }

// Device is where the tensor lives.
func (t *Tensor) Device() Device {
	h := t.handle()
	return Device{Type: DeviceType(C.sg_device_type(h)), Index: int(C.sg_device_index(h))}
}

// String describes the tensor without its values.
func (t *Tensor) String() string {
	if t == nil || t.h == nil {
		return "Tensor(nil)"
	}
	return fmt.Sprintf("Tensor(%v, %v, %v)", t.Shape(), t.DType(), t.Device())
}

func ptr64(s []int64) *C.int64_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&s[0]))
}

func handles(ts []*Tensor) []C.sg_tensor {
	hs := make([]C.sg_tensor, len(ts))
	for i, t := range ts {
		hs[i] = t.handle()
	}
	return hs
}

func ptrH(hs []C.sg_tensor) *C.sg_tensor {
	if len(hs) == 0 {
		return nil
	}
	return &hs[0]
}

// lockThread pins the goroutine to its OS thread while libtorch thread-local state (grad mode)
// is changed, and returns the unlock.
func lockThread() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}
