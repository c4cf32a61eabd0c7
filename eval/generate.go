package eval

import (
	"fmt"

	"sgan/model"
	"sgan/torch"
)

// GenBatch is the generator's batch size.
const GenBatch = 32

// Generate draws n images from G on device dev: latents from one CPU torch.Generator seeded
// with seed (so the images do not depend on the device), truncation psi, constant noise, batches
// of GenBatch. A conditional model cycles through its classes (image i has class i mod
// NumClasses, recorded in Labels, indices into the checkpoint's class list).
func Generate(G *model.Generator, dev torch.Device, n int, seed uint64, psi float64, progress func(done, total int)) (Images, error) {
	if n < 1 {
		return Images{}, fmt.Errorf("eval: %d images to generate", n)
	}
	cfg := G.Cfg
	out := Images{N: n, C: cfg.Channels, H: cfg.Resolution, W: cfg.Resolution}
	out.Pix = make([]float32, 0, n*out.Dim())
	if cfg.NumClasses > 0 {
		out.Labels = make([]int, n)
		for i := range out.Labels {
			out.Labels[i] = i % cfg.NumClasses
		}
	}
	err := torch.Try(func() {
		g, err := torch.NewGenerator(torch.CPU, seed)
		if err != nil {
			panic(&torch.Error{Op: "generate", Msg: err.Error()})
		}
		defer g.Close()
		for s := 0; s < n; s += GenBatch {
			b := min(GenBatch, n-s)
			torch.WithScope(func() {
				z := torch.Randn([]int64{int64(b), int64(cfg.ZDim)}, g, torch.Options{}).ToDevice(dev, false)
				var c *torch.Tensor
				if out.Labels != nil {
					lab := make([]int64, b)
					for i := range lab {
						lab[i] = int64(out.Labels[s+i])
					}
					c = G.OneHot(torch.FromInt64(lab, int64(b)))
				}
				torch.NoGrad(func() {
					img := G.Forward(z, c, psi, model.NoiseConst, nil)
					out.Pix = append(out.Pix, img.ToDevice(torch.CPU, false).Float32s()...)
				})
			})
			if progress != nil {
				progress(s+b, n)
			}
		}
	})
	if err != nil {
		return Images{}, err
	}
	return out, nil
}
