package project

import (
	"image"
	"image/color"
	"math"
	"testing"
)

// TestAnomalyMapAndScore checks the residual scale (0-1 intensity: half the [-1, 1] difference),
// that smoothing keeps a uniform residual uniform up to the borders and spreads a point without
// losing its mass, and the top-1% score.
func TestAnomalyMapAndScore(t *testing.T) {
	const side = 20
	n := side * side
	zero := make([]float32, n)
	flat := make([]float32, n)
	for i := range flat {
		flat[i] = 0.4
	}
	for _, sigma := range []float64{0, 1.5, 3} {
		m := AnomalyMap(flat, zero, 1, side, sigma)
		for i, v := range m {
			if math.Abs(float64(v)-0.2) > 1e-6 {
				t.Fatalf("sigma %g: uniform residual 0.2 became %g at pixel %d", sigma, v, i)
			}
		}
	}
	point := make([]float32, n)
	point[10*side+10] = 2 // residual 1 at one interior pixel
	m := AnomalyMap(point, zero, 1, side, 1.5)
	var sum float64
	for _, v := range m {
		sum += float64(v)
	}
	if math.Abs(sum-1) > 1e-3 || m[10*side+10] >= 1 || m[10*side+11] <= 0 {
		t.Errorf("smoothed point: sum %g (want 1), peak %g, neighbour %g", sum, m[10*side+10], m[10*side+11])
	}
	// Two channels: the residual is averaged over them.
	two := AnomalyMap(append(append([]float32{}, flat...), zero...), make([]float32, 2*n), 2, side, 0)
	if math.Abs(float64(two[0])-0.1) > 1e-6 {
		t.Errorf("two-channel residual %g, want 0.1", two[0])
	}
	for _, tc := range []struct {
		name string
		m    []float32
		want float64
	}{
		{"empty", nil, 0},
		{"flat", AnomalyMap(flat, zero, 1, side, 0), 0.2},
		// 400 pixels: the top 1% is 4 pixels; 2 of them at 0.5, 2 zeros.
		{"two hot pixels", func() []float32 { v := make([]float32, n); v[3], v[50] = 0.5, 0.5; return v }(), 0.25},
		{"one of 10", []float32{1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1},
	} {
		if got := AnomalyScore(tc.m); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("%s: score %g, want %g", tc.name, got, tc.want)
		}
	}
}

// TestColourMaps pins the ends of the colour maps and the sign of the change map.
func TestColourMaps(t *testing.T) {
	for _, tc := range []struct {
		name      string
		got, want color.RGBA
	}{
		{"hot 0", hot(0), color.RGBA{0, 0, 0, 255}},
		{"hot 1/3", hot(1.0 / 3), color.RGBA{255, 0, 0, 255}},
		{"hot 1", hot(1), color.RGBA{255, 255, 255, 255}},
		{"diverging -1", diverging(-1), color.RGBA{0, 0, 255, 255}},
		{"diverging 0", diverging(0), color.RGBA{255, 255, 255, 255}},
		{"diverging 2", diverging(2), color.RGBA{255, 0, 0, 255}},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	a := []float32{0, 0, 0, 0}
	b := []float32{0.5, -0.5, 0, 0.1}
	img := SignedDiffImage(a, b, 1, 2, 0.25).(*image.RGBA)
	if c := img.RGBAAt(0, 0); c != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("brighter pixel is %v, want red", c)
	}
	if c := img.RGBAAt(1, 0); c != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("darker pixel is %v, want blue", c)
	}
	if c := img.RGBAAt(0, 1); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("unchanged pixel is %v, want white", c)
	}
	if c := img.RGBAAt(1, 1); c.R != 255 || c.G != 204 || c.B != 204 { // +0.05 of 0.25: a fifth of the way to red
		t.Errorf("slightly brighter pixel is %v", c)
	}
	if big := enlarge(img, 3); big.Bounds().Dx() != 6 || big.At(5, 5) != img.At(1, 1) {
		t.Errorf("enlarge: %v", big.Bounds())
	}
	if zoom(32) != 3 || zoom(64) != 2 || zoom(128) != 1 {
		t.Errorf("zoom %d %d %d", zoom(32), zoom(64), zoom(128))
	}
}

// TestHeatOverlay: no residual shows the scan's gray, a saturated one is 3/4 of the way to white.
func TestHeatOverlay(t *testing.T) {
	scan := []float32{0, 0}                                             // mid-gray: level 128
	img := HeatOverlay(scan, []float32{0, 1}, 1, 1, 0.25).(*image.RGBA) // side 1: first pixel only
	if c := img.RGBAAt(0, 0); c != (color.RGBA{128, 128, 128, 255}) {
		t.Errorf("no residual: %v, want the scan's gray", c)
	}
	img = HeatOverlay(scan[1:], []float32{1}, 1, 1, 0.25).(*image.RGBA)
	if c := img.RGBAAt(0, 0); c != (color.RGBA{223, 223, 223, 255}) { // 0.25*128 + 0.75*255
		t.Errorf("saturated residual: %v", c)
	}
}
