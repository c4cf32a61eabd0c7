package model

import (
	"math"

	"sgan/torch"
)

// The layers below compute what NVlabs stylegan2-ada-pytorch's training/networks.py computes,
// in float32 (NVlabs' fp16 blocks run in float32 here, as NVlabs does with force_fp32): weights
// are N(0,1) and scaled at run time by 1/sqrt(fan_in) (equalized learning rate), activations are
// leaky ReLU(0.2) times sqrt(2), and resampling uses the [1,3,3,1] FIR filter held by each
// resampling module in its "resample_filter" buffer, as in NVlabs' state dicts.

const lreluSlope = 0.2

var sqrt2 = math.Sqrt2

// FullyConnected is NVlabs' FullyConnectedLayer.
type FullyConnected struct {
	weight, bias      *torch.Tensor
	weightGain, bGain float64
	act               bool
}

// FCOptions configure a FullyConnected layer.
type FCOptions struct {
	LRMul    float64 // learning-rate multiplier (0 means 1): weights are drawn N(0, 1/LRMul^2) and scaled by LRMul at run time
	BiasInit float64 // initial bias value
	LReLU    bool    // leaky ReLU * sqrt(2) after the bias; else linear
}

func newFullyConnected(p prefix, g *torch.Generator, in, out int, o FCOptions) *FullyConnected {
	lrMul := o.LRMul
	if lrMul == 0 {
		lrMul = 1
	}
	w := torch.Randn([]int64{int64(out), int64(in)}, g, torch.Options{}).DivS(lrMul)
	return &FullyConnected{
		weight:     p.param("weight", w),
		bias:       p.param("bias", torch.Full([]int64{int64(out)}, o.BiasInit, torch.Options{})),
		weightGain: lrMul / math.Sqrt(float64(in)),
		bGain:      lrMul,
		act:        o.LReLU,
	}
}

func (l *FullyConnected) forward(x *torch.Tensor) (out *torch.Tensor) {
	ls := enter()
	defer func() { out = ls.exit(out) }()
	y := torch.Linear(x, l.weight.MulS(l.weightGain), l.bias.MulS(l.bGain))
	if l.act {
		y = y.LeakyReLU(lreluSlope).MulS(sqrt2)
	}
	return y
}

// newResampleFilter registers the [1,3,3,1] low-pass filter, normalized to sum 1, as a [4, 4]
// buffer named resample_filter (NVlabs' upfirdn2d.setup_filter).
func newResampleFilter(p prefix) *torch.Tensor {
	v := []float32{1, 3, 3, 1}
	k := make([]float32, 16)
	for i := range 4 {
		for j := range 4 {
			k[i*4+j] = v[i] * v[j] / 64
		}
	}
	return p.buf("resample_filter", torch.FromFloat32(k, 4, 4))
}

// firFilter is NVlabs' upfirdn2d without resampling: pad (left, right, top, bottom), then a
// depthwise true convolution with f times gain.
func firFilter(x, f *torch.Tensor, gain float64, pad [4]int64) *torch.Tensor {
	c := x.Size(1)
	k := f.Flip(0, 1).MulS(gain).Reshape(1, 1, f.Size(0), f.Size(1)).Expand(c, 1, f.Size(0), f.Size(1))
	if pad != [4]int64{} {
		x = torch.Pad(x, pad[:], 0)
	}
	return torch.Conv2d(x, k, nil, torch.ConvOpts{Groups: c})
}

// zeroInsert doubles H and W by putting a zero after every pixel in both directions (one pad of a
// 6-d view).
func zeroInsert(x *torch.Tensor) *torch.Tensor {
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	return torch.Pad(x.Reshape(n, c, h, 1, w, 1), []int64{0, 1, 0, 0, 0, 1}, 0).Reshape(n, c, 2*h, 2*w)
}

// upsample2d is NVlabs' upfirdn2d.upsample2d: 2x zero insertion, then the filter with gain 4,
// padded 2 before and 1 after so the output is exactly 2H x 2W.
func upsample2d(x, f *torch.Tensor) *torch.Tensor {
	return firFilter(zeroInsert(x), f, 4, [4]int64{2, 1, 2, 1})
}

