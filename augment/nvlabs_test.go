package augment

import (
	"path/filepath"
	"strings"
	"testing"

	"sgan/model"
	"sgan/torch"
)

// The authority for the pipeline is NVlabs' AugmentPipe: testdata/nvlabs/*.pt were written by
// scripts/make-ada-fixtures with it (on the CPU, float32), recording every random number it drew.
// Replaying those numbers through Draw must consume exactly as many, in the same order, and give
// the same images, the same gradient of sum(w * y), and (gray_bgc_r1) the same second derivative
// d/dx <d/dx sum(w * tanh(y)), v>.
//
// Tolerances are relative to the largest magnitude of the reference: 2e-5 for images and
// gradients (both sides compute in float32; NVlabs builds its matrices in float32 with
// cos(pi/2) = -4e-8 where sgan has exact quarter turns, and convolves with zero insertion where
// sgan uses transposed convolutions), 1e-4 for the second derivative (NVlabs' side replaces
// grid_sample by an explicit bilinear gather, equal within 1e-5 in the script).
func TestMatchesNVlabs(t *testing.T) {
	paths, err := filepath.Glob("testdata/nvlabs/*.pt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in testdata/nvlabs (scripts/make-ada-fixtures writes them): %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".pt")
		t.Run(name, func(t *testing.T) {
			torch.WithScope(func() { checkFixture(t, path) })
		})
	}
}

func checkFixture(t *testing.T, path string) {
	a, err := torch.LoadArchive(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Free()
	cfg := defaultStrengths()
	mult := map[string]*float64{
		"xflip": &cfg.XFlip, "rotate90": &cfg.Rotate90, "xint": &cfg.XInt, "scale": &cfg.Scale,
		"rotate": &cfg.Rotate, "aniso": &cfg.Aniso, "xfrac": &cfg.XFrac, "brightness": &cfg.Brightness,
		"contrast": &cfg.Contrast, "lumaflip": &cfg.LumaFlip, "hue": &cfg.Hue, "saturation": &cfg.Saturation,
	}
	n := 0
	for k, v := range a.Floats {
		if arg, ok := strings.CutPrefix(k, "meta/cfg/"); ok {
			ptr, known := mult[arg]
			if !known {
				t.Fatalf("fixture sets AugmentPipe argument %q, which the test does not map", arg)
			}
			*ptr = v
			n++
		}
	}
	if n == 0 {
		t.Fatal("fixture has no meta/cfg")
	}
	x, w := a.Tensors["in/x"], a.Tensors["in/w"]
	pipe, err := New(cfg, int(x.Size(1)))
	if err != nil {
		t.Fatal(err)
	}
	src := &replay{u: a.Tensors["rand/u"].Float64s(), n: a.Tensors["rand/n"].Float64s()}
	xg := x.Detach().SetRequiresGrad(true)
	y := pipe.Apply(xg, a.Floats["meta/p"], src, model.Rows{})
	if src.iu != len(src.u) || src.in != len(src.n) {
		t.Errorf("drew %d uniform and %d normal numbers, NVlabs drew %d and %d", src.iu, src.in, len(src.u), len(src.n))
	}
	checkRel(t, "images", y, a.Tensors["out/y"], 2e-5)
	gx := torch.Grad([]*torch.Tensor{y.Mul(w).SumAll()}, []*torch.Tensor{xg}, torch.GradOpts{RetainGraph: true})[0]
	checkRel(t, "d/dx sum(w*y)", gx, a.Tensors["out/gx"], 2e-5)
	if want, ok := a.Tensors["out/hv"]; ok {
		g := torch.Grad([]*torch.Tensor{y.Tanh().Mul(w).SumAll()}, []*torch.Tensor{xg}, torch.GradOpts{CreateGraph: true})[0]
		hv := torch.Grad([]*torch.Tensor{g.Mul(a.Tensors["in/v"]).SumAll()}, []*torch.Tensor{xg}, torch.GradOpts{})[0]
		checkRel(t, "second derivative", hv, want, 1e-4)
	}
}
