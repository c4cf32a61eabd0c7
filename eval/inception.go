package eval

import (
	"fmt"
	"math"

	"sgan/torch"
)

// InceptionSide is the input side of the Inception-v3 feature extractor used for FID and KID.
const InceptionSide = 299

// inceptionBatch is the number of images per forward call of the user's module.
const inceptionBatch = 32

// InceptionInfo describes the user-supplied TorchScript feature extractor (--inception).
type InceptionInfo struct {
	Path   string `json:"path"`
	Device string `json:"device"`
	Dim    int    `json:"dim"`
}

// InceptionFeatures embeds imgs with a TorchScript feature extractor, the way FID and KID feed
// Inception-v3: each image is mapped from [-1, 1] to 8-bit values in [0, 255] (rounded, as a
// saved PNG would be), a gray image is repeated to 3 channels, and the batch is resized to
// 299x299 (bilinear, align_corners false, clamped to [0, 255]) and passed as float32 [N, 3, 299, 299] on the module's
// device in batches of 32. The output (a tensor, or the first tensor of a tuple or list) is
// flattened to one row per image.
func InceptionFeatures(m *torch.Module, imgs Images) (Features, error) {
	if err := imgs.Check(); err != nil {
		return Features{}, err
	}
	if imgs.C != 1 && imgs.C != 3 {
		return Features{}, fmt.Errorf("eval: --inception takes gray or RGB images, not %d channels", imgs.C)
	}
	out := Features{N: imgs.N}
	d := imgs.Dim()
	buf := make([]float32, inceptionBatch*d)
	var ferr error
	err := torch.Try(func() {
		torch.NoGrad(func() {
			for s := 0; s < imgs.N && ferr == nil; s += inceptionBatch {
				c := min(inceptionBatch, imgs.N-s)
				for i, v := range imgs.Pix[s*d : (s+c)*d] {
					buf[i] = float32(math.Round(math.Min(math.Max((float64(v)+1)*127.5, 0), 255)))
				}
				torch.WithScope(func() {
					x := torch.FromFloat32(buf[:c*d], int64(c), int64(imgs.C), int64(imgs.H), int64(imgs.W)).ToDevice(m.Device(), false)
					if imgs.C == 1 {
						x = x.Repeat(1, 3, 1, 1)
					}
					if imgs.H != InceptionSide || imgs.W != InceptionSide {
						// Clamped: rounding can take a blend of 255s a hair past 255.
						x = torch.Interpolate(x, InceptionSide, InceptionSide, torch.Bilinear).Clamp(0, 255)
					}
					y, err := m.Forward(x)
					if err != nil {
						ferr = err
						return
					}
					if y.Dim() < 1 || y.Size(0) != int64(c) {
						ferr = fmt.Errorf("eval: %s returned %v for %d images; it must return one feature vector per image ([N, D] or [N, D, 1, 1])", m.Path(), y.Shape(), c)
						return
					}
					v := y.Reshape(int64(c), -1).Float32s()
					if out.D == 0 {
						out.D = len(v) / c
						out.X = make([]float32, 0, imgs.N*out.D)
					}
					out.X = append(out.X, v...)
				})
			}
		})
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return Features{}, err
	}
	if out.D == 0 {
		return Features{}, fmt.Errorf("eval: %s returned empty features", m.Path())
	}
	for _, v := range out.X {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return Features{}, fmt.Errorf("eval: %s returned non-finite features", m.Path())
		}
	}
	return out, nil
}
