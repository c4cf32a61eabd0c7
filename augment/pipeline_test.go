package augment

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"sgan/model"
	"sgan/torch"
)

// with returns Identity() changed by set.
func with(set func(q *Params)) Params {
	q := Identity()
	set(&q)
	return q
}

// repeat is n copies of q.
func repeat(q Params, n int) []Params {
	ps := make([]Params, n)
	for i := range ps {
		ps[i] = q
	}
	return ps
}

// p = 0 returns the input tensor itself and draws nothing.
func TestZeroProbabilityIsIdentity(t *testing.T) {
	torch.WithScope(func() {
		x := randImages(1, 4, 1, 8, 8)
		for _, p := range []float64{0, -1} {
			src := &countingSource{r: rand.New(rand.NewPCG(1, 1))}
			if y := gray(t).Apply(x, p, src, model.Rows{}); y != x || src.n != 0 {
				t.Errorf("p = %g: got a new tensor (%v) or drew %d numbers", p, y != x, src.n)
			}
		}
	})
}

// Samples whose transforms are the identity come through bit-exact while others in the batch are
// warped and recoloured.
func TestIdentityRowsPassThrough(t *testing.T) {
	torch.WithScope(func() {
		x := randImages(2, 3, 1, 10, 12)
		ps := []Params{with(func(q *Params) { q.Scale, q.Bright = 1.2, 0.1 }), Identity(), with(func(q *Params) { q.XFlip = true })}
		y := gray(t).ApplyParams(x, ps, model.Rows{})
		a, b := x.Narrow(0, 1, 1).Float32s(), y.Narrow(0, 1, 1).Float32s()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("identity row changed at %d: %g -> %g", i, a[i], b[i])
			}
		}
		if relErr(t, "row 0", y.Narrow(0, 0, 1), x.Narrow(0, 0, 1)) < 1e-2 {
			t.Error("row 0 was not transformed")
		}
	})
}

// The warp with the identity matrix reproduces its input up to rounding (the Symlet filter is
// orthogonal, the grid hits pixel centres): skipping it for identity samples changes nothing.
func TestIdentityWarp(t *testing.T) {
	torch.WithScope(func() {
		for _, dt := range []struct {
			name string
			x    *torch.Tensor
			tol  float64
		}{
			{"float32", randImages(3, 2, 3, 9, 14), 5e-6},
			{"float64", randImages(3, 2, 3, 9, 14).ToDType(torch.Float64), 1e-11},
		} {
			gs := []Mat3{eye3(), eye3()}
			checkRel(t, dt.name+" identity warp", warp(dt.x, gs, Margin(gs, 9, 14)), dt.x, dt.tol)
		}
	})
}

