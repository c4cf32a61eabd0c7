package torch

// #include "shim.h"
import "C"

// Image warping for the augmentation package (shim_warp.cpp).

// GridSample is F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
// for an NCHW x and an N x Ho x Wo x 2 grid of (x, y) positions in [-1, 1]. Unlike libtorch's own
// grid_sampler_2d it can be differentiated twice with respect to x, which a gradient penalty on
// warped images needs. The grid is a constant: it must not require gradients, and none reach it.
func GridSample(x, grid *Tensor) *Tensor {
	var out C.sg_tensor
	must("grid_sample", C.sg_grid_sample_lin(x.handle(), grid.handle(), &out), x, grid)
	return wrap(out)
}

// AffineGrid is F.affine_grid(theta, size, align_corners=False): the sampling grid of the N x 2 x 3
// affine maps theta (output to input, in [-1, 1] coordinates) for an output of size N, C, H, W.
func AffineGrid(theta *Tensor, size []int64) *Tensor {
	var out C.sg_tensor
	must("affine_grid", C.sg_affine_grid(theta.handle(), ptr64(size), C.int(len(size)), 0, &out), theta)
	return wrap(out)
}

// PadReflect is F.pad(x, [left, right, top, bottom], mode="reflect") on the last two dims of an
// NCHW x (each pad smaller than the size it pads).
func PadReflect(x *Tensor, left, right, top, bottom int64) *Tensor {
	pads := []int64{left, right, top, bottom}
	var out C.sg_tensor
	must("pad_reflect", C.sg_pad_reflect(x.handle(), ptr64(pads), C.int(len(pads)), &out), x)
	return wrap(out)
}
