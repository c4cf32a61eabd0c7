package model

import (
	"fmt"

	"sgan/torch"
)

// Generator is the StyleGAN2 generator: a mapping network z (+ class) -> w, and a synthesis
// network ws -> image. Its tensors live in Store under "mapping.*" and "synthesis.*".
type Generator struct {
	Cfg   Config
	Store *Store

	embed   *fc   // class embedding, nil when unconditional
	mapping []*fc // mapping.fc0 ...
	wAvg    *torch.Tensor

	const4 *torch.Tensor
	blocks []*synthBlock
	fir    fir
}

type synthBlock struct {
	res          int
	conv0, conv1 *modConv // conv0 is nil in the 4x4 block
	torgb        *toRGB
}

// NewGenerator builds a generator with StyleGAN2 initialization drawn from seed (on the CPU, so
// the same seed gives the same network on every device) and places it on device d.
func NewGenerator(cfg Config, seed uint64, d torch.Device) (*Generator, error) {
	g, done, err := beginInit(cfg, seed)
	if err != nil {
		return nil, err
	}
	defer done()

	G := &Generator{Cfg: cfg, Store: newStore(d), fir: newFIR(d)}
	root := prefix{s: G.Store}
	mp := root.sub("mapping")
	in := cfg.ZDim
	if cfg.NumClasses > 0 {
		G.embed = newFC(mp.sub("embed"), g, cfg.NumClasses, cfg.WDim, 1, 0, false)
		in += cfg.WDim
	}
	for i := range cfg.MappingLayers {
		G.mapping = append(G.mapping, newFC(mp.sub(fmt.Sprintf("fc%d", i)), g, in, cfg.WDim, cfg.MappingLRMul, 0, true))
		in = cfg.WDim
	}
	G.wAvg = mp.buf("w_avg", torch.Zeros([]int64{int64(cfg.WDim)}, torch.Options{}))

	sp := root.sub("synthesis")
	for res := 4; res <= cfg.Resolution; res *= 2 {
		bp := sp.sub(fmt.Sprintf("b%d", res))
		out := cfg.ChannelsAt(res)
		b := &synthBlock{res: res}
		if res == 4 {
			G.const4 = bp.param("const", torch.Randn([]int64{int64(out), 4, 4}, g, torch.Options{}))
			b.conv1 = newModConv(bp.sub("conv1"), g, G.fir, cfg.WDim, out, out, res, false)
		} else {
			in := cfg.ChannelsAt(res / 2)
			b.conv0 = newModConv(bp.sub("conv0"), g, G.fir, cfg.WDim, in, out, res, true)
			b.conv1 = newModConv(bp.sub("conv1"), g, G.fir, cfg.WDim, out, out, res, false)
		}
		b.torgb = newToRGB(bp.sub("torgb"), g, cfg.WDim, out, cfg.Channels)
		G.blocks = append(G.blocks, b)
	}
	return G, nil
}

// NumWs is the number of per-layer w inputs of Synthesize.
func (G *Generator) NumWs() int { return G.Cfg.NumWs() }

// WAvg is the tracked average w (the truncation center).
func (G *Generator) WAvg() *torch.Tensor { return G.wAvg }

// OneHot turns int64 class labels [N] into one-hot float rows [N, NumClasses] on the model's device.
func (G *Generator) OneHot(labels *torch.Tensor) *torch.Tensor {
	return oneHot(labels, G.Cfg.NumClasses, G.Store.Device())
}

func oneHot(labels *torch.Tensor, n int, d torch.Device) *torch.Tensor {
	eye := make([]float32, n*n)
	for i := range n {
		eye[i*n+i] = 1
	}
	return torch.FromFloat32(eye, int64(n), int64(n)).ToDevice(d, false).IndexSelect(0, labels.ToDevice(d, false))
}

// Map runs the mapping network: z [N, ZDim] and, for a conditional model, one-hot c
// [N, NumClasses] (nil otherwise) -> w [N, WDim].
func (G *Generator) Map(z, c *torch.Tensor) *torch.Tensor {
	if z.Dim() != 2 || z.Size(1) != int64(G.Cfg.ZDim) {
		panic(&torch.Error{Op: "mapping", Msg: fmt.Sprintf("z has shape %v, want [N %d]", z.Shape(), G.Cfg.ZDim)})
	}
	x := normalize2ndMoment(z)
	if G.embed != nil {
		if c == nil {
			panic(&torch.Error{Op: "mapping", Msg: "conditional model needs class labels"})
		}
		x = torch.Cat([]*torch.Tensor{x, normalize2ndMoment(G.embed.forward(c))}, 1)
	}
	for _, l := range G.mapping {
		x = l.forward(x)
	}
	return x
}

