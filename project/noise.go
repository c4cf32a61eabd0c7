package project

import "sgan/torch"

// roll1 is torch.roll(x, 1, dim): the last slice along dim moves to the front.
func roll1(x *torch.Tensor, dim int64) *torch.Tensor {
	n := x.Size(int(dim))
	return torch.Cat([]*torch.Tensor{x.Narrow(dim, n-1, 1), x.Narrow(dim, 0, n-1)}, dim)
}

// noiseReg is NVlabs' noise regularizer, per sample: for each map [N, 1, H, W] and each level
// of its 2x2-average pyramid down to 8x8 (a 4x4 map has one level), the squared mean
// autocorrelation at a one-pixel shift along x and along y (circular), summed: [N]. It is 0 for
// maps without spatial correlation, so noise maps cannot take over the image's structure.
func noiseReg(maps []*torch.Tensor) *torch.Tensor {
	var reg *torch.Tensor
	dims := []int64{1, 2, 3}
	add := func(t *torch.Tensor) {
		if reg == nil {
			reg = t
		} else {
			reg = reg.Add(t)
		}
	}
	for _, m := range maps {
		for {
			add(m.Mul(roll1(m, 3)).Mean(dims, false).Square())
			add(m.Mul(roll1(m, 2)).Mean(dims, false).Square())
			if m.Size(2) <= 8 {
				break
			}
			m = torch.AvgPool2d(m, 2, 2)
		}
	}
	return reg
}

// normalizeNoise rescales each sample's map to zero mean and unit mean square, in place (NVlabs
// does this after every step).
func normalizeNoise(maps []*torch.Tensor) {
	torch.NoGrad(func() {
		torch.WithScope(func() {
			dims := []int64{1, 2, 3}
			for _, m := range maps {
				c := m.Sub(m.Mean(dims, true))
				m.CopyFrom(c.Mul(c.Square().Mean(dims, true).Rsqrt()))
			}
		})
	})
}
