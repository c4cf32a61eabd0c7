package project

import (
	"fmt"
	"sort"
	"strings"

	"sgan/internal/safefile"
	"sgan/model"
	"sgan/torch"
)

// LatentFormat marks latent files written by SaveLatent.
const LatentFormat = "sgan-latent-v1"

// Latent is what latent.pt holds: the projected latents of a batch of targets and everything
// needed to render them again. In Python:
//
//	l = torch.load("latent.pt")
//	l["ws"]                                   # [N, num_ws, w_dim]: synthesis input
//	l["w"]                                    # [N, w_dim]: the optimized w (space "w" only)
//	l["noise"]["synthesis.b8.conv0.noise_const"]  # [N, 1, 8, 8]
//	l["class"]                                # [N] int64 labels, -1 when unconditional
//	l["space"], l["targets"], l["classes"], l["ckpt"]
type Latent struct {
	Space   Space
	Ws      *torch.Tensor            // [N, NumWs, WDim]
	Noise   map[string]*torch.Tensor // [N, 1, r, r] per noise layer
	Class   []int                    // per target, -1 for none
	Classes []string                 // the model's class names
	Targets []string                 // target files
	Ckpt    string
}

// Latent returns the result's latent (its tensors shared with the result).
func (r *Result) Latent(m *Model) *Latent {
	l := &Latent{Space: r.Space, Ws: r.Ws, Noise: r.Noise, Class: r.Labels(), Classes: m.Classes, Ckpt: m.Ckpt}
	for _, t := range r.Targets {
		l.Targets = append(l.Targets, t.Name)
	}
	return l
}

// Free releases the latent's tensors.
func (l *Latent) Free() {
	l.Ws.Free()
	for _, t := range l.Noise {
		t.Free()
	}
}

// Len is the number of latents.
func (l *Latent) Len() int { return int(l.Ws.Size(0)) }

// Save writes the latent in torch.save's format (atomically).
func (l *Latent) Save(path string) error {
	a := torch.NewArchive()
	a.Strings["format"] = LatentFormat
	a.Strings["space"] = l.Space.String()
	a.Strings["targets"] = strings.Join(l.Targets, "\n")
	a.Strings["classes"] = strings.Join(l.Classes, "\n")
	a.Strings["ckpt"] = l.Ckpt
	a.Tensors["ws"] = l.Ws
	for k, v := range l.Noise {
		a.Tensors["noise/"+k] = v
	}
	cls := make([]int64, len(l.Class))
	for i, c := range l.Class {
		cls[i] = int64(c)
	}
	scope := torch.NewScope()
	defer scope.Close()
	if err := torch.Try(func() {
		a.Tensors["class"] = torch.FromInt64(cls, int64(len(cls)))
		if l.Space == SpaceW {
			a.Tensors["w"] = l.Ws.Narrow(1, 0, 1).Squeeze(1).Contiguous()
		}
	}); err != nil {
		return fmt.Errorf("project: save %s: %w", path, err)
	}
	b, err := a.Marshal()
	if err != nil {
		return fmt.Errorf("project: save %s: %w", path, err)
	}
	return safefile.Write(path, b)
}

// LoadLatent reads a file written by Save. A file that is not one is a one-line error.
func LoadLatent(path string) (*Latent, error) {
	a, err := torch.LoadArchive(path)
	if err != nil {
		return nil, fmt.Errorf("project: %w (is it a latent.pt from sgan project?)", err)
	}
	if a.Strings["format"] != LatentFormat {
		a.Free()
		return nil, fmt.Errorf("project: %s: not an sgan latent (no format %q); use the latent.pt sgan project writes", path, LatentFormat)
	}
	l := &Latent{Noise: map[string]*torch.Tensor{}, Ckpt: a.Strings["ckpt"]}
	switch a.Strings["space"] {
	case "w":
		l.Space = SpaceW
	case "w+":
		l.Space = SpaceWPlus
	default:
		a.Free()
		return nil, fmt.Errorf("project: %s: unknown latent space %q", path, a.Strings["space"])
	}
	if s := a.Strings["targets"]; s != "" {
		l.Targets = strings.Split(s, "\n")
	}
	if s := a.Strings["classes"]; s != "" {
		l.Classes = strings.Split(s, "\n")
	}
	for k, v := range a.Tensors {
		switch {
		case k == "ws":
			l.Ws = v
		case strings.HasPrefix(k, "noise/"):
			l.Noise[strings.TrimPrefix(k, "noise/")] = v
		case k == "class":
			for _, c := range v.Int64s() {
				l.Class = append(l.Class, int(c))
			}
			v.Free()
		default:
			v.Free()
		}
	}
	if l.Ws == nil || l.Ws.Dim() != 3 || len(l.Class) != int(l.Ws.Size(0)) {
		l.Free()
		return nil, fmt.Errorf("project: %s: a latent needs ws [N, num_ws, w_dim] and N class labels", path)
	}
	return l, nil
}

