// Package sample turns a trained checkpoint into images: single images by seed, grids, the
// StyleGAN style-mixing figure, latent interpolations, and synthetic datasets in the ADNI layout
// with a manifest that traces every file to its seed, class, psi and checkpoint.
//
// A seed fixes an image on every run, device and batch size: its latent is drawn on the CPU from
// a generator seeded with it, and the synthesis noise is the model's fixed noise.
package sample

import (
	"fmt"
	"image"
	"strconv"
	"strings"

	"sgan/figure"
	"sgan/model"
	"sgan/run"
	"sgan/torch"
)

// Sampler draws images from a checkpoint's sampling generator (its EMA copy when present).
type Sampler struct {
	G       *model.Generator
	Classes []string // class names of a conditional model, in label order
	Device  torch.Device
	Ckpt    string
	Noise   model.NoiseMode // NoiseConst (the default: the generator's fixed noise) or NoiseNone
}

// Open loads the checkpoint's generator onto device d.
func Open(ckpt string, d torch.Device) (*Sampler, error) {
	G, _, classes, err := run.LoadGenerator(ckpt, d)
	if err != nil {
		return nil, err
	}
	return &Sampler{G: G, Classes: classes, Device: d, Ckpt: ckpt, Noise: model.NoiseConst}, nil
}

// NoiseModes lists the names ParseNoise accepts.
var NoiseModes = []string{"const", "none"}

// ParseNoise reads a noise mode: "const" renders with the generator's fixed per-layer noise (fine
// stochastic detail, the same for every run), "none" without noise inputs (the smooth image the
// styles alone describe). Random noise is not offered: a seed would no longer fix its image.
func ParseNoise(name string) (model.NoiseMode, error) {
	switch name {
	case "const":
		return model.NoiseConst, nil
	case "none":
		return model.NoiseNone, nil
	}
	return 0, fmt.Errorf("noise %q: use %s", name, strings.Join(NoiseModes, " or "))
}

// NoiseName is the name of a noise mode, as ParseNoise reads it.
func NoiseName(m model.NoiseMode) string {
	if m == model.NoiseNone {
		return "none"
	}
	return "const"
}

// Close frees the generator.
func (s *Sampler) Close() { s.G.Free() }

// ParseSeeds reads "1-16", "3,7,9" or a mix of both.
func ParseSeeds(str string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(str, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds %q: %q is not a seed or a range like 1-16", str, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("seeds %q: %q is not a range like 1-16", str, part)
			}
		}
		if b-a > 1_000_000 {
			return nil, fmt.Errorf("seeds %q: range %q is too long", str, part)
		}
		for v := a; v <= b; v++ {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("seeds %q names no seed", str)
	}
	return out, nil
}

