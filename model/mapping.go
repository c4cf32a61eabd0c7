package model

import (
	"fmt"

	"sgan/torch"
)

// MappingNetwork is NVlabs' MappingNetwork: z (pixel-normalized) and, for conditional models, an
// embedding of the one-hot class (normalized, concatenated after z) through fully connected
// layers to w. The generator's tracks the average w (w_avg, the truncation centre); the
// conditional critic's (z_dim 0) maps the class alone to the vector its score is projected on.
type MappingNetwork struct {
	zDim, cDim, wDim int
	embed            *FullyConnected   // "embed", nil when unconditional
	layers           []*FullyConnected // "fc0", "fc1", ...
	wAvg             *torch.Tensor     // "w_avg", nil when not tracked
}

// MappingOptions configure a MappingNetwork.
type MappingOptions struct {
	ZDim, CDim, WDim int     // latent, one-hot class (0: unconditional) and output sizes
	Layers           int     // fully connected layers
	LRMul            float64 // learning-rate multiplier of the layers (NVlabs: 0.01)
	TrackWAvg        bool    // keep the w_avg buffer
}

func newMappingNetwork(p prefix, g *torch.Generator, o MappingOptions) *MappingNetwork {
	m := &MappingNetwork{zDim: o.ZDim, cDim: o.CDim, wDim: o.WDim}
	in := o.ZDim
	if o.CDim > 0 {
		m.embed = newFullyConnected(p.sub("embed"), g, o.CDim, o.WDim, FCOptions{})
		in += o.WDim
	}
	for i := range o.Layers {
		m.layers = append(m.layers, newFullyConnected(p.sub(fmt.Sprintf("fc%d", i)), g, in, o.WDim, FCOptions{LRMul: o.LRMul, LReLU: true}))
		in = o.WDim
	}
	if o.TrackWAvg {
		m.wAvg = p.buf("w_avg", torch.Zeros([]int64{int64(o.WDim)}, torch.Options{}))
	}
	return m
}

// forward maps z [N, ZDim] (nil when ZDim is 0) and one-hot c [N, CDim] (nil when unconditional)
// to w [N, WDim].
func (m *MappingNetwork) forward(z, c *torch.Tensor) (out *torch.Tensor) {
	ls := enter()
	defer func() { out = ls.exit(out) }()
	var x *torch.Tensor
	if m.zDim > 0 {
		if z == nil || z.Dim() != 2 || z.Size(1) != int64(m.zDim) {
			panic(&torch.Error{Op: "mapping", Msg: fmt.Sprintf("z has shape %v, want [N %d]", shapeOf(z), m.zDim)})
		}
		x = normalize2ndMoment(z)
	}
	if m.embed != nil {
		if c == nil || c.Dim() != 2 || c.Size(1) != int64(m.cDim) {
			panic(&torch.Error{Op: "mapping", Msg: fmt.Sprintf("class labels have shape %v, want one-hot [N %d]", shapeOf(c), m.cDim)})
		}
		y := normalize2ndMoment(m.embed.forward(c))
		if x == nil {
			x = y
		} else {
			x = torch.Cat([]*torch.Tensor{x, y}, 1)
		}
	}
	for _, l := range m.layers {
		x = l.forward(x)
	}
	return x
}

// normalize2ndMoment scales each row of x to unit mean square (NVlabs' normalize_2nd_moment).
func normalize2ndMoment(x *torch.Tensor) *torch.Tensor {
	return x.Mul(x.Square().Mean([]int64{1}, true).AddS(1e-8).Rsqrt())
}

func shapeOf(t *torch.Tensor) any {
	if t == nil {
		return "nil"
	}
	return t.Shape()
}
