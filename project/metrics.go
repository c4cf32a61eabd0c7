package project

import (
	"math"

	"sgan/torch"
)

// SSIM constants of Wang et al. (2004): an 11-tap Gaussian window with sigma 1.5, K1 = 0.01,
// K2 = 0.03. Images here are in [-1, 1], a data range L of 2.
const (
	ssimWindow = 11
	ssimSigma  = 1.5
	ssimK1     = 0.01
	ssimK2     = 0.03
	dataRange  = 2.0
)

// msssimWeights are the per-scale exponents of Wang, Simoncelli and Bovik (2003), finest first.
var msssimWeights = []float64{0.0448, 0.2856, 0.3001, 0.2363, 0.1333}

// gaussWindow is the normalized 1-D Gaussian of size n and sigma s, centred.
func gaussWindow(n int, s float64) []float32 {
	w := make([]float32, n)
	var sum float64
	c := float64(n-1) / 2
	for i := range w {
		v := math.Exp(-(float64(i) - c) * (float64(i) - c) / (2 * s * s))
		w[i] = float32(v)
		sum += v
	}
	for i := range w {
		w[i] /= float32(sum)
	}
	return w
}

// windowFor is the SSIM window for images of side side: 11, or the largest odd size that fits.
func windowFor(side int64) int {
	n := ssimWindow
	if int64(n) > side {
		n = int(side)
		if n%2 == 0 {
			n--
		}
	}
	return n
}

// ssimStats returns per-image, per-channel mean SSIM and mean contrast-structure (cs) of x and y
// [N, C, H, W] in [-1, 1]: the Gaussian-weighted statistics over valid windows (no padding, as
// Wang et al.'s reference code), each [N, C]. Differentiable.
func ssimStats(x, y *torch.Tensor) (ssim, cs *torch.Tensor) {
	c := x.Size(1)
	n := windowFor(min(x.Size(2), x.Size(3)))
	g := torch.FromFloat32(gaussWindow(n, ssimSigma), 1, 1, 1, int64(n)).ToDevice(x.Device(), false)
	gh := g.Expand(c, 1, 1, int64(n))
	gv := g.Reshape(1, 1, int64(n), 1).Expand(c, 1, int64(n), 1)
	blur := func(t *torch.Tensor) *torch.Tensor {
		o := torch.ConvOpts{Groups: c}
		return torch.Conv2d(torch.Conv2d(t, gh, nil, o), gv, nil, o)
	}
	c1 := (ssimK1 * dataRange) * (ssimK1 * dataRange)
	c2 := (ssimK2 * dataRange) * (ssimK2 * dataRange)
	mx, my := blur(x), blur(y)
	sxx := blur(x.Mul(x)).Sub(mx.Square())
	syy := blur(y.Mul(y)).Sub(my.Square())
	sxy := blur(x.Mul(y)).Sub(mx.Mul(my))
	csMap := sxy.MulS(2).AddS(c2).Div(sxx.Add(syy).AddS(c2))
	lum := mx.Mul(my).MulS(2).AddS(c1).Div(mx.Square().Add(my.Square()).AddS(c1))
	dims := []int64{2, 3}
	return lum.Mul(csMap).Mean(dims, false), csMap.Mean(dims, false)
}

// SSIM is the structural similarity of each image pair of x and y [N, C, H, W] in [-1, 1]
// (Wang et al. 2004; Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03, valid windows, channels
// averaged): [N]. 1 for identical images.
func SSIM(x, y *torch.Tensor) *torch.Tensor {
	s, _ := ssimStats(x, y)
	return s.Mean([]int64{1}, false)
}

// MSSSIMScales is the number of scales MS-SSIM uses at side side: the 5 of Wang et al. when the
// coarsest scale still holds an 11-pixel window (side >= 176), otherwise as many as do, at
// least 1. 64x64 images get 3 (64, 32, 16).
func MSSSIMScales(side int64) int {
	k := 1
	for k < len(msssimWeights) && side>>k >= ssimWindow {
		k++
	}
	return k
}

// MSSSIM is multi-scale SSIM (Wang, Simoncelli and Bovik 2003) of each image pair: [N].
// Scale j (finest first) contributes its contrast-structure term cs_j, the coarsest its full
// SSIM, each raised to its published weight; images are halved by 2x2 averaging between
// scales. Images smaller than 176 pixels use fewer scales (MSSSIMScales) with the first
// weights renormalized to sum 1. Negative terms count as 0, as in the common implementations
// (pytorch-msssim, TensorFlow).
func MSSSIM(x, y *torch.Tensor) *torch.Tensor { return msssim(x, y, 0) }

// msssimLossFloor is the floor of MS-SSIM's terms in the projection loss: fractional powers of
// 0 have infinite gradients, so terms are clamped a little above it there.
const msssimLossFloor = 1e-4

// msssim is MSSSIM with its terms clamped to at least floor.
func msssim(x, y *torch.Tensor, floor float64) *torch.Tensor {
	k := MSSSIMScales(min(x.Size(2), x.Size(3)))
	var wsum float64
	for _, w := range msssimWeights[:k] {
		wsum += w
	}
	var out *torch.Tensor
	for j := 0; j < k; j++ {
		s, cs := ssimStats(x, y)
		term := cs
		if j == k-1 {
			term = s
		}
		term = term.ClampMin(floor).PowS(msssimWeights[j] / wsum)
		if out == nil {
			out = term
		} else {
			out = out.Mul(term)
		}
		if j < k-1 {
			x, y = torch.AvgPool2d(x, 2, 2), torch.AvgPool2d(y, 2, 2)
		}
	}
	return out.Mean([]int64{1}, false)
}

// MSE is the mean squared difference of each image pair of x and y [N, ...]: [N].
func MSE(x, y *torch.Tensor) *torch.Tensor {
	d := x.Sub(y).Square()
	return d.Reshape(d.Size(0), -1).Mean([]int64{1}, false)
}

// PSNR is the peak signal-to-noise ratio in dB of an image with mean squared error mse on [-1, 1]
// images (peak-to-peak 2, so the same value as on [0, 1] images with peak 1):
// 10 log10(4 / mse), capped at MaxPSNR (identical images) so that reports stay finite numbers.
func PSNR(mse float64) float64 {
	if !(mse > 0) {
		return MaxPSNR
	}
	return min(MaxPSNR, 10*math.Log10(dataRange*dataRange/mse))
}

// MaxPSNR caps PSNR: an error below 1e-10 of the range is reported as identical.
const MaxPSNR = 100.0
