// shim_warp.cpp: image warping for the augmentation package (augment/): bilinear grid sampling that
// can be differentiated twice with respect to the image, the affine sampling grid, and reflection
// padding.
//
// libtorch's grid_sampler_2d has a first derivative but none of its backward (libtorch 1.13 and
// 2.x raise "derivative for aten::grid_sampler_2d_backward is not implemented"), and an R1 penalty
// on augmented reals needs exactly that: d/dtheta of |d D(aug(x)) / dx|^2. For a fixed grid the
// sampling is a linear map S of the image, y = S x, so its backward is the transposed map,
// gx = S^T gy, whose own derivative with respect to gy is S again. Two autograd functions that name
// each other as their backward express this: GridSampleLin (forward S, backward S^T) and
// GridSampleT (forward S^T, backward S). No gradient flows to the grid, which the augmentation
// computes from random constants; a grid that requires gradients is refused.
#include <torch/csrc/autograd/custom_function.h>

#include "shim_internal.h"

using sgshim::ints;
using sgshim::T;
using sgshim::wrap;

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// libtorch's enum values of grid_sampler_2d: bilinear interpolation, zero padding.
constexpr int64_t kBilinear = 0;
constexpr int64_t kZeros = 0;

// S^T gy. x is only the shape and dtype carrier that grid_sampler_2d_backward wants (it also reads
// it for the grid's gradient, which is masked off here).
struct GridSampleT : public torch::autograd::Function<GridSampleT> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gy, const at::Tensor& x, const at::Tensor& grid) {
    ctx->save_for_backward({grid});
    return std::get<0>(at::grid_sampler_2d_backward(gy, x, grid, kBilinear, kZeros, false, {true, false}));
  }
  static variable_list backward(AutogradContext* ctx, variable_list g);
};

// S x.
struct GridSampleLin : public torch::autograd::Function<GridSampleLin> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& grid) {
    ctx->save_for_backward({x, grid});
    return at::grid_sampler_2d(x, grid, kBilinear, kZeros, false);
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    auto saved = ctx->get_saved_variables();
    return {GridSampleT::apply(g[0], saved[0].detach(), saved[1]), at::Tensor()};
  }
};

variable_list GridSampleT::backward(AutogradContext* ctx, variable_list g) {
  auto grid = ctx->get_saved_variables()[0];
  return {GridSampleLin::apply(g[0], grid), at::Tensor(), at::Tensor()};
}

}  // namespace

extern "C" {

sg_err sg_grid_sample_lin(sg_tensor x, sg_tensor grid, sg_tensor* out) {
  SG_TRY
  const at::Tensor& g = T(grid);
  if (g.requires_grad()) throw std::invalid_argument("the grid must not require gradients (none flow to it)");
  if (T(x).dim() != 4 || g.dim() != 4 || g.size(3) != 2)
    throw std::invalid_argument("want an NCHW image and an N x H x W x 2 grid");
  *out = wrap(GridSampleLin::apply(T(x), g));
  SG_END
}

sg_err sg_affine_grid(sg_tensor theta, const int64_t* size, int nd, int align_corners, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::affine_grid_generator(T(theta), ints(size, nd), align_corners != 0));
  SG_END
}

sg_err sg_pad_reflect(sg_tensor x, const int64_t* pads, int n, sg_tensor* out) {
  SG_TRY
  if (n != 4) throw std::invalid_argument("reflection padding takes 4 values (left, right, top, bottom)");
  *out = wrap(at::reflection_pad2d(T(x), ints(pads, n)));
  SG_END
}

}  // extern "C"
