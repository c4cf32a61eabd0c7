package eval

import "math"

// symEig returns the eigenvalues of the symmetric n x n matrix a (row-major; a is not changed)
// by the cyclic Jacobi method, which is exact to rounding for the small (<= a few hundred)
// feature dimensions used here.
func symEig(a []float64, n int) []float64 {
	ev, _ := symEigVec(a, n)
	return ev
}

// symEigVec returns the eigenvalues and the eigenvectors as the columns of v (row-major).
func symEigVec(a []float64, n int) (ev, v []float64) {
	m := append([]float64(nil), a...)
	v = make([]float64, n*n)
	for i := 0; i < n; i++ {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off, diag float64
		for i := 0; i < n; i++ {
			diag += m[i*n+i] * m[i*n+i]
			for j := i + 1; j < n; j++ {
				off += m[i*n+j] * m[i*n+j]
			}
		}
		if off <= 1e-30*diag || off == 0 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				apq := m[p*n+q]
				if apq == 0 {
					continue
				}
				app, aqq := m[p*n+p], m[q*n+q]
				theta := (aqq - app) / (2 * apq)
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ {
					akp, akq := m[k*n+p], m[k*n+q]
					m[k*n+p] = c*akp - s*akq
					m[k*n+q] = s*akp + c*akq
				}
				for k := 0; k < n; k++ {
					apk, aqk := m[p*n+k], m[q*n+k]
					m[p*n+k] = c*apk - s*aqk
					m[q*n+k] = s*apk + c*aqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p] = c*vkp - s*vkq
					v[k*n+q] = s*vkp + c*vkq
				}
			}
		}
	}
	ev = make([]float64, n)
	for i := range ev {
		ev[i] = m[i*n+i]
	}
	return ev, v
}

// sqrtPSD is the symmetric square root of a symmetric positive semi-definite matrix
// (negative rounding-noise eigenvalues are taken as 0).
func sqrtPSD(a []float64, n int) []float64 {
	ev, v := symEigVec(a, n)
	out := make([]float64, n*n)
	for k := 0; k < n; k++ {
		s := math.Sqrt(max(ev[k], 0))
		if s == 0 {
			continue
		}
		for i := 0; i < n; i++ {
			vik := v[i*n+k] * s
			for j := 0; j < n; j++ {
				out[i*n+j] += vik * v[j*n+k]
			}
		}
	}
	return out
}

// matMul is the n x n product a b.
func matMul(a, b []float64, n int) []float64 {
	out := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for k := 0; k < n; k++ {
			aik := a[i*n+k]
			if aik == 0 {
				continue
			}
			for j := 0; j < n; j++ {
				out[i*n+j] += aik * b[k*n+j]
			}
		}
	}
	return out
}
