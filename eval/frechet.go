package eval

import (
	"fmt"
	"math"

	"sgan/torch"
)

// Features are N feature vectors of dimension D, row-major.
type Features struct {
	X    []float32
	N, D int
}

// Row is vector i.
func (f Features) Row(i int) []float32 { return f.X[i*f.D : (i+1)*f.D] }

// Subset copies the rows at idx.
func (f Features) Subset(idx []int) Features {
	out := Features{N: len(idx), D: f.D, X: make([]float32, 0, len(idx)*f.D)}
	for _, i := range idx {
		out.X = append(out.X, f.Row(i)...)
	}
	return out
}

// Gaussian is the mean and covariance of a feature set.
type Gaussian struct {
	Mu  []float64
	Cov []float64 // D x D, unbiased (N-1)
	D   int

	sqrtCov []float64 // sqrt(Cov), kept by reference statistics scored against many models
}

// referenceStats is Stats(f) with sqrt(Cov) computed once, for the statistics that every
// checkpoint's Fréchet distance is taken against (a D x D eigendecomposition each time otherwise).
func referenceStats(f Features) (g Gaussian, err error) {
	g = Stats(f)
	err = torch.Try(func() { g.sqrtCov = sqrtPSD(g.Cov, g.D) })
	return g, err
}

// Stats fits a Gaussian to f (float64 accumulation).
func Stats(f Features) Gaussian {
	d := f.D
	g := Gaussian{Mu: make([]float64, d), Cov: make([]float64, d*d), D: d}
	for i := 0; i < f.N; i++ {
		for j, v := range f.Row(i) {
			g.Mu[j] += float64(v)
		}
	}
	for j := range g.Mu {
		g.Mu[j] /= float64(f.N)
	}
	x := make([]float64, d)
	for i := 0; i < f.N; i++ {
		for j, v := range f.Row(i) {
			x[j] = float64(v) - g.Mu[j]
		}
		for a := 0; a < d; a++ {
			xa := x[a]
			row := g.Cov[a*d:]
			for b := a; b < d; b++ {
				row[b] += xa * x[b]
			}
		}
	}
	den := float64(max(f.N-1, 1))
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			g.Cov[a*d+b] /= den
			g.Cov[b*d+a] = g.Cov[a*d+b]
		}
	}
	return g
}

// FrechetDistance is |mu1-mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2)), the FID formula, with
// tr(sqrt(S1 S2)) computed as the sum of the square roots of the eigenvalues of the symmetric
// PSD matrix sqrt(S1) S2 sqrt(S1) (which has the same spectrum as S1 S2).
func FrechetDistance(a, b Gaussian) (fd float64, err error) {
	err = torch.Try(func() { fd, err = frechet(a, b) })
	return fd, err
}

func frechet(a, b Gaussian) (float64, error) {
	if a.D != b.D {
		return 0, fmt.Errorf("eval: Fréchet distance of %d- and %d-dimensional features", a.D, b.D)
	}
	n := a.D
	var dm, tr float64
	for i := 0; i < n; i++ {
		d := a.Mu[i] - b.Mu[i]
		dm += d * d
		tr += a.Cov[i*n+i] + b.Cov[i*n+i]
	}
	s1 := a.sqrtCov
	if s1 == nil {
		s1 = sqrtPSD(a.Cov, n)
	}
	m := matMul(matMul(s1, b.Cov, n), s1, n)
	for i := 0; i < n; i++ { // symmetrize rounding noise
		for j := i + 1; j < n; j++ {
			v := (m[i*n+j] + m[j*n+i]) / 2
			m[i*n+j], m[j*n+i] = v, v
		}
	}
	var trSqrt float64
	for _, ev := range symEig(m, n) {
		trSqrt += math.Sqrt(max(ev, 0))
	}
	return max(dm+tr-2*trSqrt, 0), nil
}
