package eval

import (
	"math"
	"sync"
	"testing"

	"sgan/data"
)

// The fixture: the embedded demo data at 32x32 (402 train, 40 test slices), and the feature
// net trained on its train split (an autoencoder: the demo data has one class).
const fixRes = 32

var fix struct {
	once        sync.Once
	train, test Images
	net         *Net
	err         error
}

var fixTrain = TrainConfig{Steps: 60, Seed: 1}

func fixture(t *testing.T) (train, test Images, net *Net) {
	t.Helper()
	fix.once.Do(func() {
		var ds data.Dataset
		if ds, fix.err = data.Open("", "train"); fix.err != nil {
			return
		}
		if fix.train, fix.err = LoadImages(ds, fixRes, 1, 0, 0); fix.err != nil {
			return
		}
		if ds, fix.err = data.Open("", "test"); fix.err != nil {
			return
		}
		if fix.test, fix.err = LoadImages(ds, fixRes, 1, 0, 0); fix.err != nil {
			return
		}
		fix.net, fix.err = TrainNet(fix.train, nil, fixTrain, nil)
	})
	if fix.err != nil {
		t.Fatal(fix.err)
	}
	return fix.train, fix.test, fix.net
}

// blurred is b with each image blurred by k passes of the 5-tap binomial filter.
func blurred(b Images, k int) Images {
	out := b
	out.Pix = append([]float32(nil), b.Pix...)
	for i := 0; i < b.N; i++ {
		img := out.At(i)
		for p := 0; p < k; p++ {
			copy(img, blur5(img, b.C, b.H, b.W, 1))
		}
	}
	return out
}

// shifted is b moved right and down by s pixels, the uncovered border black (-1).
func shifted(b Images, s int) Images {
	out := b
	out.Pix = make([]float32, len(b.Pix))
	for i := 0; i < b.N; i++ {
		src, dst := b.At(i), out.At(i)
		for c := 0; c < b.C; c++ {
			for y := 0; y < b.H; y++ {
				for x := 0; x < b.W; x++ {
					v := float32(-1)
					if y-s >= 0 && x-s >= 0 {
						v = src[(c*b.H+y-s)*b.W+x-s]
					}
					dst[(c*b.H+y)*b.W+x] = v
				}
			}
		}
	}
	return out
}

// noise is n images of uniform noise in [-1, 1].
func noise(n, c, h, w int, seed uint64) Images {
	r := newRNG(seed, 99, 0)
	out := Images{N: n, C: c, H: h, W: w, Pix: make([]float32, n*c*h*w)}
	for i := range out.Pix {
		out.Pix[i] = float32(r.Float64()*2 - 1)
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }
