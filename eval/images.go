package eval

import "fmt"

// Images is a batch of images in NCHW layout, float32, nominally in [-1, 1] (the generator's
// and the data loader's range), with optional class labels. Every metric takes Images, so a
// test can feed real, transformed or copied images without a trained model.
type Images struct {
	Pix        []float32 // N*C*H*W values, row-major NCHW
	N, C, H, W int
	Labels     []int // nil, or N class indices
}

// Dim is the number of values per image, C*H*W.
func (b Images) Dim() int { return b.C * b.H * b.W }

// At is image i's values (a sub-slice of Pix, not a copy).
func (b Images) At(i int) []float32 { d := b.Dim(); return b.Pix[i*d : (i+1)*d] }

// Check reports a batch whose slice does not match its shape.
func (b Images) Check() error {
	if b.N < 1 || b.C < 1 || b.H < 1 || b.W < 1 {
		return fmt.Errorf("eval: empty image batch (%dx%dx%dx%d)", b.N, b.C, b.H, b.W)
	}
	if len(b.Pix) != b.N*b.Dim() {
		return fmt.Errorf("eval: image batch %dx%dx%dx%d needs %d values, has %d", b.N, b.C, b.H, b.W, b.N*b.Dim(), len(b.Pix))
	}
	if b.Labels != nil && len(b.Labels) != b.N {
		return fmt.Errorf("eval: %d labels for %d images", len(b.Labels), b.N)
	}
	return nil
}

// Subset copies the images at idx (labels too) into a new batch.
func (b Images) Subset(idx []int) Images {
	out := Images{N: len(idx), C: b.C, H: b.H, W: b.W, Pix: make([]float32, 0, len(idx)*b.Dim())}
	if b.Labels != nil {
		out.Labels = make([]int, len(idx))
	}
	for j, i := range idx {
		out.Pix = append(out.Pix, b.At(i)...)
		if b.Labels != nil {
			out.Labels[j] = b.Labels[i]
		}
	}
	return out
}

// Concat joins batches of the same image shape; labels are kept only when every batch has them.
func Concat(bs ...Images) Images {
	var out Images
	labels := true
	for i, b := range bs {
		if i == 0 {
			out.C, out.H, out.W = b.C, b.H, b.W
		} else if b.C != out.C || b.H != out.H || b.W != out.W {
			panic(fmt.Sprintf("eval: concat of %dx%dx%d and %dx%dx%d images", out.C, out.H, out.W, b.C, b.H, b.W))
		}
		out.N += b.N
		out.Pix = append(out.Pix, b.Pix...)
		labels = labels && b.Labels != nil
	}
	if labels {
		for _, b := range bs {
			out.Labels = append(out.Labels, b.Labels...)
		}
	}
	return out
}

// sameShape reports images of different C, H, W.
func sameShape(a, b Images) error {
	if a.C != b.C || a.H != b.H || a.W != b.W {
		return fmt.Errorf("eval: comparing %dx%dx%d images with %dx%dx%d ones (generate at the data's resolution and channels)", a.C, a.H, a.W, b.C, b.H, b.W)
	}
	return nil
}
