package model

import (
	"fmt"
	"strings"

	"sgan/torch"
)

// Generator is NVlabs' StyleGAN2 Generator: a MappingNetwork z (+ class) -> w and a
// SynthesisNetwork ws -> image. Its tensors live in Store under NVlabs' names ("mapping.*",
// "synthesis.*"), so its state dict loads into NVlabs' Generator with strict=True.
type Generator struct {
	Cfg   Config
	Store *Store

	mapping   *MappingNetwork
	synthesis *SynthesisNetwork
}

// NewGenerator builds a generator with StyleGAN2 initialization drawn from seed (on the CPU, so
// the same seed gives the same network on every device) and places it on device d.
func NewGenerator(cfg Config, seed uint64, d torch.Device) (*Generator, error) {
	g, done, err := beginInit(cfg, seed)
	if err != nil {
		return nil, err
	}
	defer done()

	G := &Generator{Cfg: cfg, Store: newStore(d)}
	root := prefix{s: G.Store}
	// Building can still fail for lack of memory (or a device error): an error, not a panic.
	if err := torch.Try(func() {
		// NVlabs builds the synthesis network first; the order only matters for Store.Names.
		G.synthesis = newSynthesisNetwork(root.sub("synthesis"), g, cfg)
		G.mapping = newMappingNetwork(root.sub("mapping"), g, MappingOptions{
			ZDim: cfg.ZDim, CDim: cfg.NumClasses, WDim: cfg.WDim, Layers: cfg.MappingLayers, LRMul: cfg.MappingLRMul, TrackWAvg: true,
		})
	}); err != nil {
		G.Store.Free()
		return nil, fmt.Errorf("model: building the generator: %w", err)
	}
	return G, nil
}

// NumWs is the number of per-layer w inputs of Synthesize.
func (G *Generator) NumWs() int { return G.synthesis.numWs }

// WAvg is the tracked average w (the truncation centre).
func (G *Generator) WAvg() *torch.Tensor { return G.mapping.wAvg }

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
	if G.mapping.cDim > 0 && c == nil {
		panic(&torch.Error{Op: "mapping", Msg: "conditional model needs class labels"})
	}
	return G.mapping.forward(z, c)
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
	return torch.Lerp(G.mapping.wAvg, ws, psi)
}

// UpdateWAvg moves the tracked average toward the batch mean of w (NVlabs uses beta 0.995).
func (G *Generator) UpdateWAvg(w *torch.Tensor, beta float64) {
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		G.mapping.wAvg.LerpInPlace(w.Detach().Mean([]int64{0}, false), 1-beta)
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
	return G.SynthesizeTraining(ws, mode, g, rows, 0)
}

// SynthesizeTraining is SynthesizeRows with random noise only in the layers of resolution at
// most maxRes (0: all), so that the strengths of the others stay as they are.
func (G *Generator) SynthesizeTraining(ws *torch.Tensor, mode NoiseMode, g *torch.Generator, rows Rows, maxRes int64) *torch.Tensor {
	return G.synthesis.forward(ws, noiseInput{mode: mode, gen: g, rows: rows, maxRes: maxRes})
}

// ZeroNoiseAbove sets the noise strengths of the synthesis layers above resolution res to 0 (res
// 0: every layer), so that a network trained without those noise inputs renders the same image
// whatever the noise mode, also when its weights came from a model trained with them.
func (G *Generator) ZeroNoiseAbove(res int64) {
	for _, b := range G.synthesis.blocks {
		for _, l := range []*SynthesisLayer{b.conv0, b.conv1} {
			if l != nil && l.res > res {
				torch.NoGrad(func() { l.noiseStrength.Zero() })
			}
		}
	}
}

// NoiseNames lists the names of the per-layer noise buffers ("synthesis.b8.conv0.noise_const",
// ...) in layer order; each is a [res, res] tensor in Store.
func (G *Generator) NoiseNames() []string {
	var out []string
	for _, n := range G.Store.Names() {
		if strings.HasSuffix(n, ".noise_const") {
			out = append(out, n)
		}
	}
	return out
}

// SynthesizeNoise renders ws with explicit noise maps in place of the fixed noise buffers:
// noise[name] for every name of NoiseNames, each broadcastable against [N, 1, res, res] (the
// buffer's [res, res], or [N, 1, res, res] for per-sample maps). It is NoiseConst with other
// maps, and differentiable in them, which is what projection needs to optimize the noise.
func (G *Generator) SynthesizeNoise(ws *torch.Tensor, noise map[string]*torch.Tensor) *torch.Tensor {
	if noise == nil {
		noise = map[string]*torch.Tensor{}
	}
	return G.synthesis.forward(ws, noiseInput{mode: NoiseConst, maps: noise})
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
func (G *Generator) Free() { G.Store.Free() }