// conv2dUp is NVlabs' conv2d_resample(x, w, f, up=2, padding=1, flip_weight=False) for a 3x3 w:
// the upsampling convolution of its SynthesisLayer. NVlabs runs it as a stride-2 transposed conv
// followed by the filter; this is the same linear map in the order of its generic path (zero
// insertion, the filter over the full support padded 3 before and 2 after, then a valid
// convolution with the kernel flipped, i.e. a true convolution), which is 2-5x faster on CPU
// than libtorch's transposed conv, forward and backward. The flip and the 1-pixel-wider filtered
// map are what make it NVlabs' function: the fixture tests fail without either.
func conv2dUp(x, w, f *torch.Tensor) *torch.Tensor {
	return upConv(x, w, f)
}

// upConv computes conv2dUp; a variable only so the tests can show that the fixtures catch the
// earlier, wrong versions.
var upConv = func(x, w, f *torch.Tensor) *torch.Tensor {
	y := firFilter(zeroInsert(x), f, 4, [4]int64{3, 2, 3, 2})
	return torch.Conv2d(y, w.Flip(2, 3), nil, torch.ConvOpts{})
}

// biasAct is NVlabs' bias_act: x + b (per channel), then leaky ReLU when act, times gain, then
// clamped to [-clamp, clamp] when clamp > 0.
func biasAct(x, b *torch.Tensor, act bool, gain, clamp float64) *torch.Tensor {
	if b != nil {
		shape := make([]int64, x.Dim())
		for i := range shape {
			shape[i] = 1
		}
		shape[1] = b.Size(0)
		x = x.Add(b.Reshape(shape...))
	}
	if act {
		x = x.LeakyReLU(lreluSlope)
	}
	if gain != 1 {
		x = x.MulS(gain)
	}
	if clamp > 0 {
		x = x.Clamp(-clamp, clamp)
	}
	return x
}

// Conv2dLayer is NVlabs' Conv2dLayer (the critic's convolutions): an equalized-LR conv with
// optional 2x downsampling (filter, then a stride-2 conv), bias, activation and clamp.
type Conv2dLayer struct {
	weight, bias *torch.Tensor
	filter       *torch.Tensor
	weightGain   float64
	kernel       int64
	o            ConvOptions
}

// ConvOptions configure a Conv2dLayer.
type ConvOptions struct {
	Kernel int     // kernel side (1 or 3)
	NoBias bool    // no additive bias (the residual skip)
	LReLU  bool    // leaky ReLU * sqrt(2); else linear
	Down   bool    // halve H and W
	Clamp  float64 // clamp the output to +-Clamp*gain, 0 = off (NVlabs' conv_clamp)
}

func newConv2dLayer(p prefix, g *torch.Generator, in, out int, o ConvOptions) *Conv2dLayer {
	k := o.Kernel
	l := &Conv2dLayer{
		filter:     newResampleFilter(p),
		weight:     p.param("weight", torch.Randn([]int64{int64(out), int64(in), int64(k), int64(k)}, g, torch.Options{})),
		weightGain: 1 / math.Sqrt(float64(in*k*k)),
		kernel:     int64(k),
		o:          o,
	}
	if !o.NoBias {
		l.bias = p.param("bias", torch.Zeros([]int64{int64(out)}, torch.Options{}))
	}
	return l
}

// forward runs the layer with its output scaled by gain (NVlabs' forward(x, gain)).
func (l *Conv2dLayer) forward(x *torch.Tensor, gain float64) (out *torch.Tensor) {
	ls := enter()
	defer func() { out = ls.exit(out) }()
	w := l.weight.MulS(l.weightGain)
	var y *torch.Tensor
	if l.o.Down {
		// The filter's taps (4) minus the factor (2) plus the kernel's reach (k-1), split evenly.
		p := (2 + l.kernel - 1) / 2
		y = torch.Conv2d(firFilter(x, l.filter, 1, [4]int64{p, p, p, p}), w, nil, torch.ConvOpts{Stride: [2]int64{2, 2}})
	} else {
		y = torch.Conv2d(x, w, nil, torch.ConvOpts{Padding: [2]int64{l.kernel / 2, l.kernel / 2}})
	}
	actGain := gain
	if l.o.LReLU {
		actGain *= sqrt2
	}
	return biasAct(y, l.bias, l.o.LReLU, actGain, l.o.Clamp*gain)
}
