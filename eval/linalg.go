package eval

import "sgan/torch"

// The dense linear algebra of the Fréchet distance runs in libtorch (LAPACK/BLAS, float64): with
// 2048-d Inception features a Go eigensolver took tens of minutes per distance; libtorch takes
// seconds. These helpers panic with *torch.Error on failure; FrechetDistance recovers it.

// symEigVec returns the eigenvalues (ascending) and the eigenvectors as the columns of v
// (row-major) of the symmetric n x n matrix a.
func symEigVec(a []float64, n int) (ev, v []float64) {
	torch.WithScope(func() {
		vals, vecs := torch.Eigh(torch.FromFloat64(a, int64(n), int64(n)))
		ev, v = vals.Float64s(), vecs.Contiguous().Float64s()
	})
	return ev, v
}

// symEig returns the eigenvalues of the symmetric matrix a.
func symEig(a []float64, n int) []float64 {
	ev, _ := symEigVec(a, n)
	return ev
}

// sqrtPSD is the symmetric square root of a symmetric positive semi-definite matrix
// (negative rounding-noise eigenvalues are taken as 0).
func sqrtPSD(a []float64, n int) []float64 {
	var out []float64
	torch.WithScope(func() {
		vals, vecs := torch.Eigh(torch.FromFloat64(a, int64(n), int64(n)))
		out = vecs.Mul(vals.ClampMin(0).Sqrt().Unsqueeze(0)).Matmul(vecs.Transpose(0, 1)).Contiguous().Float64s()
	})
	return out
}

// matMul is the n x n product a b.
func matMul(a, b []float64, n int) []float64 {
	var out []float64
	torch.WithScope(func() {
		out = torch.FromFloat64(a, int64(n), int64(n)).Matmul(torch.FromFloat64(b, int64(n), int64(n))).Float64s()
	})
	return out
}
