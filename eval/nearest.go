package eval

import (
	"math"

	"sgan/torch"
)

// nearest finds, for each of the nq rows of q, the nearest of the nr rows of r (both dim wide)
// in Euclidean distance. Candidates come from ||q||^2 + ||r||^2 - 2 q.r in libtorch (blocks of
// 256 queries); the winner's distance is then recomputed exactly in float64, so an exact copy
// reports 0. Ties go to the lower index.
func nearest(q, r []float32, nq, nr, dim int) (idx []int, dist []float64, err error) {
	idx = make([]int, nq)
	dist = make([]float64, nq)
	if nq == 0 || nr == 0 {
		return idx, dist, nil
	}
	err = torch.Try(func() {
		torch.WithScope(func() {
			torch.NoGrad(func() {
				rt := torch.FromFloat32(r, int64(nr), int64(dim))
				rn := rt.Square().Sum([]int64{1}, false).Reshape(1, int64(nr))
				rtT := rt.Transpose(0, 1).Contiguous()
				const block = 256
				for s := 0; s < nq; s += block {
					n := min(block, nq-s)
					torch.WithScope(func() {
						qt := torch.FromFloat32(q[s*dim:(s+n)*dim], int64(n), int64(dim))
						d := rn.Sub(qt.Matmul(rtT).MulS(2)) // ||q||^2 is constant per row
						vals := d.Float32s()
						for i := 0; i < n; i++ {
							row := vals[i*nr : (i+1)*nr]
							best := 0
							for j, v := range row {
								if v < row[best] {
									best = j
								}
							}
							idx[s+i] = best
						}
					})
				}
			})
		})
	})
	if err != nil {
		return nil, nil, err
	}
	parallelRows(nq, func(i int) {
		a, b := q[i*dim:(i+1)*dim], r[idx[i]*dim:(idx[i]+1)*dim]
		var s float64
		for k, v := range a {
			d := float64(v) - float64(b[k])
			s += d * d
		}
		dist[i] = math.Sqrt(s)
	})
	return idx, dist, nil
}
