package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"sgan/internal/pyref"
	"sgan/torch"
)

// runPython runs PyTorch reference code on inputs (internal/pyref).
func runPython(t *testing.T, inputs map[string]*torch.Tensor, code string) *torch.Archive {
	t.Helper()
	return pyref.Run(t, inputs, "", code)
}

// relErr is max|got - want| / max|want| (0 for two zero tensors), after checking the shapes.
func relErr(t *testing.T, name string, got, want *torch.Tensor) float64 {
	t.Helper()
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
	}
	g, w := got.Float64s(), want.Float64s()
	num, den := 0.0, 0.0
	for i := range g {
		if math.IsNaN(g[i]) {
			return math.Inf(1)
		}
		num = max(num, math.Abs(g[i]-w[i]))
		den = max(den, math.Abs(w[i]))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// checkRel fails the test when relErr exceeds tol.
func checkRel(t *testing.T, name string, got, want *torch.Tensor, tol float64) {
	t.Helper()
	e := relErr(t, name, got, want)
	if !(e <= tol) {
		t.Errorf("%s: relative error %.3g, want <= %.1g", name, e, tol)
		return
	}
	t.Logf("%s: relative error %.3g (tolerance %.1g)", name, e, tol)
}

// randImages is n x c x h x w values from N(0, 1), drawn in Go from seed.
func randImages(seed uint64, n, c, h, w int64) *torch.Tensor {
	r := rand.New(rand.NewPCG(seed, 77))
	v := make([]float32, n*c*h*w)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return torch.FromFloat32(v, n, c, h, w)
}

// smooth is a band-limited image without symmetries: f(X, Y) at centred pixel coordinates (X
// right, Y down), frequencies up to 0.14 rad/pixel.
func smooth(x, y float64) float64 {
	return math.Cos(0.12*x+0.07*y) + 0.5*math.Sin(0.05*x-0.1*y+0.3)
}

// smoothImage renders smooth on an h x w grid (one image, one channel, float64).
func smoothImage(h, w int64) *torch.Tensor {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	v := make([]float64, h*w)
	for i := range h {
		for j := range w {
			v[i*w+j] = smooth(float64(j)-cx, float64(i)-cy)
		}
	}
	return torch.FromFloat64(v, 1, 1, h, w)
}

// countingSource is a Source that counts its draws.
type countingSource struct {
	r *rand.Rand
	n int
}

func (s *countingSource) Float64() float64     { s.n++; return s.r.Float64() }
func (s *countingSource) NormFloat64() float64 { s.n++; return s.r.NormFloat64() }

// replay is a Source that hands out recorded uniform and normal values in order.
type replay struct {
	u, n   []float64
	iu, in int
}

func (s *replay) Float64() float64 {
	if s.iu >= len(s.u) {
		panic("replay: uniform values exhausted")
	}
	s.iu++
	return s.u[s.iu-1]
}

func (s *replay) NormFloat64() float64 {
	if s.in >= len(s.n) {
		panic("replay: normal values exhausted")
	}
	s.in++
	return s.n[s.in-1]
}

func gray(t *testing.T) *Pipeline {
	t.Helper()
	p, err := New(BGC(), 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// smoothRandom is n random band-limited gray images: each a sum of 4 plane waves with random
// directions, frequencies up to 0.4 rad/pixel per axis, phases and amplitudes.
func smoothRandom(seed uint64, n, h, w int64) *torch.Tensor {
	r := rand.New(rand.NewPCG(seed, 78))
	v := make([]float32, n*h*w)
	for b := range n {
		for range 4 {
			fx, fy := (r.Float64()*2-1)*0.4, (r.Float64()*2-1)*0.4
			ph, a := r.Float64()*2*math.Pi, r.NormFloat64()*0.5
			for i := range h {
				for j := range w {
					v[(b*h+i)*w+j] += float32(a * math.Cos(fx*float64(j)+fy*float64(i)+ph))
				}
			}
		}
	}
	return torch.FromFloat32(v, n, 1, h, w)
}
