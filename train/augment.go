package train

import (
	"math/rand/v2"

	"sgan/run"
	"sgan/torch"
)

// DiffAugment (Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training", 2020):
// every image the critic sees, real or generated, goes through the same random, differentiable
// transforms, so the critic cannot memorize a small training set while the generator still
// learns the untransformed images (its gradients flow back through the transforms). For a few
// hundred scans this is the difference between a critic that overfits within minutes and one
// that keeps teaching the generator.
//
// Each transform is built from plain tensors (shift matrices, masks, per-sample factors) drawn
// in Go from a generator seeded by (run seed, step, call), so a resumed run augments exactly as an
// uninterrupted one and data-parallel ranks draw for the whole batch and keep their rows.

// DiffAugment's strengths: shifts up to 1/8 of the side, a cutout square of half the side.
const (
	augTranslateFrac = 0.125
	augCutoutFrac    = 0.5
)

// augment applies policy p to x, the rows of a batch of rows.Total images; r draws the
// parameters for the whole batch (so every rank draws the same numbers).
func diffAugment(p run.DiffAugPolicy, x *torch.Tensor, r *rand.Rand, rows span) *torch.Tensor {
	n, h, w := rows.Total, x.Size(2), x.Size(3)
	dev := x.Device()
	lo, hi := rows.Offset, rows.Offset+rows.n
	if p.Color {
		// Brightness: add U(-0.5, 0.5); contrast: scale around the image mean by U(0.5, 1.5); for
		// RGB also saturation: scale around the pixel's channel mean by U(0, 2).
		bright, contrast, sat := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range n {
			bright[i] = float32(r.Float64() - 0.5)
			contrast[i] = float32(r.Float64() + 0.5)
			sat[i] = float32(r.Float64() * 2)
		}
		x = x.Add(perSample(bright[lo:hi], dev))
		if x.Size(1) > 1 {
			m := x.Mean([]int64{1}, true)
			x = x.Sub(m).Mul(perSample(sat[lo:hi], dev)).Add(m)
		}
		m := x.Mean([]int64{1, 2, 3}, true)
		x = x.Sub(m).Mul(perSample(contrast[lo:hi], dev)).Add(m)
	}
	if p.Translation {
		// out[i, j] = x[i-dy, j-dx], zero outside: Sy @ x @ Sx^T with one-hot shift matrices,
		// which batches on any device and is differentiable with no special kernels.
		sy := make([]float32, n*h*h)
		sx := make([]float32, n*w*w)
		my, mx := int64(float64(h)*augTranslateFrac+0.5), int64(float64(w)*augTranslateFrac+0.5)
		for b := range n {
			dy, dx := r.Int64N(2*my+1)-my, r.Int64N(2*mx+1)-mx
			for i := range h {
				if k := i - dy; k >= 0 && k < h {
					sy[b*h*h+i*h+k] = 1
				}
			}
			for j := range w {
				if k := j - dx; k >= 0 && k < w {
					sx[b*w*w+k*w+j] = 1 // Sx^T[k, j]
				}
			}
		}
		ty := torch.FromFloat32(sy[lo*h*h:hi*h*h], rows.n, 1, h, h).ToDevice(dev, true)
		tx := torch.FromFloat32(sx[lo*w*w:hi*w*w], rows.n, 1, w, w).ToDevice(dev, true)
		x = ty.Matmul(x).Matmul(tx)
	}
	if p.Cutout {
		// A square of half the side, centred anywhere in the image (so it may be clipped), zeroed.
		ch, cw := int64(float64(h)*augCutoutFrac+0.5), int64(float64(w)*augCutoutFrac+0.5)
		mask := make([]float32, n*h*w)
		for i := range mask {
			mask[i] = 1
		}
		for b := range n {
			cy, cx := r.Int64N(h+(1-ch%2)), r.Int64N(w+(1-cw%2))
			for i := max(cy-ch/2, 0); i < min(cy-ch/2+ch, h); i++ {
				for j := max(cx-cw/2, 0); j < min(cx-cw/2+cw, w); j++ {
					mask[b*h*w+i*w+j] = 0
				}
			}
		}
		x = x.Mul(torch.FromFloat32(mask[lo*h*w:hi*h*w], rows.n, 1, h, w).ToDevice(dev, true))
	}
	return x
}

func perSample(v []float32, dev torch.Device) *torch.Tensor {
	return torch.FromFloat32(v, int64(len(v)), 1, 1, 1).ToDevice(dev, true)
}
