package model

import (
	"fmt"
	"math"

	"sgan/torch"
)

// Critic is the StyleGAN2 residual discriminator (NVlabs' resnet architecture): fromRGB, one
// residual block per resolution halving it, then the 4x4 epilogue with the minibatch-stddev layer,
// a conv, a fully connected layer and the output. Conditional critics project the output onto a
// class embedding (as NVlabs' cmap). Tensors live in Store under "b64.*", ..., "b4.*", "embed.*".
type Critic struct {
	Cfg   Config
	Store *Store

	fromRGB *conv
	blocks  []*criticBlock
	mbstd   int
	conv4   *conv
	fc4     *fc
	out     *fc
	embed   *fc
	cmapDim int
	fir     fir
}

type criticBlock struct {
	res                int
	conv0, conv1, skip *conv
}

// NewCritic builds a critic with StyleGAN2 initialization drawn from seed, placed on device d.
func NewCritic(cfg Config, seed uint64, d torch.Device) (*Critic, error) {
	g, done, err := beginInit(cfg, seed)
	if err != nil {
		return nil, err
	}
	defer done()

	D := &Critic{Cfg: cfg, Store: newStore(d), mbstd: cfg.MbstdGroup, fir: newFIR(d)}
	root := prefix{s: D.Store}
	half := math.Sqrt(0.5)
	for res := cfg.Resolution; res > 4; res /= 2 {
		bp := root.sub(fmt.Sprintf("b%d", res))
		tmp, out := cfg.ChannelsAt(res), cfg.ChannelsAt(res/2)
		if res == cfg.Resolution {
			D.fromRGB = newConv(bp.sub("fromrgb"), g, D.fir, cfg.Channels, tmp, 1, true, true, false, 1)
		}
		D.blocks = append(D.blocks, &criticBlock{
			res:   res,
			conv0: newConv(bp.sub("conv0"), g, D.fir, tmp, tmp, 3, true, true, false, 1),
			conv1: newConv(bp.sub("conv1"), g, D.fir, tmp, out, 3, true, true, true, half),
			skip:  newConv(bp.sub("skip"), g, D.fir, tmp, out, 1, false, false, true, half),
		})
	}
	c4 := cfg.ChannelsAt(4)
	bp := root.sub("b4")
	if cfg.Resolution == 4 {
		D.fromRGB = newConv(bp.sub("fromrgb"), g, D.fir, cfg.Channels, c4, 1, true, true, false, 1)
	}
	D.conv4 = newConv(bp.sub("conv"), g, D.fir, c4+1, c4, 3, true, true, false, 1)
	D.fc4 = newFC(bp.sub("fc"), g, c4*16, c4, 1, 0, true)
	outDim := 1
	if cfg.NumClasses > 0 {
		D.cmapDim = c4
		outDim = c4
		D.embed = newFC(root.sub("embed"), g, cfg.NumClasses, c4, 1, 0, false)
	}
	D.out = newFC(bp.sub("out"), g, c4, outDim, 1, 0, false)
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
	x := D.fromRGB.forward(img)
	for _, b := range D.blocks {
		x = b.forward(x)
	}
	x = minibatchStd(x, D.mbstd)
	x = D.conv4.forward(x)
	x = D.fc4.forward(x.Reshape(x.Size(0), -1))
	x = D.out.forward(x)
	if D.embed != nil {
		if c == nil {
			panic(&torch.Error{Op: "critic", Msg: "conditional critic needs class labels"})
		}
		cmap := D.embed.forward(c)
		x = x.Mul(cmap).Sum([]int64{1}, true).MulS(1 / math.Sqrt(float64(D.cmapDim)))
	}
	return x
}

// forward is the residual block: skip(x) + conv1(conv0(x)), each branch scaled by sqrt(1/2).
func (b *criticBlock) forward(x *torch.Tensor) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	return b.conv1.forward(b.conv0.forward(x)).Add(b.skip.forward(x))
}

// OneHot turns int64 labels into one-hot rows on the critic's device.
func (D *Critic) OneHot(labels *torch.Tensor) *torch.Tensor {
	return oneHot(labels, D.Cfg.NumClasses, D.Store.Device())
}

// minibatchStd appends one feature map holding the average standard deviation of features over
// groups of samples (NVlabs MinibatchStdLayer with one channel group). The group size shrinks
// to the largest divisor of N that fits.
//
// Groups are contiguous runs of samples (rows [0,G), [G,2G), ...), not NVlabs' strided groups
// (reshape(G, -1, ...), which puts samples i, i+N/G, ... together). The statistics are the same
// kind, but contiguous groups do not depend on the batch size: under data-parallel training each
// process scores its own contiguous slice of the global batch, and as long as the slice is a
// multiple of G every group (and so the critic's output) is exactly what one process would compute
// for the whole batch. Strided groups would mix samples from every process's slice.
func minibatchStd(x *torch.Tensor, group int) (res *torch.Tensor) {
	ls := enter()
	defer func() { res = ls.exit(res) }()
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	g := min(int64(group), n)
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

// Free releases the critic's tensors.
func (D *Critic) Free() {
	D.Store.Free()
	D.fir.k.Free()
}
