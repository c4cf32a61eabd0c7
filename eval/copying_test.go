package eval

import (
	"testing"
)

// TestCopyTestFlagsACopier: a "generator" that returns training images (a few lightly noised)
// is flagged in pixel and feature space; held-out test images and a blurred set are not.
func TestCopyTestFlagsACopier(t *testing.T) {
	train, test, net := fixture(t)
	copier := train.Subset(everyNth(train.N, 60))
	r := newRNG(5, 98, 0)
	for i := range copier.Pix[:copier.Dim()*10] { // first 10 copies with slight noise
		copier.Pix[i] += float32(r.NormFloat64() * 0.01)
	}
	tf, _ := net.Embed(train)
	sf, _ := net.Embed(test)
	res := map[string]CopyResult{}
	for _, c := range []candidate{{"copier", copier}, {"real", test}, {"blur6", blurred(test, 6)}} {
		pix, err := CopyTest(c.imgs, train, test, CopyConfig{})
		if err != nil {
			t.Fatal(err)
		}
		gf, _ := net.Embed(c.imgs)
		feat, err := CopyTestFeatures(gf, tf, sf, CopyConfig{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-6s pixel copy %.2f ratio %.2f Z_U %6.2f (threshold %.4f) | domain copy %.2f ratio %.2f Z_U %6.2f",
			c.name, pix.CopyFrac, pix.MedianRatio, pix.MeehanZU, pix.Threshold, feat.CopyFrac, feat.MedianRatio, feat.MeehanZU)
		res[c.name] = pix
		if c.name == "copier" {
			if pix.CopyFrac < 0.99 || feat.CopyFrac < 0.9 {
				t.Errorf("copier: copy_frac pixel %.2f, domain %.2f; want ~1", pix.CopyFrac, feat.CopyFrac)
			}
			if pix.MeehanZU > -3 {
				t.Errorf("copier: Z_U %.2f, want strongly negative", pix.MeehanZU)
			}
			for _, i := range pix.Closest[:5] {
				if pix.GenNN[i] != 0 || pix.GenIdx[i] != everyNth(train.N, 60)[i] {
					t.Errorf("copier image %d: nearest training image %d at %g, want its source at 0", i, pix.GenIdx[i], pix.GenNN[i])
				}
			}
		}
	}
	if f := res["real"].CopyFrac; f > 0.1 {
		t.Errorf("held-out images: copy_frac %.2f, want ~0.05 (the percentile)", f)
	}
	if f := res["blur6"].CopyFrac; f > 0.1 {
		t.Errorf("blurred images: copy_frac %.2f, want ~0", f)
	}
}

// TestMannWhitneyZ checks the statistic's sign and scale on known inputs.
func TestMannWhitneyZ(t *testing.T) {
	a := []float64{1, 2, 3, 4}
	if z := mannWhitneyZ(a, a); z != 0 {
		t.Errorf("Z_U of equal samples = %g, want 0", z)
	}
	if z := mannWhitneyZ(a, []float64{0, 0, 0, 0}); z >= -2 {
		t.Errorf("Z_U of closer generated samples = %g, want < -2", z)
	}
	if z := mannWhitneyZ(a, []float64{9, 9, 9, 9}); z <= 2 {
		t.Errorf("Z_U of farther generated samples = %g, want > 2", z)
	}
}