// Blits. Integer translation moves every pixel by exactly the drawn amount: the resampling is
// shift-invariant, so it is exact up to rounding, on any image. x-flips and quarter turns go
// through the same warp in NVlabs' pipeline, and there they are not exact permutations: sym6 is not
// symmetric (its centroid is at tap 5.10, not 5.5), so mirroring the grid against an unmirrored
// filter shifts the result by about 0.1 pixel and softens the highest frequencies. NVlabs'
// AugmentPipe does exactly that (0.098 px on smooth images, 17% relative error against
// x.flip(3) on white noise; testdata/nvlabs/gray_xflip and gray_rotate90 check that sgan
// reproduces it), so on a smooth image they match the exact permutations to within that shift,
// and the wrong direction misses by far more.
func TestBlits(t *testing.T) {
	torch.WithScope(func() {
		p := gray(t)
		const tol = 0.03 // relative; the 0.1 px shift on this image
		x := torch.Cat([]*torch.Tensor{smoothImage(40, 40), smoothImage(40, 40).Flip(2)}, 0)
		flip := repeat(with(func(q *Params) { q.XFlip = true }), 2)
		rot := repeat(with(func(q *Params) { q.Rot90 = 1 }), 2)
		once := func(ps []Params) *torch.Tensor { return p.ApplyParams(x, ps, model.Rows{}) }
		checkRel(t, "xflip = flip(3)", once(flip), x.Flip(3), tol)
		checkRel(t, "xflip twice", p.ApplyParams(once(flip), flip, model.Rows{}), x, tol)
		// G_inv = [[0, -1], [1, 0]]: output (X, Y) shows input (-Y, X), i.e. out[i][j] = x[j][W-1-i].
		checkRel(t, "rot90 = transpose, flip rows", once(rot), x.Transpose(2, 3).Flip(2), tol)
		y := x
		for range 4 {
			y = p.ApplyParams(y, rot, model.Rows{})
		}
		checkRel(t, "rot90 four times", y, x, tol)
		for _, wrong := range []struct {
			name string
			got  *torch.Tensor
			want *torch.Tensor
		}{
			{"xflip against flip(2)", once(flip), x.Flip(2)},
			{"rot90 against the other turn", once(rot), x.Transpose(2, 3).Flip(3)},
		} {
			if e := relErr(t, wrong.name, wrong.got, wrong.want); e < 10*tol {
				t.Errorf("%s: relative error only %.3g: the tolerance cannot tell directions apart", wrong.name, e)
			}
		}

		// Integer translation by (+3, -2) of white noise: out[i][j] = x[i+2][j-3] wherever that exists.
		noise := randImages(4, 2, 1, 16, 16).ToDType(torch.Float64)
		sh := p.ApplyParams(noise, repeat(with(func(q *Params) { q.XInt = [2]float64{3, -2} }), 2), model.Rows{})
		checkRel(t, "xint (3, -2)", sh.Narrow(2, 0, 14).Narrow(3, 3, 13), noise.Narrow(2, 2, 14).Narrow(3, 0, 13), 1e-11)
	})
}

// A smooth image scaled, rotated, stretched, shifted and blitted equals the analytic image at the
// transformed coordinates, away from the borders (where the reflection padding is not the
// analytic continuation). The residual is bilinear interpolation error at twice the resolution and
// the sub-pixel shift of NVlabs' asymmetric filter under mirroring and rotation (see TestBlits);
// a wrong direction, centre or scale errs by O(1).
func TestSmoothWarpMatchesAnalytic(t *testing.T) {
	torch.WithScope(func() {
		const h, w = 48, 44
		x := smoothImage(h, w)
		cx, cy := float64(w-1)/2, float64(h-1)/2
		for _, q := range []Params{
			with(func(q *Params) { q.Scale = 1.3 }),
			with(func(q *Params) { q.Scale = 0.8 }),
			with(func(q *Params) { q.RotPre = 0.4 }),
			with(func(q *Params) { q.RotPre, q.Aniso, q.RotPost = -1.1, 1.25, 2.5 }),
			with(func(q *Params) { q.XFrac = [2]float64{1.7, -2.3} }),
			with(func(q *Params) { q.XFlip, q.Rot90, q.XInt, q.Scale, q.RotPre = true, 3, [2]float64{2, 1}, 1.1, 0.3 }),
		} {
			y := gray(t).ApplyParams(x, []Params{q}, model.Rows{}).Float64s()
			g := q.Geometry()
			worst, n := 0.0, 0
			for i := range int64(h) {
				for j := range int64(w) {
					sx, sy := g.Apply(float64(j)-cx, float64(i)-cy)
					if math.Abs(sx) > cx-4 || math.Abs(sy) > cy-4 {
						continue
					}
					worst = max(worst, math.Abs(y[i*w+j]-smooth(sx, sy)))
					n++
				}
			}
			if worst > 0.03 || n < 200 {
				t.Errorf("%v: max error %.2g over %d interior pixels, want <= 0.03", q, worst, n)
			}
			t.Logf("%v: max error %.2g", q, worst)
		}
	})
}

