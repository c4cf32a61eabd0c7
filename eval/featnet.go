package eval

import (
	"fmt"
	"math"
	"slices"

	"sgan/torch"
)

// FeatureDim is the width of the domain feature space.
const FeatureDim = 64

// featSide is the side the feature net works at: inputs are area-downsampled (or bilinearly
// upsampled) to it, so the net is the same size at every resolution.
const featSide = 32

// Net kinds.
const (
	KindClassifier  = "classifier"  // features: the penultimate layer of a class classifier
	KindAutoencoder = "autoencoder" // features: the bottleneck of an autoencoder
)

// Net is the small CNN that defines the domain feature space (in place of Inception, whose
// weights are not available here), and the classifier of the utility test. Encoder: three
// 3x3 conv + leaky ReLU + 2x2 average-pool stages (16, 32, 64 maps; 32 -> 4 pixels), then a
// linear layer to FeatureDim. A classifier adds leaky ReLU and a linear head; an autoencoder a
// mirrored decoder (linear, three nearest-upsample + conv stages). It always runs on the CPU,
// so the features, and every number built on them, are the same on every machine.
type Net struct {
	Kind    string
	Classes []string // the classifier's classes (nil for an autoencoder)
	Res, Ch int      // input image side and channels
	Steps   int      // training steps taken
	Loss    float64  // mean training loss over the last 10% of steps
	params  map[string]*torch.Tensor
	names   []string // sorted
}

type layerSpec struct {
	name  string
	shape []int64
	fanIn int64
}

func (n *Net) specs() []layerSpec {
	c := int64(n.Ch)
	s := []layerSpec{
		{"enc.conv1.weight", []int64{16, c, 3, 3}, c * 9}, {"enc.conv1.bias", []int64{16}, 0},
		{"enc.conv2.weight", []int64{32, 16, 3, 3}, 16 * 9}, {"enc.conv2.bias", []int64{32}, 0},
		{"enc.conv3.weight", []int64{64, 32, 3, 3}, 32 * 9}, {"enc.conv3.bias", []int64{64}, 0},
		{"enc.fc.weight", []int64{FeatureDim, 64 * 16}, 64 * 16}, {"enc.fc.bias", []int64{FeatureDim}, 0},
	}
	if n.Kind == KindClassifier {
		k := int64(len(n.Classes))
		s = append(s, layerSpec{"head.weight", []int64{k, FeatureDim}, FeatureDim}, layerSpec{"head.bias", []int64{k}, 0})
	} else {
		s = append(s,
			layerSpec{"dec.fc.weight", []int64{64 * 16, FeatureDim}, FeatureDim}, layerSpec{"dec.fc.bias", []int64{64 * 16}, 0},
			layerSpec{"dec.conv1.weight", []int64{32, 64, 3, 3}, 64 * 9}, layerSpec{"dec.conv1.bias", []int64{32}, 0},
			layerSpec{"dec.conv2.weight", []int64{16, 32, 3, 3}, 32 * 9}, layerSpec{"dec.conv2.bias", []int64{16}, 0},
			layerSpec{"dec.conv3.weight", []int64{c, 16, 3, 3}, 16 * 9}, layerSpec{"dec.conv3.bias", []int64{c}, 0})
	}
	return s
}

// newNet builds an untrained net with He-normal weights drawn from seed (zero biases).
func newNet(kind string, classes []string, res, ch int, seed uint64) (*Net, error) {
	n := &Net{Kind: kind, Res: res, Ch: ch, params: map[string]*torch.Tensor{}}
	if kind == KindClassifier {
		n.Classes = slices.Clone(classes)
	}
	err := torch.Try(func() {
		g, err := torch.NewGenerator(torch.CPU, seed)
		if err != nil {
			panic(&torch.Error{Op: "feature net", Msg: err.Error()})
		}
		defer g.Close()
		s := torch.NewScope()
		defer s.Close()
		for _, sp := range n.specs() {
			var t *torch.Tensor
			if sp.fanIn > 0 {
				t = torch.Randn(sp.shape, g, torch.Options{}).MulS(math.Sqrt(2 / float64(sp.fanIn)))
			} else {
				t = torch.Zeros(sp.shape, torch.Options{})
			}
			n.params[sp.name] = t.Keep().SetRequiresGrad(true)
			n.names = append(n.names, sp.name)
		}
	})
	if err != nil {
		n.Free()
		return nil, err
	}
	slices.Sort(n.names)
	return n, nil
}

// Free releases the weights.
func (n *Net) Free() {
	for _, t := range n.params {
		t.Free()
	}
	n.params = nil
}

func (n *Net) p(name string) *torch.Tensor { return n.params[name] }

