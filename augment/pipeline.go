package augment

import (
	"fmt"
	"math"
	"strings"

	"sgan/model"
	"sgan/torch"
)

// Config holds the probability multiplier of every transform (a sample gets the transform with
// probability multiplier * p) and their strengths, as the arguments of NVlabs' AugmentPipe. A
// multiplier of 0 turns a transform off and draws nothing for it.
type Config struct {
	// Pixel blitting.
	XFlip, Rotate90, XInt float64
	XIntMax               float64 // integer translation range, relative to the image size (0.125)

	// General geometric transforms.
	Scale, Rotate, Aniso, XFrac float64
	ScaleStd                    float64 // log2 standard deviation of isotropic scaling (0.2)
	RotateMax                   float64 // rotation range in half turns: 1 is a full circle (1)
	AnisoStd                    float64 // log2 standard deviation of anisotropic scaling (0.2)
	XFracStd                    float64 // standard deviation of fractional translation, relative to the size (0.125)

	// Colour transforms.
	Brightness, Contrast, LumaFlip, Hue, Saturation float64
	BrightnessStd                                   float64 // standard deviation of the brightness offset (0.2)
	ContrastStd                                     float64 // log2 standard deviation of contrast (0.5)
	HueMax                                          float64 // hue rotation range in half turns (1)
	SaturationStd                                   float64 // log2 standard deviation of saturation (1)
}

// defaultStrengths are AugmentPipe's defaults, with every transform off.
func defaultStrengths() Config {
	return Config{
		XIntMax:  0.125,
		ScaleStd: 0.2, RotateMax: 1, AnisoStd: 0.2, XFracStd: 0.125,
		BrightnessStd: 0.2, ContrastStd: 0.5, HueMax: 1, SaturationStd: 1,
	}
}

// Presets are NVlabs' augpipe specs that make sense without image-space filtering, noise and
// cutout (which sgan does not implement): blit, geom, color and their unions; "bgc" is the one the
// ADA paper recommends.
var Presets = []string{"blit", "geom", "color", "bg", "bgc"}

// Preset returns the named NVlabs augpipe spec with AugmentPipe's default strengths.
func Preset(name string) (Config, error) {
	c := defaultStrengths()
	blit := func() { c.XFlip, c.Rotate90, c.XInt = 1, 1, 1 }
	geom := func() { c.Scale, c.Rotate, c.Aniso, c.XFrac = 1, 1, 1, 1 }
	color := func() { c.Brightness, c.Contrast, c.LumaFlip, c.Hue, c.Saturation = 1, 1, 1, 1, 1 }
	switch name {
	case "blit":
		blit()
	case "geom":
		geom()
	case "color":
		color()
	case "bg":
		blit()
		geom()
	case "bgc":
		blit()
		geom()
		color()
	default:
		return Config{}, fmt.Errorf("augment: unknown preset %q (have %s)", name, strings.Join(Presets, ", "))
	}
	return c, nil
}

// BGC is NVlabs' "bgc" pipeline: blit (x-flip, quarter turns, integer translation), geom (scale,
// rotation, anisotropy, fractional translation) and color (brightness, contrast, luma flip, hue,
// saturation), every multiplier 1, default strengths.
func BGC() Config {
	c, _ := Preset("bgc")
	return c
}

// Validate checks that multipliers and strengths are finite and not negative.
func (c Config) Validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"xflip", c.XFlip}, {"rotate90", c.Rotate90}, {"xint", c.XInt}, {"xint_max", c.XIntMax},
		{"scale", c.Scale}, {"rotate", c.Rotate}, {"aniso", c.Aniso}, {"xfrac", c.XFrac},
		{"scale_std", c.ScaleStd}, {"rotate_max", c.RotateMax}, {"aniso_std", c.AnisoStd}, {"xfrac_std", c.XFracStd},
		{"brightness", c.Brightness}, {"contrast", c.Contrast}, {"lumaflip", c.LumaFlip}, {"hue", c.Hue},
		{"saturation", c.Saturation}, {"brightness_std", c.BrightnessStd}, {"contrast_std", c.ContrastStd},
		{"hue_max", c.HueMax}, {"saturation_std", c.SaturationStd},
	} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return fmt.Errorf("augment: %s = %g: want a finite value >= 0", f.name, f.v)
		}
	}
	return nil
}

