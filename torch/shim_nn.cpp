// shim_nn.cpp: neural-network ops, autograd, and the fused multi-tensor updates (Adam, EMA).
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "shim_internal.h"

using sgshim::ints;
using sgshim::opt;
using sgshim::T;
using sgshim::wrap;

extern "C" {

sg_err sg_linear(sg_tensor x, sg_tensor w, sg_tensor b, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::linear(T(x), T(w), opt(b)));
  SG_END
}

sg_err sg_conv2d(sg_tensor x, sg_tensor w, sg_tensor b, const int64_t* stride, const int64_t* pad,
                 const int64_t* dil, int64_t groups, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::conv2d(T(x), T(w), opt(b), ints(stride, 2), ints(pad, 2), ints(dil, 2), groups));
  SG_END
}

sg_err sg_conv_transpose2d(sg_tensor x, sg_tensor w, sg_tensor b, const int64_t* stride, const int64_t* pad,
                           const int64_t* outpad, int64_t groups, const int64_t* dil, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::conv_transpose2d(T(x), T(w), opt(b), ints(stride, 2), ints(pad, 2), ints(outpad, 2), groups,
                                   ints(dil, 2)));
  SG_END
}

sg_err sg_interpolate(sg_tensor x, int64_t oh, int64_t ow, int mode, int align_corners, sg_tensor* out) {
  SG_TRY
  const at::Tensor& t = T(x);
  if (t.dim() != 4) throw std::invalid_argument("interpolate wants a 4-d NCHW input, got " + std::to_string(t.dim()) + "-d");
  std::vector<int64_t> size{oh, ow};
  switch (mode) {
    case 0: *out = wrap(at::upsample_nearest2d(t, size)); break;
    case 1: *out = wrap(at::upsample_bilinear2d(t, size, align_corners != 0)); break;
    default: throw std::invalid_argument("unknown interpolation mode " + std::to_string(mode));
  }
  SG_END
}

sg_err sg_avg_pool2d(sg_tensor x, const int64_t* k, const int64_t* s, const int64_t* pad, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::avg_pool2d(T(x), ints(k, 2), ints(s, 2), ints(pad, 2)));
  SG_END
}

sg_err sg_pad(sg_tensor x, const int64_t* pads, int n, double value, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::constant_pad_nd(T(x), ints(pads, n), value));
  SG_END
}

sg_err sg_set_requires_grad(sg_tensor t, int on) {
  SG_TRY
  T(t).requires_grad_(on != 0);
  SG_END
}

sg_err sg_grad_of(sg_tensor t, sg_tensor* out) {
  SG_TRY
  const at::Tensor& g = T(t).grad();
  *out = g.defined() ? wrap(g) : nullptr;
  SG_END
}

sg_err sg_zero_grad(const sg_tensor* ts, int n) {
  SG_TRY
  // Resetting (rather than zero-filling) matches optimizer.zero_grad(set_to_none=True): no memory
  // traffic, and the next backward allocates fresh gradients.
  for (int i = 0; i < n; i++) T(ts[i]).mutable_grad().reset();
  SG_END
}

sg_err sg_backward(sg_tensor loss, sg_tensor grad, int retain_graph) {
  SG_TRY
  std::vector<at::Tensor> gs;
  if (grad != nullptr) gs.push_back(T(grad));
  torch::autograd::backward({T(loss)}, gs, retain_graph != 0, false);
  SG_END
}

sg_err sg_grad(const sg_tensor* outs, const sg_tensor* gouts, int nout, const sg_tensor* ins, int nin,
               int create_graph, int retain_graph, sg_tensor* result) {
  SG_TRY
  auto o = sgshim::list(outs, nout);
  std::vector<at::Tensor> go;
  if (gouts != nullptr) {
    for (int i = 0; i < nout; i++) go.push_back(gouts[i] ? T(gouts[i]) : at::Tensor());
  }
  auto in = sgshim::list(ins, nin);
  auto r = torch::autograd::grad(o, in, go, retain_graph != 0, create_graph != 0, /*allow_unused=*/true);
  for (int i = 0; i < nin; i++) result[i] = r[i].defined() ? wrap(r[i]) : nullptr;
  SG_END
}

int sg_set_grad_enabled(int on) {
  bool prev = at::GradMode::is_enabled();
  at::GradMode::set_enabled(on != 0);
  return prev ? 1 : 0;
}

int sg_grad_enabled(void) { return at::GradMode::is_enabled() ? 1 : 0; }

// Adam exactly as torch.optim.Adam (amsgrad off, L2 weight decay added to the gradient), for all
// parameters of a group in one call. Parameters without a gradient are skipped.
sg_err sg_adam_step(const sg_tensor* params, const sg_tensor* m, const sg_tensor* v, int n, double lr,
                    double beta1, double beta2, double eps, double weight_decay, int64_t step) {
  SG_TRY
  at::NoGradGuard ng;
  double bc1 = 1.0 - std::pow(beta1, static_cast<double>(step));
  double bc2 = 1.0 - std::pow(beta2, static_cast<double>(step));
  double step_size = lr / bc1;
  double bc2_sqrt = std::sqrt(bc2);
  for (int i = 0; i < n; i++) {
    at::Tensor p = T(params[i]);
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    if (weight_decay != 0) g = g.add(p, weight_decay);
    at::Tensor ea = T(m[i]);
    at::Tensor eas = T(v[i]);
    ea.lerp_(g, 1.0 - beta1);
    eas.mul_(beta2).addcmul_(g, g, 1.0 - beta2);
    at::Tensor denom = (eas.sqrt() / bc2_sqrt).add_(eps);
    p.addcdiv_(ea, denom, -step_size);
  }
  SG_END
}

// dst = lerp(src, dst, beta): the EMA generator update, one call for every tensor.
sg_err sg_ema_update(const sg_tensor* dst, const sg_tensor* src, int n, double beta) {
  SG_TRY
  at::NoGradGuard ng;
  for (int i = 0; i < n; i++) {
    at::Tensor d = T(dst[i]);
    d.lerp_(T(src[i]).detach(), 1.0 - beta);
  }
  SG_END
}

sg_err sg_all_finite(sg_tensor t, int* out) {
  SG_TRY
  *out = at::isfinite(T(t)).all().item<bool>() ? 1 : 0;
  SG_END
}

}  // extern "C"