func (n *Net) list() []*torch.Tensor {
	out := make([]*torch.Tensor, len(n.names))
	for i, k := range n.names {
		out[i] = n.params[k]
	}
	return out
}

var pad1 = torch.ConvOpts{Padding: [2]int64{1, 1}}

// prep brings a batch to featSide x featSide.
func (n *Net) prep(x *torch.Tensor) *torch.Tensor {
	switch {
	case n.Res > featSide && n.Res%featSide == 0:
		f := int64(n.Res / featSide)
		return torch.AvgPool2d(x, f, f)
	case n.Res != featSide:
		return torch.Interpolate(x, featSide, featSide, torch.Bilinear)
	}
	return x
}

// embed is the encoder: a [N, C, Res, Res] batch to [N, FeatureDim].
func (n *Net) embed(x *torch.Tensor) *torch.Tensor {
	h := n.prep(x)
	for _, l := range []string{"enc.conv1", "enc.conv2", "enc.conv3"} {
		h = torch.Conv2d(h, n.p(l+".weight"), n.p(l+".bias"), pad1).LeakyReLU(0.2)
		h = torch.AvgPool2d(h, 2, 2)
	}
	h = h.Reshape(h.Size(0), -1)
	z := torch.Linear(h, n.p("enc.fc.weight"), n.p("enc.fc.bias"))
	if n.Kind == KindClassifier {
		z = z.LeakyReLU(0.2)
	}
	return z
}

// logits is the classifier head over embed.
func (n *Net) logits(x *torch.Tensor) *torch.Tensor {
	return torch.Linear(n.embed(x), n.p("head.weight"), n.p("head.bias"))
}

// decode maps bottleneck codes back to featSide x featSide images.
func (n *Net) decode(z *torch.Tensor) *torch.Tensor {
	h := torch.Linear(z, n.p("dec.fc.weight"), n.p("dec.fc.bias")).LeakyReLU(0.2).Reshape(z.Size(0), 64, 4, 4)
	for i, l := range []string{"dec.conv1", "dec.conv2", "dec.conv3"} {
		s := h.Size(2) * 2
		h = torch.Conv2d(torch.Interpolate(h, s, s, torch.Nearest), n.p(l+".weight"), n.p(l+".bias"), pad1)
		if i < 2 {
			h = h.LeakyReLU(0.2)
		}
	}
	return h
}

// crossEntropy is the mean of -log softmax(logits)[label].
func crossEntropy(logits, onehot *torch.Tensor) *torch.Tensor {
	m := logits.Amax([]int64{1}, true).Detach()
	lse := logits.Sub(m).Exp().Sum([]int64{1}, true).Log().Add(m)
	return lse.Sub(logits).Mul(onehot).Sum([]int64{1}, false).MeanAll()
}

func oneHot(labels []int, k int) *torch.Tensor {
	v := make([]float32, len(labels)*k)
	for i, l := range labels {
		v[i*k+l] = 1
	}
	return torch.FromFloat32(v, int64(len(labels)), int64(k))
}

// TrainConfig tunes the feature net's and the utility classifiers' training.
type TrainConfig struct {
	Steps     int     // Adam steps (default 400)
	BatchSize int     // images per step (default 32)
	LR        float64 // Adam learning rate (default 1e-3)
	Seed      uint64  // weights and batch order
	HFlip     bool    // random horizontal flips of training batches
}

func (c TrainConfig) withDefaults() TrainConfig {
	if c.Steps <= 0 {
		c.Steps = 400
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 32
	}
	if c.LR <= 0 {
		c.LR = 1e-3
	}
	return c
}