// Pipeline augments batches of NCHW images (1 or 3 channels) with a Config.
type Pipeline struct {
	cfg      Config
	channels int
}

// New returns the pipeline for images of the given channel count. Colour transforms need 1 (gray)
// or 3 (RGB) channels, as NVlabs'; geometric ones work with any.
func New(cfg Config, channels int) (*Pipeline, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	colorOn := cfg.Brightness > 0 || cfg.Contrast > 0 || cfg.LumaFlip > 0 || cfg.Hue > 0 || cfg.Saturation > 0
	if channels < 1 || (colorOn && channels != 1 && channels != 3) {
		return nil, fmt.Errorf("augment: %d channels: colour transforms need gray (1) or RGB (3) images", channels)
	}
	return &Pipeline{cfg: cfg, channels: channels}, nil
}

// Config returns the pipeline's configuration.
func (p *Pipeline) Config() Config { return p.cfg }

// Source supplies the random numbers of Draw: U[0, 1) and N(0, 1) values. *rand.Rand (math/rand/v2)
// is one.
type Source interface {
	Float64() float64
	NormFloat64() float64
}

// Draw draws the augmentations of n samples at augmentation probability prob. The numbers drawn
// from src do not depend on prob (only which of them take effect does), and follow NVlabs' order:
// per transform, the values for the whole batch, then the gates for the whole batch. Hue and
// saturation are drawn for RGB pipelines only (on gray images they are the identity, and NVlabs
// skips them too).
func (p *Pipeline) Draw(src Source, n int, prob float64) []Params {
	c := p.cfg
	ps := make([]Params, n)
	for i := range ps {
		ps[i] = Identity()
	}
	uniform := func() []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = src.Float64()
		}
		return v
	}
	normal := func(k int) []float64 {
		v := make([]float64, k*n)
		for i := range v {
			v[i] = src.NormFloat64()
		}
		return v
	}
	// gates reports, per sample, whether a transform of probability q takes effect.
	gates := func(q float64) []bool {
		g := make([]bool, n)
		for i, u := range uniform() {
			g[i] = u < q
		}
		return g
	}
	if c.XFlip > 0 {
		v, on := uniform(), gates(c.XFlip*prob)
		for i := range ps {
			ps[i].XFlip = on[i] && math.Floor(v[i]*2) == 1
		}
	}
	if c.Rotate90 > 0 {
		v, on := uniform(), gates(c.Rotate90*prob)
		for i := range ps {
			if on[i] {
				ps[i].Rot90 = int(math.Floor(v[i] * 4))
			}
		}
	}
	if c.XInt > 0 {
		v := make([]float64, 2*n)
		for i := range v {
			v[i] = (src.Float64()*2 - 1) * c.XIntMax
		}
		on := gates(c.XInt * prob)
		for i := range ps {
			if on[i] {
				ps[i].XInt = [2]float64{v[2*i], v[2*i+1]} // relative; rounded to pixels in Apply
			}
		}
	}
	if c.Scale > 0 {
		v, on := normal(1), gates(c.Scale*prob)
		for i := range ps {
			if on[i] {
				ps[i].Scale = math.Exp2(v[i] * c.ScaleStd)
			}
		}
	}
	// Rotation is split into one before and one after the anisotropic scaling, each with
	// probability pRot, so that P(either) = rotate*p.
	pRot := 1 - math.Sqrt(min(max(1-c.Rotate*prob, 0), 1))
	if c.Rotate > 0 {
		v, on := uniform(), gates(pRot)
		for i := range ps {
			if on[i] {
				ps[i].RotPre = (v[i]*2 - 1) * math.Pi * c.RotateMax
			}
		}
	}
	if c.Aniso > 0 {
		v, on := normal(1), gates(c.Aniso*prob)
		for i := range ps {
			if on[i] {
				ps[i].Aniso = math.Exp2(v[i] * c.AnisoStd)
			}
		}
	}
	if c.Rotate > 0 {
		v, on := uniform(), gates(pRot)
		for i := range ps {
			if on[i] {
				ps[i].RotPost = (v[i]*2 - 1) * math.Pi * c.RotateMax
			}
		}
	}
	if c.XFrac > 0 {
		v, on := normal(2), gates(c.XFrac*prob)
		for i := range ps {
			if on[i] {
				ps[i].XFrac = [2]float64{v[2*i] * c.XFracStd, v[2*i+1] * c.XFracStd} // relative
			}
		}
	}
	if c.Brightness > 0 {
		v, on := normal(1), gates(c.Brightness*prob)
		for i := range ps {
			if on[i] {
				ps[i].Bright = v[i] * c.BrightnessStd
			}
		}
	}
	if c.Contrast > 0 {
		v, on := normal(1), gates(c.Contrast*prob)
		for i := range ps {
			if on[i] {
				ps[i].Contrast = math.Exp2(v[i] * c.ContrastStd)
			}
		}
	}
	if c.LumaFlip > 0 {
		v, on := uniform(), gates(c.LumaFlip*prob)
		for i := range ps {
			ps[i].LumaFlip = on[i] && math.Floor(v[i]*2) == 1
		}
	}
	if c.Hue > 0 && p.channels > 1 {
		v, on := uniform(), gates(c.Hue*prob)
		for i := range ps {
			if on[i] {
				ps[i].Hue = (v[i]*2 - 1) * math.Pi * c.HueMax
			}
		}
	}
	if c.Saturation > 0 && p.channels > 1 {
		v, on := normal(1), gates(c.Saturation*prob)
		for i := range ps {
			if on[i] {
				ps[i].Sat = math.Exp2(v[i] * c.SaturationStd)
			}
		}
	}
	return ps
}

