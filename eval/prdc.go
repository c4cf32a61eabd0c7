package eval

import (
	"math"
	"slices"
)

// PRDC are the k-NN manifold metrics of a generated set against a real one.
type PRDC struct {
	K         int     `json:"k"`
	Precision float64 `json:"precision"` // share of generated samples inside the real manifold (fidelity)
	Recall    float64 `json:"recall"`    // share of real samples inside the generated manifold (diversity)
	Density   float64 `json:"density"`   // Naeem et al. 2020: mean count of real balls holding a generated sample, / k
	Coverage  float64 `json:"coverage"`  // Naeem et al. 2020: share of real balls holding at least one generated sample
}

// PrecisionRecall is Kynkäänniemi et al. 2019: each set's manifold is the union of balls around
// its samples with radius the distance to the sample's k-th nearest neighbour in the same set.
// Precision is the share of generated samples inside the real manifold, recall the share of real
// samples inside the generated manifold. Density and coverage (Naeem et al. 2020) come from the
// same real balls at no extra cost. Use sets of equal size: the radii depend on it.
func PrecisionRecall(real, gen Features, k int) PRDC {
	if k <= 0 {
		k = 3
	}
	out := PRDC{K: k}
	if real.N <= k || gen.N <= k {
		nan := math.NaN()
		out.Precision, out.Recall, out.Density, out.Coverage = nan, nan, nan, nan
		return out
	}
	rr := sqDist(real, real)
	gg := sqDist(gen, gen)
	rg := sqDist(real, gen) // real.N x gen.N
	rRad := kthRadius(rr, real.N, k)
	gRad := kthRadius(gg, gen.N, k)
	inReal := 0
	var density float64
	covered := make([]bool, real.N)
	for j := 0; j < gen.N; j++ {
		hit := 0
		for i := 0; i < real.N; i++ {
			if rg[i*gen.N+j] <= rRad[i] {
				hit++
				covered[i] = true
			}
		}
		if hit > 0 {
			inReal++
		}
		density += float64(hit)
	}
	inGen := 0
	for i := 0; i < real.N; i++ {
		for j := 0; j < gen.N; j++ {
			if rg[i*gen.N+j] <= gRad[j] {
				inGen++
				break
			}
		}
	}
	cov := 0
	for _, c := range covered {
		if c {
			cov++
		}
	}
	out.Precision = float64(inReal) / float64(gen.N)
	out.Recall = float64(inGen) / float64(real.N)
	out.Density = density / float64(k*gen.N)
	out.Coverage = float64(cov) / float64(real.N)
	return out
}

// kthRadius is, per row of the n x n squared-distance matrix d, the k-th smallest entry other
// than the diagonal (the squared radius of that sample's k-NN ball).
func kthRadius(d []float32, n, k int) []float32 {
	out := make([]float32, n)
	parallelRows(n, func(i int) {
		row := make([]float32, 0, n-1)
		for j := 0; j < n; j++ {
			if j != i {
				row = append(row, d[i*n+j])
			}
		}
		slices.Sort(row)
		out[i] = row[k-1]
	})
	return out
}

// sqDist is the a.N x b.N matrix of squared Euclidean distances (float64 sums).
func sqDist(a, b Features) []float32 {
	out := make([]float32, a.N*b.N)
	parallelRows(a.N, func(i int) {
		ra := a.Row(i)
		for j := 0; j < b.N; j++ {
			rb := b.Row(j)
			var s float64
			for k, v := range ra {
				d := float64(v) - float64(rb[k])
				s += d * d
			}
			out[i*b.N+j] = float32(s)
		}
	})
	return out
}
