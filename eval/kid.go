package eval

import "math"

// KIDConfig tunes KID; zero fields take the defaults noted.
type KIDConfig struct {
	Subsets    int // random subset pairs averaged (default 100)
	SubsetSize int // images per subset (default 1000, at most the smaller set)
	Seed       uint64
}

// KIDResult is the kernel inception distance's estimate in a feature space: the mean and std
// over subsets of the unbiased MMD^2 with the cubic polynomial kernel.
type KIDResult struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// gramMax is the largest combined set whose Gram matrix KID keeps in memory (144 MB).
const gramMax = 6000

// KID is Bińkowski et al.'s kernel distance: the unbiased estimate of MMD^2 between a and b
// with k(x, y) = (x.y/D + 1)^3, averaged over random subset pairs drawn without replacement
// (the estimator of StyleGAN2-ADA's metrics/kernel_inception_distance.py). The Gram matrix of
// both sets is computed once (up to gramMax vectors in all), so subsets cost only lookups.
func KID(a, b Features, cfg KIDConfig) KIDResult {
	if cfg.Subsets <= 0 {
		cfg.Subsets = 100
	}
	if cfg.SubsetSize <= 0 {
		cfg.SubsetSize = 1000
	}
	m := min(cfg.SubsetSize, a.N, b.N)
	if m < 2 {
		return KIDResult{Mean: math.NaN(), Std: math.NaN()}
	}
	all := Features{X: append(append([]float32(nil), a.X...), b.X...), N: a.N + b.N, D: a.D}
	n := all.N
	var k func(i, j int) float64
	if n <= gramMax {
		g := gram(all)
		k = func(i, j int) float64 {
			v := float64(g[i*n+j])/float64(a.D) + 1
			return v * v * v
		}
	} else { // too large to keep: dot products on the fly
		k = func(i, j int) float64 {
			ri, rj := all.Row(i), all.Row(j)
			var s float64
			for t, v := range ri {
				s += float64(v) * float64(rj[t])
			}
			v := s/float64(a.D) + 1
			return v * v * v
		}
	}
	r := newRNG(cfg.Seed, streamKID, 0)
	vals := make([]float64, cfg.Subsets)
	for s := range vals {
		x := r.Perm(a.N)[:m]
		y := r.Perm(b.N)[:m]
		for i := range y {
			y[i] += a.N
		}
		var kxx, kyy, kxy float64
		for i := 0; i < m; i++ {
			for j := 0; j < m; j++ {
				if i != j {
					kxx += k(x[i], x[j])
					kyy += k(y[i], y[j])
				}
				kxy += k(x[i], y[j])
			}
		}
		fm := float64(m)
		vals[s] = (kxx+kyy)/(fm*(fm-1)) - 2*kxy/(fm*fm)
	}
	return meanStd(vals)
}

func meanStd(v []float64) KIDResult {
	var s, ss float64
	for _, x := range v {
		s += x
	}
	mean := s / float64(len(v))
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return KIDResult{Mean: mean, Std: math.Sqrt(ss / float64(len(v)))}
}

// gram is the N x N matrix of dot products of f's rows (float64 sums, stored as float32).
func gram(f Features) []float32 {
	n := f.N
	g := make([]float32, n*n)
	parallelRows(n, func(i int) {
		ri := f.Row(i)
		for j := i; j < n; j++ {
			rj := f.Row(j)
			var s float64
			for k, v := range ri {
				s += float64(v) * float64(rj[k])
			}
			g[i*n+j] = float32(s)
		}
	})
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			g[i*n+j] = g[j*n+i]
		}
	}
	return g
}