// ToPixels turns Draw's relative translations into pixels for an h x w image: integer ones
// rounded half to even (as torch.round), fractional ones scaled.
func ToPixels(ps []Params, h, w int64) []Params {
	out := make([]Params, len(ps))
	for i, q := range ps {
		q.XInt = [2]float64{math.RoundToEven(q.XInt[0] * float64(w)), math.RoundToEven(q.XInt[1] * float64(h))}
		q.XFrac = [2]float64{q.XFrac[0] * float64(w), q.XFrac[1] * float64(h)}
		out[i] = q
	}
	return out
}

// Apply augments x, the rows rows.Offset .. rows.Offset+len(x) of a batch of rows.Total images (a
// zero rows means x is the whole batch), at probability prob with numbers from src. The draws are
// made for the whole batch and each caller keeps its rows, so data-parallel ranks that draw from
// sources seeded alike together augment exactly as one process does. prob <= 0 returns x itself,
// drawing nothing. The result is differentiable twice with respect to x.
func (p *Pipeline) Apply(x *torch.Tensor, prob float64, src Source, rows model.Rows) *torch.Tensor {
	if prob <= 0 {
		return x
	}
	p.checkImages(x)
	rows = wholeIfZero(rows, x.Size(0))
	ps := ToPixels(p.Draw(src, int(rows.Total), prob), x.Size(2), x.Size(3))
	return p.ApplyParams(x, ps, rows)
}

// checkImages panics with a *torch.Error unless x is an NCHW batch with the pipeline's channels.
func (p *Pipeline) checkImages(x *torch.Tensor) {
	if x.Dim() != 4 || x.Size(1) != int64(p.channels) {
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("images %v, pipeline for N x %d x H x W", x.Shape(), p.channels)})
	}
}

func wholeIfZero(rows model.Rows, n int64) model.Rows {
	if rows.Total == 0 {
		return model.Rows{Offset: 0, Total: n}
	}
	return rows
}