// Check reports a latent that the model cannot render, naming what differs.
func (l *Latent) Check(m *Model) error {
	G := m.G
	if s := l.Ws.Shape(); s[1] != int64(G.NumWs()) || s[2] != int64(G.Cfg.WDim) {
		return fmt.Errorf("project: the latent has ws of shape %v, this model takes [N %d %d]: render it with the checkpoint it was projected with (%s)", s, G.NumWs(), G.Cfg.WDim, l.Ckpt)
	}
	var missing []string
	for _, name := range G.NoiseNames() {
		t, ok := l.Noise[name]
		r := G.Store.Get(name).Size(0)
		if !ok || t.Dim() != 4 || t.Size(0) != l.Ws.Size(0) || t.Size(2) != r || t.Size(3) != r {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("project: the latent's noise maps do not fit this model (%s): render it with the checkpoint it was projected with (%s)", strings.Join(missing, ", "), l.Ckpt)
	}
	for _, c := range l.Class {
		if err := m.checkLabel(c); err != nil {
			return fmt.Errorf("%w: the latent was projected with another model (%s)", err, l.Ckpt)
		}
	}
	return nil
}

// RenderOptions say how Render draws a latent.
type RenderOptions struct {
	Psi      float64         // truncation toward the model's w_avg (1: none)
	Noise    model.NoiseMode // NoiseConst: the latent's own noise maps; NoiseNone: none
	ToClass  int             // -1: each latent's own class; else render as this class (see Counterfactual)
	WSamples int             // z samples of the class shift (default 10000)
}

// Render draws the latent's images (N*C*R*R in [-1, 1]) and, when the class changes, the
// shifts it applied (by source label).
func (l *Latent) Render(m *Model, o RenderOptions) ([]float32, map[int]Shift, error) {
	if err := l.Check(m); err != nil {
		return nil, nil, err
	}
	if o.Psi < 0 || o.Psi > 1 {
		return nil, nil, fmt.Errorf("project: truncation psi %g: must be in [0, 1] (1 = none, 0 = the average image)", o.Psi)
	}
	if o.WSamples == 0 {
		o.WSamples = DefaultOptions().WSamples
	}
	shifts := map[int]Shift{}
	fail := func(err error) ([]float32, map[int]Shift, error) {
		for _, s := range shifts {
			s.Free()
		}
		return nil, nil, err
	}
	if o.ToClass >= 0 {
		for _, c := range l.Class {
			if _, ok := shifts[c]; ok {
				continue
			}
			sh, err := m.ClassShift(c, o.ToClass, o.WSamples)
			if err != nil {
				return fail(err)
			}
			shifts[c] = sh
		}
	}
	var out []float32
	err := torch.Try(func() {
		torch.WithScope(func() {
			torch.NoGrad(func() {
				ws := l.Ws.ToDevice(m.G.Store.Device(), false)
				if len(shifts) > 0 {
					rows := make([]*torch.Tensor, len(l.Class))
					for i, c := range l.Class {
						rows[i] = shifts[c].Delta
					}
					ws = ws.Add(torch.Stack(rows, 0).Unsqueeze(1))
				}
				ws = m.G.Truncate(ws, o.Psi)
				var img *torch.Tensor
				if o.Noise == model.NoiseNone {
					img = m.G.Synthesize(ws, model.NoiseNone, nil)
				} else {
					maps := map[string]*torch.Tensor{}
					for k, v := range l.Noise {
						maps[k] = v.ToDevice(m.G.Store.Device(), false)
					}
					img = m.G.SynthesizeNoise(ws, maps)
				}
				out = img.Clamp(-1, 1).Float32s()
			})
		})
	})
	if err != nil {
		return fail(err)
	}
	return out, shifts, nil
}
