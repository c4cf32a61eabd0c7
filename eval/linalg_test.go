package eval

import (
	"math"
	"testing"
)

// TestFrechetDistanceKnownGaussians: diagonal covariances have the closed form
// |dmu|^2 + sum (sqrt(a) - sqrt(b))^2, and a rotated covariance must agree with it.
func TestFrechetDistanceKnownGaussians(t *testing.T) {
	const n = 3
	a := Gaussian{D: n, Mu: []float64{0, 0, 0}, Cov: []float64{4, 0, 0, 0, 1, 0, 0, 0, 9}}
	b := Gaussian{D: n, Mu: []float64{1, 2, 0}, Cov: []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	want := 5.0 + 1 + 0 + 4
	got, _ := FrechetDistance(a, b)
	if !near(got, want, 1e-9) {
		t.Errorf("FD = %v, want %v", got, want)
	}
	// Rotate both by the same orthogonal matrix: FD is invariant.
	c, s := math.Cos(0.7), math.Sin(0.7)
	q := []float64{c, -s, 0, s, c, 0, 0, 0, 1}
	qt := []float64{c, s, 0, -s, c, 0, 0, 0, 1}
	rot := func(g Gaussian) Gaussian {
		mu := make([]float64, n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				mu[i] += q[i*n+j] * g.Mu[j]
			}
		}
		return Gaussian{D: n, Mu: mu, Cov: matMul(matMul(q, g.Cov, n), qt, n)}
	}
	got, _ = FrechetDistance(rot(a), rot(b))
	if !near(got, want, 1e-9) {
		t.Errorf("FD of rotated Gaussians = %v, want %v", got, want)
	}
	if got, _ := FrechetDistance(a, a); math.Abs(got) > 1e-9 {
		t.Errorf("FD(a, a) = %v, want 0", got)
	}
}

func TestSqrtPSD(t *testing.T) {
	a := []float64{5, 2, 0, 2, 3, 1, 0, 1, 2}
	r := sqrtPSD(a, 3)
	rr := matMul(r, r, 3)
	for i := range a {
		if math.Abs(rr[i]-a[i]) > 1e-10 {
			t.Fatalf("sqrt(A)^2 = %v, want %v", rr, a)
		}
	}
}
