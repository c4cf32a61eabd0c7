package model

import (
	"fmt"
	"math"

	"sgan/torch"
)

// Critic is NVlabs' Discriminator with the resnet architecture: one DiscriminatorBlock per
// resolution from R down to 8 (the first with fromRGB), then the 4x4 DiscriminatorEpilogue. A
// conditional critic maps the one-hot class through its own MappingNetwork ("mapping", z_dim 0)
// to the vector the epilogue's output is projected on (NVlabs' cmap). Tensors live in Store under
// NVlabs' names: "b64.conv0.weight", ..., "b4.out.bias", "mapping.fc0.weight".
type Critic struct {
	Cfg   Config
	Store *Store

	blocks   []*DiscriminatorBlock
	mapping  *MappingNetwork // nil when unconditional
	epilogue *DiscriminatorEpilogue
}

// NewCritic builds a critic with StyleGAN2 initialization drawn from seed, placed on device d.
func NewCritic(cfg Config, seed uint64, d torch.Device) (*Critic, error) {
	g, done, err := beginInit(cfg, seed)
	if err != nil {
		return nil, err
	}
	defer done()

	D := &Critic{Cfg: cfg, Store: newStore(d)}
	root := prefix{s: D.Store}
	// Building can still fail for lack of memory (or a device error): an error, not a panic.
	if err := torch.Try(func() {
		for res := cfg.Resolution; res > 4; res /= 2 {
			D.blocks = append(D.blocks, newDiscriminatorBlock(root.sub(fmt.Sprintf("b%d", res)), g, cfg, res))
		}
		cmapDim := 0
		if cfg.NumClasses > 0 {
			cmapDim = cfg.CriticChannelsAt(4)
			D.mapping = newMappingNetwork(root.sub("mapping"), g, MappingOptions{
				CDim: cfg.NumClasses, WDim: cmapDim, Layers: cfg.CriticMappingLayers, LRMul: cfg.MappingLRMul,
			})
		}
		D.epilogue = newDiscriminatorEpilogue(root.sub("b4"), g, cfg, cmapDim)
	}); err != nil {
		D.Store.Free()
		return nil, fmt.Errorf("model: building the critic: %w", err)
	}
	return D, nil
}

// CheckInput returns an error naming both sizes when img is not [N, Channels, R, R].
func (D *Critic) CheckInput(img *torch.Tensor) error {
	s := img.Shape()
	r := int64(D.Cfg.Resolution)
	if len(s) != 4 || s[1] != int64(D.Cfg.Channels) || s[2] != r || s[3] != r {
		return fmt.Errorf("critic: input has shape %v, want [N %d %d %d]", s, D.Cfg.Channels, r, r)
	}
	return nil
}

// Forward scores images [N, Channels, R, R] (and one-hot classes [N, NumClasses] when
// conditional): [N, 1], higher meaning more real.
func (D *Critic) Forward(img, c *torch.Tensor) *torch.Tensor {
	if err := D.CheckInput(img); err != nil {
		panic(&torch.Error{Op: "critic", Msg: err.Error()[len("critic: "):]})
	}
	x := img
	for _, b := range D.blocks {
		x = b.forward(x)
	}
	var cmap *torch.Tensor
	if D.mapping != nil {
		if c == nil {
			panic(&torch.Error{Op: "critic", Msg: "conditional critic needs class labels"})
		}
		cmap = D.mapping.forward(nil, c)
	}
	return D.epilogue.forward(x, cmap)
}

// OneHot turns int64 labels into one-hot rows on the critic's device.
func (D *Critic) OneHot(labels *torch.Tensor) *torch.Tensor {
	return oneHot(labels, D.Cfg.NumClasses, D.Store.Device())
}

// Free releases the critic's tensors.
func (D *Critic) Free() { D.Store.Free() }

// DiscriminatorBlock is NVlabs' resnet DiscriminatorBlock at resolution res: (fromRGB in the
// first block), then skip(x) + conv1(conv0(x)), both branches halving the resolution and scaled
// by sqrt(1/2).
type DiscriminatorBlock struct {
	res          int
	tmp          int          // channels inside the block
	fromRGB      *Conv2dLayer // the first block only
	conv0, conv1 *Conv2dLayer
	skip         *Conv2dLayer
}

func newDiscriminatorBlock(p prefix, g *torch.Generator, cfg Config, res int) *DiscriminatorBlock {
	tmp, out := cfg.CriticChannelsAt(res), cfg.CriticChannelsAt(res/2)
	clamp := cfg.ConvClamp
	b := &DiscriminatorBlock{res: res, tmp: tmp}
	newResampleFilter(p)
	if res == cfg.Resolution {
		b.fromRGB = newConv2dLayer(p.sub("fromrgb"), g, cfg.Channels, tmp, ConvOptions{Kernel: 1, LReLU: true, Clamp: clamp})
	}
	b.conv0 = newConv2dLayer(p.sub("conv0"), g, tmp, tmp, ConvOptions{Kernel: 3, LReLU: true, Clamp: clamp})
	b.conv1 = newConv2dLayer(p.sub("conv1"), g, tmp, out, ConvOptions{Kernel: 3, LReLU: true, Down: true, Clamp: clamp})
	b.skip = newConv2dLayer(p.sub("skip"), g, tmp, out, ConvOptions{Kernel: 1, NoBias: true, Down: true})
	return b
}

