package model

import (
	"fmt"
	"math"

	"sgan/torch"
)

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

// noiseInput says how a synthesis pass draws its noise.
type noiseInput struct {
	mode NoiseMode
	gen  *torch.Generator // NoiseRandom: the generator (nil: libtorch's default)
	rows Rows
	// maxRes > 0 leaves the noise out of layers above this resolution (NoiseRandom only).
	maxRes int64
	maps   map[string]*torch.Tensor // NoiseConst: explicit maps by buffer name, in place of the buffers (nil: the buffers)
}

// SynthesisLayer is NVlabs' SynthesisLayer: a 3x3 conv whose input channels are scaled by a
// style from w (modulation) and whose outputs are rescaled to unit expected norm
// (demodulation); then noise, bias, leaky ReLU and the optional clamp. With up set it doubles H
// and W first (conv2dUp).
type SynthesisLayer struct {
	affine        *FullyConnected // "affine": w -> styles
	weight, bias  *torch.Tensor
	noiseStrength *torch.Tensor
	noiseConst    *torch.Tensor // [res, res]
	noiseName     string        // noiseConst's name in the Store
	filter        *torch.Tensor
	res           int64
	up            bool
	clamp         float64
}

func newSynthesisLayer(p prefix, g *torch.Generator, wDim, in, out, res int, up bool, clamp float64) *SynthesisLayer {
	return &SynthesisLayer{
		filter:        newResampleFilter(p),
		weight:        p.param("weight", torch.Randn([]int64{int64(out), int64(in), 3, 3}, g, torch.Options{})),
		noiseStrength: p.param("noise_strength", torch.Zeros([]int64{}, torch.Options{})),
		bias:          p.param("bias", torch.Zeros([]int64{int64(out)}, torch.Options{})),
		noiseConst:    p.buf("noise_const", torch.Randn([]int64{int64(res), int64(res)}, g, torch.Options{})),
		noiseName:     p.full("noise_const"),
		affine:        newFullyConnected(p.sub("affine"), g, wDim, in, FCOptions{BiasInit: 1}),
		res:           int64(res), up: up, clamp: clamp,
	}
}

func (l *SynthesisLayer) forward(x, w *torch.Tensor, noise noiseInput) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	n, in := x.Size(0), x.Size(1)
	out := l.weight.Size(0)
	styles := l.affine.forward(w) // [N, in]
	// Demodulation coefficients without materializing per-sample weights:
	// sum_{i,k} (w[o,i,k] s[n,i])^2 = (s^2 @ (sum_k w^2)^T)[n,o].
	d := styles.Square().Matmul(l.weight.Square().Sum([]int64{2, 3}, false).Transpose(0, 1)).AddS(1e-8).Rsqrt() // [N, out]
	// Modulation and demodulation scale the activations around one ordinary conv with the shared
	// weight (NVlabs' non-fused path, which it trains with): the same math as its fused grouped
	// conv of per-sample weights, and the layout oneDNN and cuDNN are fastest at.
	x = x.Mul(styles.Reshape(n, in, 1, 1))
	var y *torch.Tensor
	if l.up {
		y = conv2dUp(x, l.weight, l.filter)
	} else {
		y = torch.Conv2d(x, l.weight, nil, torch.ConvOpts{Padding: [2]int64{1, 1}})
	}
	y = y.Mul(d.Reshape(n, out, 1, 1))
	switch {
	case noise.mode == NoiseRandom && noise.maxRes > 0 && l.res > noise.maxRes:
	case noise.mode == NoiseRandom:
		var z *torch.Tensor
		if noise.rows.Total > 0 {
			z = torch.Randn([]int64{noise.rows.Total, 1, l.res, l.res}, noise.gen, torch.Options{Device: y.Device()}).Narrow(0, noise.rows.Offset, n)
		} else {
			z = torch.Randn([]int64{n, 1, l.res, l.res}, noise.gen, torch.Options{Device: y.Device()})
		}
		y = y.Add(z.Mul(l.noiseStrength))
	case noise.mode == NoiseConst:
		c := l.noiseConst
		if noise.maps != nil {
			if c = noise.maps[l.noiseName]; c == nil {
				panic(&torch.Error{Op: "synthesis", Msg: "no noise map for " + l.noiseName})
			}
		}
		y = y.Add(c.Mul(l.noiseStrength))
	}
	return biasAct(y, l.bias, true, sqrt2, l.clamp)
}

// ToRGBLayer is NVlabs' ToRGBLayer: a modulated 1x1 conv without demodulation, bias and clamp.
type ToRGBLayer struct {
	affine       *FullyConnected
	weight, bias *torch.Tensor
	weightGain   float64
	clamp        float64
}

func newToRGBLayer(p prefix, g *torch.Generator, wDim, in, out int, clamp float64) *ToRGBLayer {
	return &ToRGBLayer{
		affine:     newFullyConnected(p.sub("affine"), g, wDim, in, FCOptions{BiasInit: 1}),
		weight:     p.param("weight", torch.Randn([]int64{int64(out), int64(in), 1, 1}, g, torch.Options{})),
		bias:       p.param("bias", torch.Zeros([]int64{int64(out)}, torch.Options{})),
		weightGain: 1 / math.Sqrt(float64(in)),
		clamp:      clamp,
	}
}

