package project

import (
	"fmt"

	"sgan/eval"
	"sgan/torch"
)

// FeatDistance is a perceptual distance in the encoder of eval's domain feature CNN, the small
// net `sgan eval` trains on the real data and caches (features-*.pt): at each of its three conv
// stages the activations are scaled to unit length over channels at every position (as LPIPS
// does, without LPIPS' learned channel weights), and the squared differences are averaged over
// positions and summed over channels and stages.
type FeatDistance struct {
	Net  *eval.Net
	Path string
}

// LoadFeatDistance reads a cached feature net, which must take images of the model's size.
func LoadFeatDistance(path string, res, ch int) (*FeatDistance, error) {
	n, err := eval.LoadNet(path)
	if err != nil {
		return nil, fmt.Errorf("project: feature net: %w", err)
	}
	if n.Res != res || n.Ch != ch {
		n.Free()
		return nil, fmt.Errorf("project: feature net %s takes %dx%dx%d images, the model makes %dx%dx%d: use the net sgan eval trained for this data", path, n.Ch, n.Res, n.Res, ch, res, res)
	}
	return &FeatDistance{Net: n, Path: path}, nil
}

// Free releases the net.
func (f *FeatDistance) Free() { f.Net.Free() }

// unitChannels scales the activations [N, C, H, W] to unit length over channels.
func unitChannels(a *torch.Tensor) *torch.Tensor {
	return a.Mul(a.Square().Sum([]int64{1}, true).AddS(1e-10).Rsqrt())
}

// to returns the distance of images to target, per image ([N]).
func (f *FeatDistance) to(target *torch.Tensor) (func(img *torch.Tensor) *torch.Tensor, error) {
	if d := target.Device(); d.IsCUDA() {
		return nil, fmt.Errorf("project: the feat distance runs on the CPU (eval's feature net does), not on %s: use --device cpu or another distance", d)
	}
	var ref []*torch.Tensor
	err := torch.Try(func() {
		torch.NoGrad(func() {
			for _, a := range f.Net.Activations(target) {
				ref = append(ref, unitChannels(a))
			}
		})
	})
	if err != nil {
		return nil, err
	}
	return func(img *torch.Tensor) *torch.Tensor {
		var d *torch.Tensor
		for i, a := range f.Net.Activations(img) {
			t := unitChannels(a).Sub(ref[i]).Square().Sum([]int64{1}, false).Mean([]int64{1, 2}, false)
			if d == nil {
				d = t
			} else {
				d = d.Add(t)
			}
		}
		return d
	}, nil
}
