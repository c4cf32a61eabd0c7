package torch

// #include "shim.h"
import "C"

// SetRequiresGrad marks t (a leaf) as needing gradients and returns it.
func (t *Tensor) SetRequiresGrad(on bool) *Tensor {
	must("requires_grad_", C.sg_set_requires_grad(t.handle(), cbool(on)), t)
	return t
}

// RequiresGrad reports whether autograd tracks t.
func (t *Tensor) RequiresGrad() bool { return C.sg_requires_grad(t.handle()) != 0 }

// Grad returns the accumulated gradient of a leaf as a new handle, or nil if it has none.
func (t *Tensor) Grad() *Tensor {
	var out C.sg_tensor
	must("grad", C.sg_grad_of(t.handle(), &out), t)
	return wrap(out)
}

// ZeroGrad drops the gradients of ts (set to none, as PyTorch's default zero_grad).
func ZeroGrad(ts ...*Tensor) {
	hs := handles(ts)
	must("zero_grad", C.sg_zero_grad(ptrH(hs), C.int(len(hs))))
}

// Backward accumulates d(t)/d(leaves) into the leaves' Grad; t must be a scalar.
func (t *Tensor) Backward() {
	must("backward", C.sg_backward(t.handle(), nil, 0), t)
}

// BackwardRetain is Backward keeping the graph for another pass.
func (t *Tensor) BackwardRetain() {
	must("backward", C.sg_backward(t.handle(), nil, 1), t)
}

// GradOpts tune Grad.
type GradOpts struct {
	GradOutputs []*Tensor // seeds for non-scalar outputs (nil entries: ones for scalars)
	CreateGraph bool      // record the gradient computation so it can be differentiated again
	RetainGraph bool      // keep the forward graph (implied by CreateGraph)
}

// Grad returns d(sum of outputs)/d(inputs) as torch.autograd.grad does, without touching the
// inputs' .grad; an input the outputs do not depend on gets nil. With CreateGraph the result can be
// backpropagated again, which is what gradient penalties (WGAN-GP, R1) need.
func Grad(outputs, inputs []*Tensor, o GradOpts) []*Tensor {
	oh := handles(outputs)
	ih := handles(inputs)
	var gh []C.sg_tensor
	if o.GradOutputs != nil {
		gh = make([]C.sg_tensor, len(outputs))
		for i := range outputs {
			if i < len(o.GradOutputs) {
				gh[i] = handleOrNil(o.GradOutputs[i])
			}
		}
	}
	res := make([]C.sg_tensor, len(inputs))
	retain := o.RetainGraph || o.CreateGraph
	must("grad", C.sg_grad(ptrH(oh), ptrH(gh), C.int(len(oh)), ptrH(ih), C.int(len(ih)), cbool(o.CreateGraph),
		cbool(retain), ptrH(res)), append(append([]*Tensor{}, outputs...), inputs...)...)
	out := make([]*Tensor, len(res))
	for i, h := range res {
		out[i] = wrap(h)
	}
	return out
}

// NoGrad runs fn with autograd recording off (as torch.no_grad). Grad mode is thread-local in
// libtorch, so the goroutine stays on its OS thread meanwhile.
func NoGrad(fn func()) {
	unlock := lockThread()
	defer unlock()
	prev := C.sg_set_grad_enabled(0)
	defer C.sg_set_grad_enabled(prev)
	fn()
}

// GradEnabled reports whether autograd records on this thread.
func GradEnabled() bool { return C.sg_grad_enabled() != 0 }

// EMAUpdate sets dst = src + beta*(dst - src) for each pair, in one call: the EMA generator update.
func EMAUpdate(dst, src []*Tensor, beta float64) {
	if len(dst) != len(src) {
		panic(&Error{Op: "ema", Msg: "dst and src lists differ in length"})
	}
	dh, sh := handles(dst), handles(src)
	must("ema", C.sg_ema_update(ptrH(dh), ptrH(sh), C.int(len(dh)), C.double(beta)))
}

// AllFinite reports whether t has no NaN or Inf (a host sync on CUDA).
func (t *Tensor) AllFinite() bool {
	var ok C.int
	must("all_finite", C.sg_all_finite(t.handle(), &ok), t)
	return ok != 0
}