// TrainNet trains a classifier over classes on imgs (which must carry labels) or, with
// classes == nil, an autoencoder. The result depends only on imgs, classes and cfg.
func TrainNet(imgs Images, classes []string, cfg TrainConfig, progress func(step, steps int)) (*Net, error) {
	cfg = cfg.withDefaults()
	if err := imgs.Check(); err != nil {
		return nil, err
	}
	if imgs.H != imgs.W {
		return nil, fmt.Errorf("eval: feature net needs square images, not %dx%d", imgs.H, imgs.W)
	}
	kind := KindAutoencoder
	if classes != nil {
		kind = KindClassifier
		if imgs.Labels == nil {
			return nil, fmt.Errorf("eval: classifier training images carry no labels")
		}
		if len(classes) < 2 {
			return nil, fmt.Errorf("eval: a classifier needs at least 2 classes, got %d", len(classes))
		}
	}
	n, err := newNet(kind, classes, imgs.H, imgs.C, cfg.Seed)
	if err != nil {
		return nil, err
	}
	r := newRNG(cfg.Seed, streamFeatureTrain, 0)
	bs := min(cfg.BatchSize, imgs.N)
	var order []int
	var losses []float64
	err = torch.Try(func() {
		opt := torch.NewAdam(n.list(), torch.AdamConfig{LR: cfg.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
		defer opt.Free()
		d := imgs.Dim()
		buf := make([]float32, bs*d)
		labels := make([]int, bs)
		for step := 0; step < cfg.Steps; step++ {
			for i := 0; i < bs; i++ {
				if len(order) == 0 {
					order = r.Perm(imgs.N)
				}
				j := order[0]
				order = order[1:]
				copyImage(buf[i*d:(i+1)*d], imgs.At(j), imgs.C, imgs.H, imgs.W, cfg.HFlip && r.IntN(2) == 1)
				if imgs.Labels != nil {
					labels[i] = imgs.Labels[j]
				}
			}
			torch.WithScope(func() {
				x := torch.FromFloat32(buf, int64(bs), int64(imgs.C), int64(imgs.H), int64(imgs.W))
				var loss *torch.Tensor
				if kind == KindClassifier {
					loss = crossEntropy(n.logits(x), oneHot(labels, len(classes)))
				} else {
					loss = n.decode(n.embed(x)).Sub(n.prep(x)).Square().MeanAll()
				}
				opt.ZeroGrad()
				loss.Backward()
				opt.Step()
				losses = append(losses, loss.Item())
			})
			if progress != nil {
				progress(step+1, cfg.Steps)
			}
		}
		torch.ZeroGrad(n.list()...)
	})
	if err != nil {
		n.Free()
		return nil, err
	}
	n.Steps = cfg.Steps
	tail := losses[len(losses)-max(1, len(losses)/10):]
	for _, v := range tail {
		n.Loss += v / float64(len(tail))
	}
	if math.IsNaN(n.Loss) || math.IsInf(n.Loss, 0) {
		n.Free()
		return nil, fmt.Errorf("eval: feature net training diverged (loss %v)", n.Loss)
	}
	return n, nil
}

// copyImage copies one CHW image, mirrored left-right when flip.
func copyImage(dst, src []float32, c, h, w int, flip bool) {
	if !flip {
		copy(dst, src)
		return
	}
	for p := 0; p < c*h; p++ {
		s, d := src[p*w:(p+1)*w], dst[p*w:(p+1)*w]
		for x := range d {
			d[x] = s[w-1-x]
		}
	}
}

// forEachBatch runs fn under NoGrad on batches of up to 256 images of imgs, in order.
func (n *Net) forEachBatch(imgs Images, fn func(x *torch.Tensor, start, count int)) error {
	if imgs.C != n.Ch || imgs.H != n.Res || imgs.W != n.Res {
		return fmt.Errorf("eval: feature net takes %dx%dx%d images, got %dx%dx%d", n.Ch, n.Res, n.Res, imgs.C, imgs.H, imgs.W)
	}
	return torch.Try(func() {
		torch.NoGrad(func() {
			const block = 256
			for s := 0; s < imgs.N; s += block {
				c := min(block, imgs.N-s)
				torch.WithScope(func() {
					x := torch.FromFloat32(imgs.Pix[s*imgs.Dim():(s+c)*imgs.Dim()], int64(c), int64(imgs.C), int64(imgs.H), int64(imgs.W))
					fn(x, s, c)
				})
			}
		})
	})
}

// Embed maps images to domain features.
func (n *Net) Embed(imgs Images) (Features, error) {
	out := Features{N: imgs.N, D: FeatureDim, X: make([]float32, 0, imgs.N*FeatureDim)}
	err := n.forEachBatch(imgs, func(x *torch.Tensor, _, _ int) {
		out.X = append(out.X, n.embed(x).Float32s()...)
	})
	return out, err
}

// Predict returns the classifier's class probabilities, one row of len(Classes) per image.
func (n *Net) Predict(imgs Images) ([][]float64, error) {
	if n.Kind != KindClassifier {
		return nil, fmt.Errorf("eval: an autoencoder does not classify")
	}
	var out [][]float64
	err := n.forEachBatch(imgs, func(x *torch.Tensor, _, c int) {
		l := n.logits(x)
		m := l.Amax([]int64{1}, true)
		e := l.Sub(m).Exp()
		p := e.Div(e.Sum([]int64{1}, true)).Float32s()
		k := len(n.Classes)
		for i := 0; i < c; i++ {
			row := make([]float64, k)
			for j := range row {
				row[j] = float64(p[i*k+j])
			}
			out = append(out, row)
		}
	})
	return out, err
}