// The whole geometric path for fixed matrices against the same steps written with plain PyTorch
// ops (reflection padding, zero insertion and convolution for the upsampling, affine_grid and
// grid_sample, convolution and striding for the downsampling), in float64: values and the gradient
// within 1e-10.
func TestGeometricPathMatchesPyTorch(t *testing.T) {
	torch.WithScope(func() {
		const n, c, h, w = 3, 2, 12, 16
		ps := []Params{
			with(func(q *Params) { q.Scale, q.RotPre, q.XFrac = 0.7, 0.5, [2]float64{1.3, -0.4} }),
			with(func(q *Params) { q.XFlip, q.Rot90, q.Aniso, q.RotPost = true, 1, 1.4, -2 }),
			with(func(q *Params) { q.XInt = [2]float64{-2, 3} }),
		}
		gs := make([]float64, 0, 9*n)
		for _, q := range ps {
			g := q.Geometry()
			for i := range 3 {
				gs = append(gs, g[i][:]...)
			}
		}
		p, err := New(Config{}, c)
		if err != nil {
			t.Fatal(err)
		}
		x := randImages(5, n, c, h, w).ToDType(torch.Float64)
		wt := randImages(6, n, c, h, w).ToDType(torch.Float64)
		xg := x.Detach().SetRequiresGrad(true)
		y := p.ApplyParams(xg, ps, model.Rows{})
		gx := torch.Grad([]*torch.Tensor{y.Mul(wt).SumAll()}, []*torch.Tensor{xg}, torch.GradOpts{})[0]
		ref := runPython(t, map[string]*torch.Tensor{"x": x, "w": wt, "G": torch.FromFloat64(gs, n, 3, 3),
			"f": torch.FromFloat64(sym6[:], int64(len(sym6)))}, pyGeometric)
		checkRel(t, "warped images", y, ref.Tensors["y"], 1e-10)
		checkRel(t, "gradient", gx, ref.Tensors["gx"], 1e-10)
	})
}

// pyGeometric is NVlabs' geometric augmentation for given inverse matrices G, in plain PyTorch.
const pyGeometric = `
f64 = torch.float64
x = inp['x'].clone().requires_grad_(True)
G = inp['G']
f = inp['f'] / inp['f'].sum()
N, C, H, W = x.shape
cx, cy = (W - 1) / 2, (H - 1) / 2
corners = torch.tensor([[-cx, -cy, 1], [cx, -cy, 1], [cx, cy, 1], [-cx, cy, 1]], dtype=f64)
q = (G @ corners.t())[:, :2, :].permute(1, 0, 2).flatten(1)
m = torch.cat([-q, q]).max(dim=1).values + torch.tensor([6 - cx, 6 - cy] * 2, dtype=f64)
m = m.clamp(min=0).minimum(torch.tensor([W - 1, H - 1] * 2, dtype=f64)).ceil().long().tolist()
mx0, my0, mx1, my1 = m
xp = F.pad(x, [mx0, mx1, my0, my1], mode='reflect')
Hp, Wp = xp.shape[2], xp.shape[3]
u = torch.zeros(N, C, 2 * Hp, 2 * Wp, dtype=f64)
u[:, :, ::2, ::2] = xp
u = F.pad(u, [6, 5, 6, 5]).reshape(N * C, 1, 2 * Hp + 11, 2 * Wp + 11)
k = f.flip(0) * 2
u = F.conv2d(F.conv2d(u, k.reshape(1, 1, 1, -1)), k.reshape(1, 1, -1, 1)).reshape(N, C, 2 * Hp, 2 * Wp)
T = lambda tx, ty: torch.tensor([[1, 0, tx], [0, 1, ty], [0, 0, 1]], dtype=f64)
S = lambda sx, sy: torch.tensor([[sx, 0, 0], [0, sy, 0], [0, 0, 1]], dtype=f64)
Ho, Wo = (H + 6) * 2, (W + 6) * 2
Gp = T((mx0 - mx1) / 2, (my0 - my1) / 2) @ G
Gp = S(2, 2) @ Gp @ S(0.5, 0.5)
Gp = T(-0.5, -0.5) @ Gp @ T(0.5, 0.5)
Gp = S(2 / (2 * Wp), 2 / (2 * Hp)) @ Gp @ S(Wo / 2, Ho / 2)
grid = F.affine_grid(Gp[:, :2, :], [N, C, Ho, Wo], align_corners=False)
y = F.grid_sample(u, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
y = y[:, :, 1:-1, 1:-1].reshape(N * C, 1, Ho - 2, Wo - 2)
y = F.conv2d(F.conv2d(y, f.reshape(1, 1, 1, -1)), f.reshape(1, 1, -1, 1))[:, :, ::2, ::2].reshape(N, C, H, W)
gx, = torch.autograd.grad((y * inp['w']).sum(), x)
out.update(y=y.detach(), gx=gx)
`