// ApplyParams augments x (rows of a batch, as in Apply) with ps, the parameters of the whole batch
// in pixels (see ToPixels). Samples whose geometry or colour transform is exactly the identity pass
// through that stage untouched.
func (p *Pipeline) ApplyParams(x *torch.Tensor, ps []Params, rows model.Rows) *torch.Tensor {
	p.checkImages(x)
	n := x.Size(0)
	rows = wholeIfZero(rows, n)
	if int64(len(ps)) != rows.Total || rows.Offset < 0 || rows.Offset+n > rows.Total {
		panic(&torch.Error{Op: "augment", Msg: fmt.Sprintf("%d parameters for rows %d..%d of a batch of %d",
			len(ps), rows.Offset, rows.Offset+n, rows.Total)})
	}
	x = p.geometric(x, ps, rows)
	return p.color(x, ps[rows.Offset:rows.Offset+n])
}

// color applies the colour matrices of the local rows ps.
func (p *Pipeline) color(x *torch.Tensor, ps []Params) *torch.Tensor {
	n := int64(len(ps))
	cs := make([]Mat4, n)
	changed := false
	for i, q := range ps {
		cs[i] = q.Color()
		changed = changed || !cs[i].IsIdentity()
	}
	if !changed {
		return x
	}
	dev, dt := x.Device(), x.DType()
	if x.Size(1) == 1 {
		a, b := make([]float64, n), make([]float64, n)
		for i, c := range cs {
			a[i], b[i] = c.Gray()
		}
		at := torch.FromFloat64(a, n, 1, 1, 1).To(dev, dt)
		bt := torch.FromFloat64(b, n, 1, 1, 1).To(dev, dt)
		return x.Mul(at).Add(bt)
	}
	m, off := make([]float64, 0, 9*n), make([]float64, 0, 3*n)
	for _, c := range cs {
		for i := range 3 {
			m = append(m, c[i][0], c[i][1], c[i][2])
			off = append(off, c[i][3])
		}
	}
	h, w := x.Size(2), x.Size(3)
	mt := torch.FromFloat64(m, n, 3, 3).To(dev, dt)
	ot := torch.FromFloat64(off, n, 3, 1).To(dev, dt)
	return mt.Matmul(x.Reshape(n, 3, h*w)).Add(ot).Reshape(n, 3, h, w)
}

// geometric warps the local rows whose geometry is not the identity; the padding is computed over
// the whole batch (as NVlabs does), so it is the same on every rank.
func (p *Pipeline) geometric(x *torch.Tensor, ps []Params, rows model.Rows) *torch.Tensor {
	h, w := x.Size(2), x.Size(3)
	gs := make([]Mat3, len(ps))
	anyGlobal := false
	for i, q := range ps {
		gs[i] = q.Geometry()
		anyGlobal = anyGlobal || !gs[i].IsIdentity()
	}
	if !anyGlobal {
		return x
	}
	n := x.Size(0)
	var idx []int64
	var local []Mat3
	for i := range n {
		if g := gs[rows.Offset+i]; !g.IsIdentity() {
			idx = append(idx, i)
			local = append(local, g)
		}
	}
	if len(idx) == 0 {
		return x
	}
	margin := Margin(gs, h, w)
	if int64(len(idx)) == n {
		return warp(x, local, margin)
	}
	dev := x.Device()
	warped := warp(x.IndexSelect(0, torch.FromInt64(idx, int64(len(idx))).ToDevice(dev, false)), local, margin)
	// Row i of the result: x[i] when it passes through, else its warped row (at n + k in the
	// concatenation).
	perm := make([]int64, n)
	for i := range perm {
		perm[i] = int64(i)
	}
	for k, i := range idx {
		perm[i] = n + int64(k)
	}
	return torch.Cat([]*torch.Tensor{x, warped}, 0).IndexSelect(0, torch.FromInt64(perm, n).ToDevice(dev, false))
}
