package augment

import (
	"math"

	"sgan/torch"
)

// sym6 is the low-pass decomposition filter of the Symlet-6 wavelet (Daubechies' least asymmetric
// wavelet with 6 vanishing moments), the orthogonal filter NVlabs resamples with. Orthogonality,
// sum_k h[k] h[k+2j] = [j == 0], makes downsampling after upsampling the identity; the taps sum to
// sqrt(2). TestSym6Orthogonal checks both.
var sym6 = [12]float64{
	0.015404109327027373, 0.0034907120842174702, -0.11799011114819057, -0.048311742585633,
	0.4910559419267466, 0.787641141030194, 0.3379294217276218, -0.07263752278646252,
	-0.021060292512300564, 0.04472490177066578, 0.0017677118642428036, -0.007800708325034148,
}

// hzPad is a quarter of the filter length: the warp keeps 2*hzPad pixels of context around the
// image, and its output is hzPad pixels larger on each side before the final crop.
const hzPad = int64(len(sym6) / 4)

// fir is sym6 normalized to unit DC gain (NVlabs' setup_filter).
func fir() []float64 {
	s := 0.0
	for _, v := range sym6 {
		s += v
	}
	f := make([]float64, len(sym6))
	for i, v := range sym6 {
		f[i] = v / s
	}
	return f
}

// Margin is the reflection padding (left, top, right, bottom) for warping an h x w batch with the
// inverse transforms gs (Params.Geometry): the farthest any output corner reaches outside the
// image, plus 2*hzPad pixels of filter context, at least 0 and at most the size minus one (the
// largest reflection padding). It is computed over every sample of the batch.
func Margin(gs []Mat3, h, w int64) [4]int64 {
	cx, cy := float64(w-1)/2, float64(h-1)/2
	m := [4]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}
	for _, g := range gs {
		for _, c := range [4][2]float64{{-cx, -cy}, {cx, -cy}, {cx, cy}, {-cx, cy}} {
			x, y := g.Apply(c[0], c[1])
			m[0], m[1], m[2], m[3] = max(m[0], -x), max(m[1], -y), max(m[2], x), max(m[3], y)
		}
	}
	ctx := float64(2 * hzPad)
	hi := [4]float64{float64(w - 1), float64(h - 1), float64(w - 1), float64(h - 1)}
	off := [4]float64{ctx - cx, ctx - cy, ctx - cx, ctx - cy}
	var out [4]int64
	for i := range m {
		out[i] = int64(math.Ceil(min(max(m[i]+off[i], 0), hi[i])))
	}
	return out
}

// warp resamples every image of x with its inverse transform: reflection padding by margin,
// 2x upsampling with the sym6 filter, bilinear sampling along the transformed grid, and 2x
// downsampling with the same filter back to the input size.
func warp(x *torch.Tensor, gs []Mat3, margin [4]int64) *torch.Tensor {
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	dev, dt := x.Device(), x.DType()
	mx0, my0, mx1, my1 := margin[0], margin[1], margin[2], margin[3]
	xp := torch.PadReflect(x, mx0, mx1, my0, my1)
	hp, wp := h+my0+my1, w+mx0+mx1
	xu := upsample2(xp)
	ho, wo := (h+2*hzPad)*2, (w+2*hzPad)*2
	theta := make([]float64, 0, 6*n)
	for _, g := range gs {
		// Origin at the centre of the padded image, then of the upsampled one (its pixel centres
		// sit half a pixel off), then [-1, 1] coordinates of the output and input grids.
		g = translate2(float64(mx0-mx1)/2, float64(my0-my1)/2).Mul(g)
		g = scale2(2, 2).Mul(g).Mul(scale2(0.5, 0.5))
		g = translate2(-0.5, -0.5).Mul(g).Mul(translate2(0.5, 0.5))
		g = scale2(1/float64(wp), 1/float64(hp)).Mul(g).Mul(scale2(float64(wo)/2, float64(ho)/2))
		theta = append(theta, g[0][0], g[0][1], g[0][2], g[1][0], g[1][1], g[1][2])
	}
	grid := torch.AffineGrid(torch.FromFloat64(theta, n, 2, 3).To(dev, dt), []int64{n, c, ho, wo})
	return downsample2(torch.GridSample(xu, grid))
}

// firWeights returns the filter as 1 x 1 x 1 x K and 1 x 1 x K x 1 conv weights scaled by gain.
func firWeights(gain float64, dev torch.Device, dt torch.DType) (row, col *torch.Tensor) {
	f := fir()
	for i := range f {
		f[i] *= gain
	}
	k := int64(len(f))
	row = torch.FromFloat64(f, 1, 1, 1, k).To(dev, dt)
	col = torch.FromFloat64(f, 1, 1, k, 1).To(dev, dt)
	return row, col
}

// upsample2 is NVlabs' upsample2d with the sym6 filter: zero insertion, then convolution with the
// filter (gain 2 per axis), so that an N x C x H x W batch becomes N x C x 2H x 2W. Per axis,
// out[o] = 2 sum_i x[i] f[o + 5 - 2i], which is a transposed convolution with stride 2 and padding
// 5 (K/2 - 1): it skips the multiplications by inserted zeros.
func upsample2(x *torch.Tensor) *torch.Tensor {
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	row, col := firWeights(2, x.Device(), x.DType())
	p := int64(len(sym6)/2 - 1)
	y := x.Reshape(n*c, 1, h, w)
	y = torch.ConvTranspose2d(y, row, nil, torch.ConvOpts{Stride: [2]int64{1, 2}, Padding: [2]int64{0, p}})
	y = torch.ConvTranspose2d(y, col, nil, torch.ConvOpts{Stride: [2]int64{2, 1}, Padding: [2]int64{p, 0}})
	return y.Reshape(n, c, 2*h, 2*w)
}

// downsample2 is NVlabs' downsample2d with the sym6 filter (unflipped) and padding -2*hzPad: crop
// one pixel on each side, correlate with the filter and keep every other sample, so that an
// N x C x 2(H+2 hzPad) x 2(W+2 hzPad) batch becomes N x C x H x W.
func downsample2(x *torch.Tensor) *torch.Tensor {
	n, c, h, w := x.Size(0), x.Size(1), x.Size(2), x.Size(3)
	row, col := firWeights(1, x.Device(), x.DType())
	crop := 2*hzPad - int64((len(sym6)-1)/2) // = 1: NVlabs' padding -2*hzPad plus the filter's own (K-1)/2
	y := x.Reshape(n*c, 1, h, w).Narrow(2, crop, h-2*crop).Narrow(3, crop, w-2*crop)
	y = torch.Conv2d(y, row, nil, torch.ConvOpts{Stride: [2]int64{1, 2}})
	y = torch.Conv2d(y, col, nil, torch.ConvOpts{Stride: [2]int64{2, 1}})
	return y.Reshape(n, c, y.Size(2), y.Size(3))
}
