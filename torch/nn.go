package torch

// #include "shim.h"
import "C"

// Linear is x @ w^T + b (b may be nil), as F.linear.
func Linear(x, w, b *Tensor) *Tensor {
	var out C.sg_tensor
	must("linear", C.sg_linear(x.handle(), w.handle(), handleOrNil(b), &out), x, w)
	return wrap(out)
}

// ConvOpts are the geometry of a 2-D convolution; zero values mean stride 1, no padding,
// dilation 1, one group.
type ConvOpts struct {
	Stride, Padding, Dilation [2]int64
	OutputPadding             [2]int64 // transposed convolution only
	Groups                    int64
}

func (o ConvOpts) norm() ConvOpts {
	for i := 0; i < 2; i++ {
		if o.Stride[i] == 0 {
			o.Stride[i] = 1
		}
		if o.Dilation[i] == 0 {
			o.Dilation[i] = 1
		}
	}
	if o.Groups == 0 {
		o.Groups = 1
	}
	return o
}

// Conv2d is F.conv2d; b may be nil.
func Conv2d(x, w, b *Tensor, o ConvOpts) *Tensor {
	o = o.norm()
	var out C.sg_tensor
	must("conv2d", C.sg_conv2d(x.handle(), w.handle(), handleOrNil(b), ptr64(o.Stride[:]), ptr64(o.Padding[:]),
		ptr64(o.Dilation[:]), C.int64_t(o.Groups), &out), x, w)
	return wrap(out)
}

// ConvTranspose2d is F.conv_transpose2d; b may be nil.
func ConvTranspose2d(x, w, b *Tensor, o ConvOpts) *Tensor {
	o = o.norm()
	var out C.sg_tensor
	must("conv_transpose2d", C.sg_conv_transpose2d(x.handle(), w.handle(), handleOrNil(b), ptr64(o.Stride[:]),
		ptr64(o.Padding[:]), ptr64(o.OutputPadding[:]), C.int64_t(o.Groups), ptr64(o.Dilation[:]), &out), x, w)
	return wrap(out)
}

// InterpMode selects the resampling of Interpolate.
type InterpMode int

// Interpolation modes.
const (
	Nearest InterpMode = iota
	Bilinear
)

// Interpolate resizes an NCHW tensor to h x w, as F.interpolate (align_corners false).
func Interpolate(x *Tensor, h, w int64, mode InterpMode) *Tensor {
	var out C.sg_tensor
	must("interpolate", C.sg_interpolate(x.handle(), C.int64_t(h), C.int64_t(w), C.int(mode), 0, &out), x)
	return wrap(out)
}

// AvgPool2d is F.avg_pool2d with a square kernel and stride, no padding.
func AvgPool2d(x *Tensor, kernel, stride int64) *Tensor {
	k := []int64{kernel, kernel}
	s := []int64{stride, stride}
	p := []int64{0, 0}
	var out C.sg_tensor
	must("avg_pool2d", C.sg_avg_pool2d(x.handle(), ptr64(k), ptr64(s), ptr64(p), &out), x)
	return wrap(out)
}

// Pad pads with a constant, pads given as in F.pad (last dim first: left, right, top, bottom).
func Pad(x *Tensor, pads []int64, value float64) *Tensor {
	var out C.sg_tensor
	must("pad", C.sg_pad(x.handle(), ptr64(pads), C.int(len(pads)), C.double(value), &out), x)
	return wrap(out)
}
