package project

import (
	"math"
	"sort"
)

// Anomaly map defaults.
const (
	DefaultAnomalySigma = 1.5  // Gaussian smoothing of the residual, in pixels
	DefaultAnomalyMax   = 0.25 // residual (on the 0-1 intensity scale) at which the heat map saturates
	anomalyTopFrac      = 0.01 // the score averages the top 1% of the smoothed map
)

// AnomalyMap is the residual |target - reconstruction| on the 0-1 intensity scale (half the
// difference of [-1, 1] images), averaged over channels and smoothed with a Gaussian of sigma
// pixels (its taps renormalized at the borders, so edges are not darkened; sigma 0: no
// smoothing): side*side values, row-major.
func AnomalyMap(target, recon []float32, ch, side int, sigma float64) []float32 {
	n := side * side
	res := make([]float32, n)
	for c := 0; c < ch; c++ {
		for i := 0; i < n; i++ {
			res[i] += float32(math.Abs(float64(target[c*n+i]-recon[c*n+i]))) / float32(2*ch)
		}
	}
	if sigma <= 0 {
		return res
	}
	return blur(res, side, sigma)
}

// blur is a separable Gaussian (radius 3 sigma) over a side x side map, normalized by the taps
// that fall inside the image.
func blur(x []float32, side int, sigma float64) []float32 {
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
	}
	pass := func(src []float32, dx, dy int) []float32 {
		dst := make([]float32, len(src))
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				var s, w float64
				for i, kv := range k {
					xx, yy := x+(i-rad)*dx, y+(i-rad)*dy
					if xx < 0 || yy < 0 || xx >= side || yy >= side {
						continue
					}
					s += kv * float64(src[yy*side+xx])
					w += kv
				}
				dst[y*side+x] = float32(s / w)
			}
		}
		return dst
	}
	return pass(pass(x, 1, 0), 0, 1)
}

// AnomalyScore is the mean of the largest 1% of the map's values (at least one): high when a
// region is poorly reconstructed, and steady against a few stray pixels.
func AnomalyScore(m []float32) float64 {
	if len(m) == 0 {
		return 0
	}
	v := append([]float32(nil), m...)
	sort.Slice(v, func(i, j int) bool { return v[i] > v[j] })
	k := max(1, int(math.Round(anomalyTopFrac*float64(len(v)))))
	var s float64
	for _, x := range v[:k] {
		s += float64(x)
	}
	return s / float64(k)
}