// Broadcast repeats w [N, WDim] for every synthesis layer: ws [N, NumWs, WDim].
func (G *Generator) Broadcast(w *torch.Tensor) *torch.Tensor {
	return w.Unsqueeze(1).Repeat(1, int64(G.NumWs()), 1)
}

// Truncate pulls ws toward the tracked average: w_avg + psi*(ws - w_avg). psi 1 is a no-op,
// psi 0 gives the average image.
func (G *Generator) Truncate(ws *torch.Tensor, psi float64) *torch.Tensor {
	if psi == 1 {
		return ws
	}
	return torch.Lerp(G.wAvg, ws, psi)
}

// UpdateWAvg moves the tracked average toward the batch mean of w (beta 0.995, as NVlabs).
func (G *Generator) UpdateWAvg(w *torch.Tensor, beta float64) {
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		G.wAvg.LerpInPlace(w.Detach().Mean([]int64{0}, false), 1-beta)
	})
}

// Synthesize renders images [N, Channels, R, R] from ws [N, NumWs, WDim]. g draws the noise in
// NoiseRandom mode (nil: libtorch's default generator).
func (G *Generator) Synthesize(ws *torch.Tensor, mode NoiseMode, g *torch.Generator) *torch.Tensor {
	return G.SynthesizeRows(ws, mode, g, Rows{})
}

// SynthesizeRows is Synthesize for a batch that is rows of a larger one (see Rows): in
// NoiseRandom mode each layer draws noise for rows.Total samples and keeps the batch's rows.
func (G *Generator) SynthesizeRows(ws *torch.Tensor, mode NoiseMode, g *torch.Generator, rows Rows) *torch.Tensor {
	if ws.Dim() != 3 || ws.Size(1) != int64(G.NumWs()) || ws.Size(2) != int64(G.Cfg.WDim) {
		panic(&torch.Error{Op: "synthesis", Msg: fmt.Sprintf("ws has shape %v, want [N %d %d]", ws.Shape(), G.NumWs(), G.Cfg.WDim)})
	}
	n := ws.Size(0)
	if rows.Total > 0 && (rows.Offset < 0 || rows.Offset+n > rows.Total) {
		panic(&torch.Error{Op: "synthesis", Msg: fmt.Sprintf("rows [%d, %d) are outside a batch of %d", rows.Offset, rows.Offset+n, rows.Total)})
	}
	wAt := func(i int) *torch.Tensor { return ws.Narrow(1, int64(i), 1).Squeeze(1) }
	var x, img *torch.Tensor
	idx := 0
	for _, b := range G.blocks {
		if b.conv0 == nil {
			x = G.const4.Unsqueeze(0).Repeat(n, 1, 1, 1)
			x = b.conv1.forward(x, wAt(0), mode, g, rows)
			img = b.torgb.forward(x, wAt(1))
			idx = 1
			continue
		}
		// A scope per block frees the previous block's x and img once the next ones exist.
		torch.WithScope(func() {
			nx := b.conv1.forward(b.conv0.forward(x, wAt(idx), mode, g, rows), wAt(idx+1), mode, g, rows)
			nimg := G.fir.up(img).Add(b.torgb.forward(nx, wAt(idx+2)))
			x, img = nx.Escape(), nimg.Escape()
		})
		idx += 2
	}
	return img
}

// Forward is Map, Broadcast, Truncate (psi) and Synthesize in one call.
func (G *Generator) Forward(z, c *torch.Tensor, psi float64, mode NoiseMode, g *torch.Generator) *torch.Tensor {
	return G.Synthesize(G.Truncate(G.Broadcast(G.Map(z, c)), psi), mode, g)
}

// MixStyles returns ws whose layers from cutoff on come from ws2 (style mixing).
func MixStyles(ws1, ws2 *torch.Tensor, cutoff int) *torch.Tensor {
	n := ws1.Size(1)
	if cutoff <= 0 {
		return ws2
	}
	if int64(cutoff) >= n {
		return ws1
	}
	return torch.Cat([]*torch.Tensor{ws1.Narrow(1, 0, int64(cutoff)), ws2.Narrow(1, int64(cutoff), n-int64(cutoff))}, 1)
}

// Free releases the generator's tensors.
func (G *Generator) Free() {
	G.Store.Free()
	G.fir.k.Free()
}