func (b *DiscriminatorBlock) forward(x *torch.Tensor) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	if b.fromRGB != nil {
		x = b.fromRGB.forward(x, 1)
	}
	if s := x.Shape(); len(s) != 4 || s[1] != int64(b.tmp) || s[2] != int64(b.res) || s[3] != int64(b.res) {
		panic(&torch.Error{Op: fmt.Sprintf("critic b%d", b.res), Msg: fmt.Sprintf("features have shape %v, want [N %d %d %d]", s, b.tmp, b.res, b.res)})
	}
	half := math.Sqrt(0.5)
	y := b.skip.forward(x, half)
	return b.conv1.forward(b.conv0.forward(x, 1), half).Add(y)
}

// MinibatchStd is NVlabs' MinibatchStdLayer with one channel group: it appends one feature map
// holding the average standard deviation of the features over a group of samples. The group
// size shrinks to the largest divisor of N that fits.
//
// Groups are contiguous runs of samples (rows [0,G), [G,2G), ...), where NVlabs groups samples
// i, i+N/G, i+2N/G, ... (strided). Contiguous groups do not depend on the batch size: under
// data-parallel training each process scores its own contiguous slice of the global batch, and
// as long as the slice is a multiple of G every group (and so the critic's output) is exactly
// what one process computes for the whole batch. The two agree up to a permutation of the rows:
// sgan's critic on x[P] equals NVlabs' on x with its rows permuted by P,
//
//	D_sgan(x[P]) == D_nvlabs(x)[P],  P = (arange(N) % G) * (N // G) + arange(N) // G
//
// (the fixture tests check this), so scores and losses (means over the batch) are the same
// function of the batch's multiset of groups.
type MinibatchStd struct{ group int }

func (m MinibatchStd) forward(x *torch.Tensor) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	g := min(int64(m.group), n)
	for n%g != 0 {
		g--
	}
	y := x.Reshape(-1, g, 1, c, h, w)                           // [N/G, G, F, c, h, w]
	y = y.Sub(y.Mean([]int64{1}, true))                         // centre within each group
	y = y.Square().Mean([]int64{1}, false).AddS(1e-8).Sqrt()    // [N/G, F, c, h, w]
	y = y.Mean([]int64{2, 3, 4}, false).Reshape(-1, 1, 1, 1, 1) // [N/G, 1, 1, 1, 1]
	y = y.Repeat(1, g, 1, h, w).Reshape(n, 1, h, w)             // one map per sample
	return torch.Cat([]*torch.Tensor{x, y}, 1)
}

// DiscriminatorEpilogue is NVlabs' DiscriminatorEpilogue (block "b4"): minibatch stddev, a 3x3
// conv, a fully connected layer, and the output layer (1 score, or cmapDim values projected on
// the class's cmap when conditional).
type DiscriminatorEpilogue struct {
	channels int
	mbstd    MinibatchStd
	conv     *Conv2dLayer
	fc       *FullyConnected
	out      *FullyConnected
	cmapDim  int
}

func newDiscriminatorEpilogue(p prefix, g *torch.Generator, cfg Config, cmapDim int) *DiscriminatorEpilogue {
	c := cfg.CriticChannelsAt(4)
	outDim := 1
	if cmapDim > 0 {
		outDim = cmapDim
	}
	return &DiscriminatorEpilogue{
		channels: c,
		mbstd:    MinibatchStd{group: cfg.MbstdGroup},
		conv:     newConv2dLayer(p.sub("conv"), g, c+1, c, ConvOptions{Kernel: 3, LReLU: true, Clamp: cfg.ConvClamp}),
		fc:       newFullyConnected(p.sub("fc"), g, c*16, c, FCOptions{LReLU: true}),
		out:      newFullyConnected(p.sub("out"), g, c, outDim, FCOptions{}),
		cmapDim:  cmapDim,
	}
}

func (e *DiscriminatorEpilogue) forward(x, cmap *torch.Tensor) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	if s := x.Shape(); len(s) != 4 || s[1] != int64(e.channels) || s[2] != 4 || s[3] != 4 {
		panic(&torch.Error{Op: "critic b4", Msg: fmt.Sprintf("features have shape %v, want [N %d 4 4]", s, e.channels)})
	}
	x = e.conv.forward(e.mbstd.forward(x), 1)
	x = e.out.forward(e.fc.forward(x.Reshape(x.Size(0), -1)))
	if e.cmapDim > 0 {
		x = x.Mul(cmap).Sum([]int64{1}, true).MulS(1 / math.Sqrt(float64(e.cmapDim)))
	}
	return x
}
