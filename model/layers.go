package model

import (
	"math"

	"sgan/torch"
)

// The layers below follow NVlabs stylegan2-ada-pytorch (networks.py): weights are N(0,1) and
// scaled at run time by 1/sqrt(fan_in) (equalized learning rate), activations are leaky ReLU(0.2)
// times sqrt(2), and resampling uses the [1,3,3,1] FIR filter.

const lreluSlope = 0.2

var sqrt2 = math.Sqrt2

// fc is NVlabs' FullyConnectedLayer.
type fc struct {
	w, b         *torch.Tensor
	wGain, bGain float64
	act          bool
}

func newFC(p prefix, g *torch.Generator, in, out int, lrMul, biasInit float64, act bool) *fc {
	w := torch.Randn([]int64{int64(out), int64(in)}, g, torch.Options{}).DivS(lrMul)
	return &fc{
		w:     p.param("weight", w),
		b:     p.param("bias", torch.Full([]int64{int64(out)}, biasInit, torch.Options{})),
		wGain: lrMul / math.Sqrt(float64(in)),
		bGain: lrMul,
		act:   act,
	}
}

func (l *fc) forward(x *torch.Tensor) (out *torch.Tensor) {
	ls := enter()
	defer func() { out = ls.exit(out) }()
	y := torch.Linear(x, l.w.MulS(l.wGain), l.b.MulS(l.bGain))
	if l.act {
		y = y.LeakyReLU(lreluSlope).MulS(sqrt2)
	}
	return y
}

// fir holds the [1,3,3,1] low-pass filter as a fixed depthwise kernel.
type fir struct {
	k *torch.Tensor // [1, 1, 4, 4], sums to 1
}

func newFIR(d torch.Device) fir {
	v := []float32{1, 3, 3, 1}
	k := make([]float32, 16)
	for i := range 4 {
		for j := range 4 {
			k[i*4+j] = v[i] * v[j] / 64
		}
	}
	t := torch.FromFloat32(k, 1, 1, 4, 4)
	kt := t.ToDevice(d, false).Keep()
	t.Free()
	return fir{k: kt}
}

// up doubles H and W: zero insertion then the filter (gain 4). The zeros go in with one pad of a
// 6-d view and the filter runs as a depthwise conv: the same as NVlabs' transposed conv, whose
// depthwise backward is 3x slower on CPU.
func (f fir) up(x *torch.Tensor) *torch.Tensor {
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	y := torch.Pad(x.Reshape(n, c, h, 1, w, 1), []int64{0, 1, 0, 0, 0, 1}, 0).Reshape(n, c, 2*h, 2*w)
	// Taps at -2..+1 around each output pixel: pad 2 before and 1 after.
	return torch.Conv2d(torch.Pad(y, []int64{2, 1, 2, 1}, 0), f.k.MulS(4).Expand(c, 1, 4, 4), nil, torch.ConvOpts{Groups: c})
}

// blur filters with padding pad on every side (before a stride-2 conv).
func (f fir) blur(x *torch.Tensor, pad int64) *torch.Tensor {
	c := x.Size(1)
	return torch.Conv2d(x, f.k.Expand(c, 1, 4, 4), nil, torch.ConvOpts{Padding: [2]int64{pad, pad}, Groups: c})
}

// conv is NVlabs' Conv2dLayer (critic): equalized-LR conv, optional 2x downsampling (blur, then
// stride-2 conv), bias and leaky ReLU, output scaled by gain.
type conv struct {
	w, b  *torch.Tensor
	wGain float64
	k     int64
	down  bool
	act   bool
	gain  float64
	f     fir
}

func newConv(p prefix, g *torch.Generator, f fir, in, out, k int, bias, act, down bool, gain float64) *conv {
	c := &conv{
		w:     p.param("weight", torch.Randn([]int64{int64(out), int64(in), int64(k), int64(k)}, g, torch.Options{})),
		wGain: 1 / math.Sqrt(float64(in*k*k)),
		k:     int64(k), down: down, act: act, gain: gain, f: f,
	}
	if bias {
		c.b = p.param("bias", torch.Zeros([]int64{int64(out)}, torch.Options{}))
	}
	return c
}

func (l *conv) forward(x *torch.Tensor) (out *torch.Tensor) {
	ls := enter()
	defer func() { out = ls.exit(out) }()
	w := l.w.MulS(l.wGain)
	var y *torch.Tensor
	if l.down {
		// Filter taps (4) minus the factor (2) plus the kernel's reach (k-1), split evenly.
		pad := (2 + l.k - 1) / 2
		y = torch.Conv2d(l.f.blur(x, pad), w, l.b, torch.ConvOpts{Stride: [2]int64{2, 2}})
	} else {
		y = torch.Conv2d(x, w, l.b, torch.ConvOpts{Padding: [2]int64{l.k / 2, l.k / 2}})
	}
	if l.act {
		return y.LeakyReLU(lreluSlope).MulS(sqrt2 * l.gain)
	}
	if l.gain != 1 {
		return y.MulS(l.gain)
	}
	return y
}

