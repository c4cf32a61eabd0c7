package figure

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestPlotLosses(t *testing.T) {
	for _, n := range []int{0, 1, 50, 100_000} {
		dir := t.TempDir()
		cols := []string{"G", "D", "gp"}
		steps, epochs := make([]int64, n), make([]int, n)
		vals := [][]float64{make([]float64, n), make([]float64, n), make([]float64, n)}
		for i := range n {
			x := float64(i)
			steps[i], epochs[i] = int64(i), i/336+1
			vals[0][i] = 1 + math.Sin(x/500) + 0.3*math.Sin(x*7.1)
			vals[1][i] = -0.5 + 0.2*math.Cos(x*3.3)
			vals[2][i] = math.NaN()
			if i%3 == 0 {
				vals[2][i] = 0.1 * math.Exp(-x/1e4)
			}
			if i == n/2 {
				vals[0][i] = math.NaN()
			}
		}
		path := filepath.Join(dir, "losses.png")
		// No timing assertion (timings belong in benchmarks): the plot's work is bounded by
		// decimate, which TestDecimate checks.
		if err := PlotLosses(path, cols, steps, epochs, vals); err != nil {
			t.Fatalf("%d rows: PlotLosses: %v", n, err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%d rows: decode: %v", n, err)
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 || b.Dx() > 4000 {
			t.Errorf("%d rows: image is %v", n, b)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
			t.Errorf("temporary files left: %v", m)
		}
	}
}

func TestDecimate(t *testing.T) {
	xs := make([]int64, 10_000)
	ys := make([]float64, len(xs))
	for i := range xs {
		xs[i] = int64(i)
		ys[i] = float64(i % 7)
	}
	ys[5000] = 100 // a spike
	raw, smooth := decimate(xs, ys, 100)
	if len(smooth) != 100 || len(raw) > 200 {
		t.Fatalf("decimated to %d raw, %d smooth points", len(raw), len(smooth))
	}
	spike := false
	for _, p := range raw {
		spike = spike || p.Y == 100
	}
	if !spike {
		t.Error("spike lost in the raw line")
	}
	for _, p := range smooth[10:90] {
		if p.Y < 2 || p.Y > 4.5 {
			t.Errorf("smooth value %g far from the mean 3", p.Y)
		}
	}
}