// ClassIndex maps a class name (case-insensitive) to its label; "" gives -1 for unconditional
// models and 0 for conditional ones.
func (s *Sampler) ClassIndex(name string) (int, error) {
	if s.G.Cfg.NumClasses == 0 {
		if name != "" {
			return -1, fmt.Errorf("class %s: this model is unconditional", name)
		}
		return -1, nil
	}
	if name == "" {
		return 0, nil
	}
	for i, c := range s.Classes {
		if strings.EqualFold(c, name) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("class %s: the model knows %s", name, strings.Join(s.Classes, ", "))
}

// CheckPsi rejects a truncation outside [0, 1].
func CheckPsi(psi float64) error {
	if psi < 0 || psi > 1 {
		return fmt.Errorf("truncation psi %g: must be in [0, 1] (1 = none, 0 = the average image)", psi)
	}
	return nil
}

// seedZ is the latent of one seed, drawn on the CPU.
func seedZ(seed uint64, zdim int) *torch.Tensor {
	g, err := torch.NewGenerator(torch.CPU, seed)
	if err != nil {
		panic(&torch.Error{Op: "seed", Msg: err.Error()})
	}
	defer g.Close()
	return torch.Randn([]int64{1, int64(zdim)}, g, torch.Options{})
}

// labels returns one-hot classes for n images of class cls, or nil for cls < 0.
func (s *Sampler) labels(n, cls int) *torch.Tensor {
	if cls < 0 {
		return nil
	}
	lab := make([]int64, n)
	for j := range lab {
		lab[j] = int64(cls)
	}
	return s.G.OneHot(torch.FromInt64(lab, int64(n)))
}

// ws returns the truncated per-layer latents of the seeds: [len(seeds), NumWs, WDim].
func (s *Sampler) ws(seeds []uint64, psi float64, cls int) *torch.Tensor {
	zs := make([]*torch.Tensor, len(seeds))
	for j, sd := range seeds {
		zs[j] = seedZ(sd, s.G.Cfg.ZDim)
	}
	z := torch.Cat(zs, 0).ToDevice(s.Device, false)
	return s.G.Truncate(s.G.Broadcast(s.G.Map(z, s.labels(len(seeds), cls))), psi)
}

// images renders ws to 8-bit images.
func (s *Sampler) images(ws *torch.Tensor) []image.Image {
	img := s.G.Synthesize(ws, s.Noise, nil)
	ch, r := s.G.Cfg.Channels, s.G.Cfg.Resolution
	return figure.BatchImages(img.Float32s(), int(ws.Size(0)), ch, r, r)
}

const batch = 32

// Render draws one image per seed with truncation psi and class label cls (-1: none).
func (s *Sampler) Render(seeds []uint64, psi float64, cls int) ([]image.Image, error) {
	if err := CheckPsi(psi); err != nil {
		return nil, err
	}
	var imgs []image.Image
	err := torch.Try(func() {
		for i := 0; i < len(seeds); i += batch {
			part := seeds[i:min(i+batch, len(seeds))]
			torch.WithScope(func() {
				torch.NoGrad(func() { imgs = append(imgs, s.images(s.ws(part, psi, cls))...) })
			})
		}
	})
	return imgs, err
}

// MixRange is the range [lo, hi) of synthesis layers (indices into ws) whose styles a layer
// range name stands for, as in the StyleGAN paper: coarse styles (4x4-8x8) set pose and shape,
// middle (16x16-32x32) finer structure, fine (64x64 up) texture and contrast.
func (s *Sampler) MixRange(layers string) (lo, hi int, err error) {
	n := s.G.NumWs()
	switch layers {
	case "coarse":
		return 0, min(4, n), nil
	case "middle":
		return min(4, n), min(8, n), nil
	case "fine":
		return min(8, n), n, nil
	}
	return 0, 0, fmt.Errorf("style-mixing layers %q: use coarse, middle or fine", layers)
}

// Mix renders the images of style mixing: the source (row) seeds, the destination (column)
// seeds, and mixed[r][c], the destination image c with the chosen layers' styles taken from
// source r.
func (s *Sampler) Mix(rows, cols []uint64, psi float64, cls int, layers string) (rowImgs, colImgs []image.Image, mixed [][]image.Image, err error) {
	if len(rows) == 0 || len(cols) == 0 {
		return nil, nil, nil, fmt.Errorf("style mixing needs row and column seeds")
	}
	if err := CheckPsi(psi); err != nil {
		return nil, nil, nil, err
	}
	lo, hi, err := s.MixRange(layers)
	if err != nil {
		return nil, nil, nil, err
	}
	err = torch.Try(func() {
		torch.WithScope(func() {
			torch.NoGrad(func() {
				rws, cws := s.ws(rows, psi, cls), s.ws(cols, psi, cls)
				rowImgs, colImgs = s.images(rws), s.images(cws)
				n := int64(s.G.NumWs())
				mixed = make([][]image.Image, len(rows))
				for r := range rows {
					src := rws.Narrow(0, int64(r), 1).Expand(int64(len(cols)), n, -1)
					parts := []*torch.Tensor{}
					if lo > 0 {
						parts = append(parts, cws.Narrow(1, 0, int64(lo)))
					}
					parts = append(parts, src.Narrow(1, int64(lo), int64(hi-lo)))
					if int64(hi) < n {
						parts = append(parts, cws.Narrow(1, int64(hi), n-int64(hi)))
					}
					mixed[r] = s.images(torch.Cat(parts, 1))
				}
			})
		})
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return rowImgs, colImgs, mixed, nil
}

// StyleMix builds the figure: the top row shows the column (destination) seeds, the left column
// the row (source) seeds, and cell (r, c) the column image with the chosen layers' styles taken
// from row r.
func (s *Sampler) StyleMix(rows, cols []uint64, psi float64, cls int, layers string) (image.Image, error) {
	rowImgs, colImgs, mixed, err := s.Mix(rows, cols, psi, cls, layers)
	if err != nil {
		return nil, err
	}
	return figure.StyleMix(rowImgs, colImgs, mixed, figure.DefaultPad), nil
}

// Interpolate walks in w space from each seed to the next (and back to the first, so a GIF
// loops smoothly), steps frames per leg.
func (s *Sampler) Interpolate(seeds []uint64, steps int, psi float64, cls int) ([]image.Image, error) {
	if len(seeds) < 2 {
		return nil, fmt.Errorf("interpolation needs at least 2 seeds")
	}
	if steps < 1 {
		return nil, fmt.Errorf("interpolation steps %d: must be at least 1", steps)
	}
	if err := CheckPsi(psi); err != nil {
		return nil, err
	}
	var frames []image.Image
	err := torch.Try(func() {
		torch.WithScope(func() {
			torch.NoGrad(func() {
				ws := s.ws(seeds, psi, cls)
				k := int64(len(seeds))
				for i := int64(0); i < k; i++ {
					a, b := ws.Narrow(0, i, 1), ws.Narrow(0, (i+1)%k, 1)
					for j := 0; j < steps; j++ {
						torch.WithScope(func() {
							frames = append(frames, s.images(torch.Lerp(a, b, float64(j)/float64(steps)))...)
						})
					}
				}
			})
		})
	})
	return frames, err
}
