package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"sgan/model"
	"sgan/run"
	"sgan/torch"
)

// augBatch is n random 2-channel h x w images, all pixels nonzero (so zeroed pixels are visible).
func augBatch(n, h, w int) []float32 {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([]float32, n*2*h*w)
	for i := range v {
		v[i] = float32(0.1 + r.Float64())
	}
	return v
}

func runAug(p run.DiffAugPolicy, x []float32, n, h, w int, seed uint64, rows span) []float32 {
	var out []float32
	torch.WithScope(func() {
		xt := torch.FromFloat32(x, int64(n), 2, int64(h), int64(w))
		out = diffAugment(p, xt, rand.New(rand.NewPCG(seed, 0)), rows).Float32s()
	})
	return out
}

func whole(n int) span { return span{Rows: model.Rows{Total: int64(n)}, n: int64(n)} }

// Each translated image is its input shifted by one (dy, dx) within 1/8 of the side, zero-filled,
// the same shift for both channels; the shifts vary across the batch.
func TestAugmentTranslation(t *testing.T) {
	const n, h, w = 12, 16, 24
	x := augBatch(n, h, w)
	out := runAug(run.DiffAugPolicy{Translation: true}, x, n, h, w, 7, whole(n))
	my, mx := 2, 3 // round(16/8), round(24/8)
	shifts := map[[2]int]bool{}
	for b := range n {
		found := false
		for dy := -my; dy <= my && !found; dy++ {
			for dx := -mx; dx <= mx && !found; dx++ {
				ok := true
				for c := 0; c < 2 && ok; c++ {
					for i := 0; i < h && ok; i++ {
						for j := 0; j < w && ok; j++ {
							var want float32
							if si, sj := i-dy, j-dx; si >= 0 && si < h && sj >= 0 && sj < w {
								want = x[((b*2+c)*h+si)*w+sj]
							}
							ok = math.Abs(float64(out[((b*2+c)*h+i)*w+j]-want)) < 1e-6
						}
					}
				}
				if ok {
					found = true
					shifts[[2]int{dy, dx}] = true
				}
			}
		}
		if !found {
			t.Fatalf("image %d is not a zero-filled shift of its input by at most (%d, %d)", b, my, mx)
		}
	}
	if len(shifts) < 4 {
		t.Errorf("only %d distinct shifts over %d images", len(shifts), n)
	}
}

// Cutout zeroes one square of at most half the side per image (the same in both channels) and
// leaves every other pixel as it was.
func TestAugmentCutout(t *testing.T) {
	const n, h, w = 10, 16, 16
	x := augBatch(n, h, w)
	out := runAug(run.DiffAugPolicy{Cutout: true}, x, n, h, w, 3, whole(n))
	total := 0
	for b := range n {
		zeros := 0
		for i := range h * w {
			a, c := out[(b*2)*h*w+i], out[(b*2+1)*h*w+i]
			if (a == 0) != (c == 0) {
				t.Fatalf("image %d: cutout differs between channels at pixel %d", b, i)
			}
			switch {
			case a == 0:
				zeros++
			case a != x[(b*2)*h*w+i] || c != x[(b*2+1)*h*w+i]:
				t.Fatalf("image %d: pixel %d changed outside the cutout", b, i)
			}
		}
		if zeros > 8*8 {
			t.Errorf("image %d: %d pixels cut, more than a %dx%d square", b, zeros, 8, 8)
		}
		total += zeros
	}
	if total == 0 {
		t.Error("cutout zeroed nothing")
	}
}

// Color maps each image affinely, x -> a*x + b with the contrast factor a in [0.5, 1.5], and
// differently across images.
func TestAugmentColorGray(t *testing.T) {
	const n, h, w = 6, 8, 8
	x := make([]float32, n*h*w)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range x {
		x[i] = float32(r.Float64()*2 - 1)
	}
	var out []float32
	torch.WithScope(func() {
		out = diffAugment(run.DiffAugPolicy{Color: true}, torch.FromFloat32(x, n, 1, h, w), rand.New(rand.NewPCG(9, 0)), whole(n)).Float32s()
	})
	as := map[float64]bool{}
	for b := range n {
		o := b * h * w
		a := float64(out[o+1]-out[o]) / float64(x[o+1]-x[o])
		if a < 0.5-1e-4 || a > 1.5+1e-4 {
			t.Errorf("image %d: contrast factor %g outside [0.5, 1.5]", b, a)
		}
		c := float64(out[o]) - a*float64(x[o])
		for i := range h * w {
			if d := math.Abs(float64(out[o+i]) - (a*float64(x[o+i]) + c)); d > 1e-4 {
				t.Fatalf("image %d is not an affine map of its input (pixel %d off by %g)", b, i, d)
			}
		}
		as[math.Round(a*1e3)] = true
	}
	if len(as) < n-1 {
		t.Errorf("contrast factors barely vary: %v", as)
	}
}

// A data-parallel rank augmenting its rows gets exactly those rows of the whole batch's result,
// the same seed gives the same result, and gradients reach the input through every transform.
func TestAugmentRowsSeedAndGradient(t *testing.T) {
	const n, h, w = 8, 16, 16
	all := run.DiffAugPolicy{Translation: true, Cutout: true, Color: true}
	x := augBatch(n, h, w)
	full := runAug(all, x, n, h, w, 11, whole(n))
	again := runAug(all, x, n, h, w, 11, whole(n))
	other := runAug(all, x, n, h, w, 12, whole(n))
	same, diff := true, false
	for i := range full {
		same = same && full[i] == again[i]
		diff = diff || full[i] != other[i]
	}
	if !same || !diff {
		t.Errorf("same seed equal: %v (want true); other seed differs: %v (want true)", same, diff)
	}
	px := 2 * h * w
	part := runAug(all, x[3*px:7*px], 4, h, w, 11, span{Rows: model.Rows{Offset: 3, Total: n}, n: 4})
	for i := range part {
		if math.Abs(float64(part[i]-full[3*px+i])) > 1e-5 {
			t.Fatalf("rows 3..6 augmented alone differ from the whole batch's at %d: %g vs %g", i, part[i], full[3*px+i])
		}
	}
	torch.WithScope(func() {
		xt := torch.FromFloat32(x, n, 2, h, w).SetRequiresGrad(true)
		y := diffAugment(run.DiffAugPolicy{Translation: true, Cutout: true}, xt, rand.New(rand.NewPCG(11, 0)), whole(n))
		g := torch.Grad([]*torch.Tensor{y.Square().SumAll()}, []*torch.Tensor{xt}, torch.GradOpts{})[0]
		// d/dx sum(T(x)^2) = T^T(2 T(x)): nonzero wherever a pixel survives the transforms.
		if s := g.Abs().SumAll().Item(); !(s > 0) {
			t.Errorf("no gradient through the augmentation (sum |grad| = %g)", s)
		}
		if d := g.Mul(xt).SumAll().Item() - 2*y.Square().SumAll().Item(); math.Abs(d) > 1e-2 {
			t.Errorf("<grad, x> = %g off 2*sum(T(x)^2) (T is linear): %g", g.Mul(xt).SumAll().Item(), d)
		}
	})
}