// modConv is NVlabs' SynthesisLayer: a 3x3 conv whose weights are modulated per sample by a
// style from w and demodulated; then noise, bias and leaky ReLU. With up set it first doubles the
// resolution.
type modConv struct {
	affine        *fc
	w, b          *torch.Tensor
	noiseStrength *torch.Tensor
	noiseConst    *torch.Tensor
	up            bool
	res           int64
	f             fir
}

func newModConv(p prefix, g *torch.Generator, f fir, wDim, in, out, res int, up bool) *modConv {
	return &modConv{
		affine:        newFC(p.sub("affine"), g, wDim, in, 1, 1, false),
		w:             p.param("weight", torch.Randn([]int64{int64(out), int64(in), 3, 3}, g, torch.Options{})),
		b:             p.param("bias", torch.Zeros([]int64{int64(out)}, torch.Options{})),
		noiseStrength: p.param("noise_strength", torch.Zeros([]int64{}, torch.Options{})),
		noiseConst:    p.buf("noise_const", torch.Randn([]int64{int64(res), int64(res)}, g, torch.Options{})),
		up:            up, res: int64(res), f: f,
	}
}

// NoiseMode selects the per-pixel noise of the synthesis layers.
type NoiseMode int

// Noise modes, as in NVlabs: fresh random noise (training), the fixed per-layer noise buffers
// (reproducible images), or none.
const (
	NoiseRandom NoiseMode = iota
	NoiseConst
	NoiseNone
)

// Rows places a batch inside a larger one: its N samples are rows [Offset, Offset+N) of a batch
// of Total. Random noise is then drawn for all Total samples (the same draws a single process
// makes for the whole batch) and the batch's rows are kept, so data-parallel processes each
// rendering a slice see exactly the noise of one process rendering it all. Total 0: the batch
// stands alone.
type Rows struct{ Offset, Total int64 }

func (l *modConv) forward(x, w *torch.Tensor, mode NoiseMode, g *torch.Generator, rows Rows) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	if l.up {
		x = l.f.up(x)
	}
	n, in := x.Size(0), x.Size(1)
	out := l.w.Size(0)
	styles := l.affine.forward(w) // [N, in]
	// Demodulation coefficients without materializing per-sample weights:
	// sum_{i,k} (w[o,i,k] s[n,i])^2 = (s^2 @ (sum_k w^2)^T)[n,o].
	d := styles.Square().Matmul(l.w.Square().Sum([]int64{2, 3}, false).Transpose(0, 1)).AddS(1e-8).Rsqrt() // [N, out]
	// Modulation and demodulation scale the activations around one ordinary conv with the shared
	// weight (NVlabs' non-fused path, which it also trains with): the same math as a grouped conv
	// of per-sample weights, but one batched conv is faster here (the training step ~15% so) and is
	// the layout cuDNN is best at.
	y := torch.Conv2d(x.Mul(styles.Reshape(n, in, 1, 1)), l.w, nil, torch.ConvOpts{Padding: [2]int64{1, 1}})
	y = y.Mul(d.Reshape(n, out, 1, 1))
	switch mode {
	case NoiseRandom:
		var noise *torch.Tensor
		if rows.Total > 0 {
			noise = torch.Randn([]int64{rows.Total, 1, l.res, l.res}, g, torch.Options{Device: y.Device()}).Narrow(0, rows.Offset, n)
		} else {
			noise = torch.Randn([]int64{n, 1, l.res, l.res}, g, torch.Options{Device: y.Device()})
		}
		y = y.Add(noise.Mul(l.noiseStrength))
	case NoiseConst:
		y = y.Add(l.noiseConst.Mul(l.noiseStrength))
	}
	return y.Add(l.b.Reshape(1, out, 1, 1)).LeakyReLU(lreluSlope).MulS(sqrt2)
}

// toRGB is NVlabs' ToRGBLayer: a modulated 1x1 conv without demodulation, plus bias.
type toRGB struct {
	affine *fc
	w, b   *torch.Tensor
	wGain  float64
}

func newToRGB(p prefix, g *torch.Generator, wDim, in, out int) *toRGB {
	return &toRGB{
		affine: newFC(p.sub("affine"), g, wDim, in, 1, 1, false),
		w:      p.param("weight", torch.Randn([]int64{int64(out), int64(in), 1, 1}, g, torch.Options{})),
		b:      p.param("bias", torch.Zeros([]int64{int64(out)}, torch.Options{})),
		wGain:  1 / math.Sqrt(float64(in)),
	}
}

func (l *toRGB) forward(x, w *torch.Tensor) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	n, in := x.Size(0), x.Size(1)
	out := l.w.Size(0)
	styles := l.affine.forward(w).MulS(l.wGain)
	y := torch.Conv2d(x.Mul(styles.Reshape(n, in, 1, 1)), l.w, nil, torch.ConvOpts{})
	return y.Add(l.b.Reshape(1, out, 1, 1))
}

// normalize2ndMoment scales each row of x to unit mean square (pixel norm of z).
func normalize2ndMoment(x *torch.Tensor) *torch.Tensor {
	return x.Mul(x.Square().Mean([]int64{1}, true).AddS(1e-8).Rsqrt())
}