// Colour transforms on tensors: brightness adds its offset (the mean moves by it), contrast scales
// every value (mean and deviation alike), the gray luma flip negates; on RGB the luma flip negates
// the channel mean and keeps the chroma, saturation scales the chroma and keeps the mean.
func TestColorTransforms(t *testing.T) {
	torch.WithScope(func() {
		x := randImages(7, 2, 1, 6, 5).ToDType(torch.Float64)
		p := gray(t)
		for _, tc := range []struct {
			name string
			q    Params
			want *torch.Tensor
		}{
			{"brightness", with(func(q *Params) { q.Bright = -0.37 }), x.AddS(-0.37)},
			{"contrast", with(func(q *Params) { q.Contrast = 1.9 }), x.MulS(1.9)},
			{"brightness, contrast", with(func(q *Params) { q.Bright, q.Contrast = 0.2, 0.5 }), x.AddS(0.2).MulS(0.5)},
			{"lumaflip", with(func(q *Params) { q.LumaFlip = true }), x.Neg()},
			{"hue and saturation on gray", with(func(q *Params) { q.Hue, q.Sat = 1, 3 }), x},
		} {
			checkRel(t, tc.name, p.ApplyParams(x, repeat(tc.q, 2), model.Rows{}), tc.want, 1e-14)
		}
		y := p.ApplyParams(x, repeat(with(func(q *Params) { q.Bright = 0.25 }), 2), model.Rows{})
		if d := y.MeanAll().Item() - x.MeanAll().Item(); math.Abs(d-0.25) > 1e-12 {
			t.Errorf("brightness 0.25 moved the mean by %g", d)
		}

		rgb := randImages(8, 2, 3, 4, 4).ToDType(torch.Float64)
		pc, err := New(BGC(), 3)
		if err != nil {
			t.Fatal(err)
		}
		mean := func(v *torch.Tensor) *torch.Tensor { return v.Mean([]int64{1}, true) }
		flip := pc.ApplyParams(rgb, repeat(with(func(q *Params) { q.LumaFlip = true }), 2), model.Rows{})
		checkRel(t, "rgb lumaflip: mean", mean(flip), mean(rgb).Neg(), 1e-14)
		checkRel(t, "rgb lumaflip: chroma", flip.Sub(mean(flip)), rgb.Sub(mean(rgb)), 1e-14)
		sat := pc.ApplyParams(rgb, repeat(with(func(q *Params) { q.Sat = 0.3 }), 2), model.Rows{})
		checkRel(t, "rgb saturation: mean", mean(sat), mean(rgb), 1e-14)
		checkRel(t, "rgb saturation: chroma", sat.Sub(mean(sat)), rgb.Sub(mean(rgb)).MulS(0.3), 1e-14)
	})
}

// The same (seed, step, call) gives the same images, another seed others, and the rows 3..6 of a
// batch of 8 augmented alone (as a data-parallel rank does) equal those rows of the whole batch.
func TestDeterminismAndRows(t *testing.T) {
	torch.WithScope(func() {
		const n = 8
		x := randImages(9, n, 1, 16, 16)
		p := gray(t)
		run := func(x *torch.Tensor, seed uint64, rows model.Rows) []float32 {
			return p.Apply(x, 0.6, rand.New(rand.NewPCG(seed, 11)), rows).Float32s()
		}
		full, again, other := run(x, 1, model.Rows{}), run(x, 1, model.Rows{}), run(x, 2, model.Rows{})
		same, differ := true, false
		for i := range full {
			same = same && full[i] == again[i]
			differ = differ || full[i] != other[i]
		}
		if !same || !differ {
			t.Errorf("same seed equal: %v, other seed differs: %v (want both)", same, differ)
		}
		px := len(full) / n
		part := run(x.Narrow(0, 3, 4), 1, model.Rows{Offset: 3, Total: n})
		worst := 0.0
		for i := range part {
			worst = max(worst, math.Abs(float64(part[i]-full[3*px+i])))
		}
		if worst > 1e-6 {
			t.Errorf("rows 3..6 augmented alone differ from the whole batch's by %g", worst)
		}
		t.Logf("rows 3..6 alone vs the whole batch: max difference %g", worst)
	})
}