func (l *ToRGBLayer) forward(x, w *torch.Tensor) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	n, in := x.Size(0), x.Size(1)
	styles := l.affine.forward(w).MulS(l.weightGain)
	y := torch.Conv2d(x.Mul(styles.Reshape(n, in, 1, 1)), l.weight, nil, torch.ConvOpts{})
	return biasAct(y, l.bias, false, 1, l.clamp)
}

// SynthesisBlock is NVlabs' SynthesisBlock with the skip architecture: at resolution res it
// takes the features x and image img of res/2 (or, in the 4x4 block, the learned constant),
// runs conv0 (upsampling) and conv1, and adds its toRGB output to the upsampled img.
type SynthesisBlock struct {
	res        int
	inChannels int             // 0 in the 4x4 block
	constInput *torch.Tensor   // "const", the 4x4 block only
	conv0      *SynthesisLayer // nil in the 4x4 block
	conv1      *SynthesisLayer
	torgb      *ToRGBLayer
	filter     *torch.Tensor
	numConv    int // ws the convs use: 1 in the 4x4 block, else 2; toRGB uses one more
}

func newSynthesisBlock(p prefix, g *torch.Generator, cfg Config, res int) *SynthesisBlock {
	out := cfg.ChannelsAt(res)
	b := &SynthesisBlock{res: res, filter: newResampleFilter(p)}
	if res == 4 {
		b.constInput = p.param("const", torch.Randn([]int64{int64(out), 4, 4}, g, torch.Options{}))
		b.numConv = 1
	} else {
		b.inChannels = cfg.ChannelsAt(res / 2)
		b.conv0 = newSynthesisLayer(p.sub("conv0"), g, cfg.WDim, b.inChannels, out, res, true, cfg.ConvClamp)
		b.numConv = 2
	}
	b.conv1 = newSynthesisLayer(p.sub("conv1"), g, cfg.WDim, out, out, res, false, cfg.ConvClamp)
	b.torgb = newToRGBLayer(p.sub("torgb"), g, cfg.WDim, out, cfg.Channels, cfg.ConvClamp)
	return b
}

// forward runs the block on x and img of the previous block (both nil in the 4x4 block) with
// its numConv+1 latents ws [N, numConv+1, WDim].
func (b *SynthesisBlock) forward(x, img, ws *torch.Tensor, noise noiseInput) (xOut, imgOut *torch.Tensor) {
	n := ws.Size(0)
	wAt := func(i int) *torch.Tensor { return ws.Narrow(1, int64(i), 1).Squeeze(1) }
	half := int64(b.res / 2)
	if b.inChannels == 0 {
		x = b.constInput.Unsqueeze(0).Repeat(n, 1, 1, 1)
		x = b.conv1.forward(x, wAt(0), noise)
	} else {
		if s := x.Shape(); len(s) != 4 || s[0] != n || s[1] != int64(b.inChannels) || s[2] != half || s[3] != half {
			panic(&torch.Error{Op: fmt.Sprintf("synthesis b%d", b.res), Msg: fmt.Sprintf("features have shape %v, want [%d %d %d %d]", s, n, b.inChannels, half, half)})
		}
		x = b.conv1.forward(b.conv0.forward(x, wAt(0), noise), wAt(1), noise)
	}
	y := b.torgb.forward(x, wAt(b.numConv))
	if img != nil {
		y = upsample2d(img, b.filter).Add(y)
	}
	return x, y
}

// SynthesisNetwork is NVlabs' SynthesisNetwork: the blocks b4, b8, ..., bR. Block r uses the
// latents ws[:, i:i+k+1] where k is its number of convs and i the convs before it, so each
// toRGB shares its w with the next block's first conv.
type SynthesisNetwork struct {
	blocks []*SynthesisBlock
	numWs  int
	wDim   int
}

func newSynthesisNetwork(p prefix, g *torch.Generator, cfg Config) *SynthesisNetwork {
	s := &SynthesisNetwork{wDim: cfg.WDim}
	for res := 4; res <= cfg.Resolution; res *= 2 {
		b := newSynthesisBlock(p.sub(fmt.Sprintf("b%d", res)), g, cfg, res)
		s.blocks = append(s.blocks, b)
		s.numWs += b.numConv
	}
	s.numWs++ // the last toRGB
	return s
}

// forward renders images [N, Channels, R, R] from ws [N, NumWs, WDim].
func (s *SynthesisNetwork) forward(ws *torch.Tensor, noise noiseInput) *torch.Tensor {
	if ws.Dim() != 3 || ws.Size(1) != int64(s.numWs) || ws.Size(2) != int64(s.wDim) {
		panic(&torch.Error{Op: "synthesis", Msg: fmt.Sprintf("ws has shape %v, want [N %d %d]", ws.Shape(), s.numWs, s.wDim)})
	}
	n := ws.Size(0)
	if r := noise.rows; r.Total > 0 && (r.Offset < 0 || r.Offset+n > r.Total) {
		panic(&torch.Error{Op: "synthesis", Msg: fmt.Sprintf("rows [%d, %d) are outside a batch of %d", r.Offset, r.Offset+n, r.Total)})
	}
	var x, img *torch.Tensor
	idx := 0
	for _, b := range s.blocks {
		// A scope per block frees its temporaries, and the previous block's x and img go once the
		// next ones exist (autograd keeps what it needs for the backward pass).
		torch.WithScope(func() {
			nx, nimg := b.forward(x, img, ws.Narrow(1, int64(idx), int64(b.numConv+1)), noise)
			torch.FreeAll(x, img)
			x, img = nx.Escape(), nimg.Escape()
		})
		idx += b.numConv
	}
	return img
}
