package eval

import (
	"slices"
	"testing"
)

type candidate struct {
	name string
	imgs Images
}

// candidates are the test split and degraded copies of it. Every metric must put the real
// images first, each degradation above them, the stronger blur above the weaker, and noise last.
func candidates(test Images) []candidate {
	return []candidate{
		{"real", test},
		{"shift2", shifted(test, 2)},
		{"blur2", blurred(test, 2)},
		{"blur6", blurred(test, 6)},
		{"noise", noise(test.N, test.C, test.H, test.W, 1)},
	}
}

// TestSWDOrdersDegradations: held-out real slices are closest to the training slices, then
// shifted, blurred, more blurred, and noise is farthest; the numbers repeat for a seed.
func TestSWDOrdersDegradations(t *testing.T) {
	train, test, _ := fixture(t)
	cfg := SWDConfig{Seed: 7}
	got := map[string]float64{}
	for _, c := range candidates(test) {
		r, err := SWD(train, c.imgs, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("SWD %-6s mean %7.2f per level %v", c.name, r.Mean, r.Level)
		got[c.name] = r.Mean
	}
	checkOrder(t, "SWD", got)
	a, _ := SWD(train, test, cfg)
	b, _ := SWD(train, test, cfg)
	if a.Mean != b.Mean {
		t.Errorf("SWD differs between runs with one seed: %v vs %v", a.Mean, b.Mean)
	}
}

// TestDomainMetricsOrderDegradations: FD, KID, precision in the feature space rank the
// candidates the same way.
func TestDomainMetricsOrderDegradations(t *testing.T) {
	train, test, net := fixture(t)
	tf, err := net.Embed(train)
	if err != nil {
		t.Fatal(err)
	}
	ref := Stats(tf)
	fds, kids, precs := map[string]float64{}, map[string]float64{}, map[string]float64{}
	for _, c := range candidates(test) {
		f, err := net.Embed(c.imgs)
		if err != nil {
			t.Fatal(err)
		}
		fd, err := FrechetDistance(ref, Stats(f))
		if err != nil {
			t.Fatal(err)
		}
		kid := KID(tf, f, KIDConfig{Subsets: 20, Seed: 3})
		pr := PrecisionRecall(tf.Subset(everyNth(tf.N, test.N)), f, 3)
		t.Logf("%-6s fd %8.3f kid %8.4f±%.4f precision %.2f recall %.2f density %.2f coverage %.2f", c.name, fd, kid.Mean, kid.Std, pr.Precision, pr.Recall, pr.Density, pr.Coverage)
		fds[c.name], kids[c.name], precs[c.name] = fd, kid.Mean, -pr.Precision
	}
	checkOrder(t, "fd_domain", fds)
	checkOrder(t, "kid_domain", kids)
	if precs["real"] > -0.9 || precs["noise"] != 0 {
		t.Errorf("precision: real %.2f (want >= 0.9), noise %.2f (want 0)", -precs["real"], -precs["noise"])
	}
}

func everyNth(n, k int) []int {
	var idx []int
	for i := 0; i < k; i++ {
		idx = append(idx, i*n/k)
	}
	return idx
}

// checkOrder wants real < shift2, blur2 < blur6 < noise, and noise above everything.
func checkOrder(t *testing.T, metric string, v map[string]float64) {
	t.Helper()
	for _, p := range [][2]string{{"real", "shift2"}, {"real", "blur2"}, {"blur2", "blur6"}, {"shift2", "noise"}, {"blur6", "noise"}} {
		if !(v[p[0]] < v[p[1]]) {
			t.Errorf("%s: %s (%.4g) is not below %s (%.4g)", metric, p[0], v[p[0]], p[1], v[p[1]])
		}
	}
	if v["real"] > 0.5*v["noise"] {
		t.Errorf("%s: real vs real (%.4g) is not far below noise (%.4g)", metric, v["real"], v["noise"])
	}
}

// TestShiftRight: rows move right and the left column fills the gap, per row and channel.
func TestShiftRight(t *testing.T) {
	in := Images{N: 1, C: 2, H: 2, W: 4, Pix: []float32{1, 2, 3, 4, 5, 6, 7, 8, -1, -2, -3, -4, -5, -6, -7, -8}}
	for _, tc := range []struct {
		s    int
		want []float32
	}{
		{0, in.Pix},
		{1, []float32{1, 1, 2, 3, 5, 5, 6, 7, -1, -1, -2, -3, -5, -5, -6, -7}},
		{3, []float32{1, 1, 1, 1, 5, 5, 5, 5, -1, -1, -1, -1, -5, -5, -5, -5}},
	} {
		got := shiftRight(in, tc.s)
		if !slices.Equal(got.Pix, tc.want) || got.N != 1 || got.C != 2 || got.H != 2 || got.W != 4 {
			t.Errorf("shift %d: %v, want %v", tc.s, got.Pix, tc.want)
		}
	}
	if in.Pix[1] != 2 {
		t.Error("shiftRight changed its input")
	}
}