// Mismatched rows or channels are programmer errors: a *torch.Error naming the sizes.
func TestApplyParamsChecks(t *testing.T) {
	torch.WithScope(func() {
		x := randImages(1, 2, 1, 8, 8)
		p := gray(t)
		for _, tc := range []struct {
			name string
			ps   []Params
			rows model.Rows
		}{
			{"too few params", repeat(Identity(), 1), model.Rows{}},
			{"rows past the batch", repeat(Identity(), 3), model.Rows{Offset: 2, Total: 3}},
		} {
			err := torch.Try(func() { p.ApplyParams(x, tc.ps, tc.rows) })
			if err == nil || !strings.Contains(err.Error(), "augment") {
				t.Errorf("%s: error %v", tc.name, err)
			}
		}
		if err := torch.Try(func() { p.ApplyParams(randImages(1, 1, 3, 8, 8), repeat(Identity(), 1), model.Rows{}) }); err == nil {
			t.Error("an RGB batch through a gray pipeline was accepted")
		}
		if err := torch.Try(func() {
			p.Apply(torch.Zeros([]int64{4, 8}, torch.Options{}), 0.5, rand.New(rand.NewPCG(1, 1)), model.Rows{})
		}); err == nil {
			t.Error("a 2-D tensor was accepted")
		}
	})
}

// Second derivatives with respect to the images (what R1 on augmented reals needs) against central
// finite differences of the first derivative, in float64: for f(x) = sum(w * tanh(aug(x))),
// d/dx <df/dx, v> = (df/dx(x + eps v) - df/dx(x - eps v)) / (2 eps) + O(eps^2).
func TestSecondOrderFiniteDifferences(t *testing.T) {
	torch.WithScope(func() {
		const n, h, w = 2, 12, 10
		ps := []Params{
			with(func(q *Params) { q.Scale, q.RotPre, q.Bright, q.Contrast = 1.2, 0.7, 0.1, 1.3 }),
			with(func(q *Params) { q.XFlip, q.Aniso, q.XFrac, q.LumaFlip = true, 0.8, [2]float64{0.6, -1.1}, true }),
		}
		p := gray(t)
		x := randImages(10, n, 1, h, w).ToDType(torch.Float64)
		wt := randImages(11, n, 1, h, w).ToDType(torch.Float64)
		v := randImages(12, n, 1, h, w).ToDType(torch.Float64)
		grad := func(x *torch.Tensor, create bool) (*torch.Tensor, *torch.Tensor) {
			xg := x.Detach().SetRequiresGrad(true)
			f := p.ApplyParams(xg, ps, model.Rows{}).Tanh().Mul(wt).SumAll()
			return torch.Grad([]*torch.Tensor{f}, []*torch.Tensor{xg}, torch.GradOpts{CreateGraph: create})[0], xg
		}
		g, xg := grad(x, true)
		hv := torch.Grad([]*torch.Tensor{g.Mul(v).SumAll()}, []*torch.Tensor{xg}, torch.GradOpts{})[0]
		const eps = 1e-4
		gp, _ := grad(x.Add(v.MulS(eps)), false)
		gm, _ := grad(x.Sub(v.MulS(eps)), false)
		fd := gp.Sub(gm).DivS(2 * eps)
		checkRel(t, "Hessian-vector product", hv, fd, 1e-6)
		if s := hv.Abs().SumAll().Item(); !(s > 1) {
			t.Errorf("Hessian-vector product is negligible (sum |hv| = %g): the test would not see a missing term", s)
		}
	})
}
