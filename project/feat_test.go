package project

import (
	"path/filepath"
	"strings"
	"testing"

	"sgan/eval"
	"sgan/torch"
)

// TestFeatDistance trains a small feature net as sgan eval does, saves and loads it, and checks
// the feat distance: 0 from an image to itself, positive to another, differentiable in the
// image, and usable by Project (the distance falls over 30 steps). A net for another image size
// is refused naming both sizes.
func TestFeatDistance(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	m := tinyModel(t, 16, 0, 3)
	targets, _ := generated(t, m, []int{-1, -1, -1, -1}, 5)
	imgs := eval.Images{N: 4, C: 1, H: 16, W: 16}
	for _, tg := range targets {
		imgs.Pix = append(imgs.Pix, tg.Pix...)
	}
	net, err := eval.TrainNet(imgs, nil, eval.TrainConfig{Steps: 5, BatchSize: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "features-test.pt")
	if err := net.Save(path); err != nil {
		t.Fatal(err)
	}
	net.Free()
	if _, err := LoadFeatDistance(path, 32, 1); err == nil || !strings.Contains(err.Error(), "1x16x16") || !strings.Contains(err.Error(), "1x32x32") {
		t.Errorf("net for another size: %v", err)
	}
	f, err := LoadFeatDistance(path, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Free()
	x := torch.FromFloat32(imgs.Pix, 4, 1, 16, 16)
	dist, err := f.to(x)
	if err != nil {
		t.Fatal(err)
	}
	if d := dist(x).Float32s(); d[0] > 1e-6 || d[3] > 1e-6 {
		t.Errorf("distance of images to themselves %v", d)
	}
	y := x.Flip(0).Clone().SetRequiresGrad(true)
	d := dist(y)
	if v := d.Float32s(); v[0] <= 0 {
		t.Errorf("distance to another image %g", v[0])
	}
	d.SumAll().Backward()
	if g := y.Grad(); g == nil || g.Abs().SumAll().Item() == 0 {
		t.Error("no gradient reaches the image")
	}
	o := testOptions(30)
	o.Distance, o.Feat = DistFeat, f
	r, err := Project(m, targets[:2], o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Free()
	if first, last := r.Trace[0].Dist, r.Trace[len(r.Trace)-1].Dist; !(last < first) {
		t.Errorf("feat distance went from %g to %g", first, last)
	}
}
