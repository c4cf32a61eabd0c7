package augment

import (
	"math"
	"math/rand/v2"
	"testing"

	"sgan/model"
	"sgan/torch"
)

func newController(t *testing.T, target, kimg float64, interval int, p float64) *Controller {
	t.Helper()
	c, err := NewController(target, kimg, interval, p)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// With every real score positive (r_t = 1 > 0.6) each update raises p by batch*interval/(kimg*1000)
// (NVlabs' speed: 80/500000 for batch 20); with every score negative p falls by as much and stops
// at 0; at r_t = target it stays.
func TestControllerSteps(t *testing.T) {
	const batch = 20 // 0.6*20 signs sum exactly
	step := float64(batch*DefaultInterval) / (DefaultKimg * 1000)
	for _, tc := range []struct {
		name  string
		p0    float64
		sign  float64
		k     int
		wantP float64
	}{
		{"overfitting raises p", 0, 1, 10, 10 * step},
		{"not overfitting lowers p", 5 * step, -1, 3, 2 * step},
		{"p stops at 0", 5 * step, -1, 10, 0},
		{"at the target p stays", 0.3, 0.6, 5, 0.3}, // 80% positive scores: r_t = 0.6 exactly
	} {
		c := newController(t, DefaultTarget, DefaultKimg, DefaultInterval, tc.p0)
		for range tc.k {
			for range DefaultInterval {
				c.Observe(tc.sign*batch, batch)
			}
			c.Update(batch)
		}
		if math.Abs(c.P()-tc.wantP) > 1e-15 || c.P() < 0 {
			t.Errorf("%s: p = %.17g, want %.17g", tc.name, c.P(), tc.wantP)
		}
	}
	c := newController(t, DefaultTarget, DefaultKimg, DefaultInterval, 0.1)
	if rt := c.Update(batch); !math.IsNaN(rt) || c.P() != 0.1 {
		t.Errorf("update with nothing observed: r_t %g, p %g (want NaN, unchanged 0.1)", rt, c.P())
	}
	c.Observe(12, 16)
	if rt := c.Update(16); rt != 0.75 || c.RT() != 0.75 {
		t.Errorf("r_t = %g (RT %g), want 12/16", rt, c.RT())
	}
	var due []int64
	for s := range int64(10) {
		if c.Due(s) {
			due = append(due, s)
		}
	}
	if len(due) != 3 || due[0] != 0 || due[1] != 4 || due[2] != 8 {
		t.Errorf("due at steps %v, want [0 4 8]", due)
	}
}

func TestNewControllerValidates(t *testing.T) {
	for _, tc := range []struct {
		name         string
		target, kimg float64
		interval     int
		p            float64
		ok           bool
	}{
		{"nvlabs", 0.6, 500, 4, 0, true},
		{"fixed p above 1", 0.6, 500, 4, 1.5, true},
		{"target above 1", 1.2, 500, 4, 0, false},
		{"target NaN", math.NaN(), 500, 4, 0, false},
		{"zero kimg", 0.6, 0, 4, 0, false},
		{"zero interval", 0.6, 500, 0, 0, false},
		{"negative p", 0.6, 500, 4, -0.1, false},
	} {
		_, err := NewController(tc.target, tc.kimg, tc.interval, tc.p)
		if (err == nil) != tc.ok {
			t.Errorf("%s: error %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// A controller saved into a checkpoint archive in the middle of an accumulation and restored
// from the encoded bytes continues exactly as the uninterrupted one: same p, to the bit.
func TestControllerResumeExact(t *testing.T) {
	signs := rand.New(rand.NewPCG(4, 4))
	obs := make([]float64, 23)
	for i := range obs {
		obs[i] = float64(signs.IntN(25) - 8) // sums of 16 signs, biased towards +1
	}
	run := func(c *Controller, from, to int) {
		for s := from; s < to; s++ {
			c.Observe(obs[s], 16)
			if c.Due(int64(s)) {
				c.Update(16)
			}
		}
	}
	whole := newController(t, DefaultTarget, 0.1, DefaultInterval, 0.01)
	run(whole, 0, len(obs))

	first := newController(t, DefaultTarget, 0.1, DefaultInterval, 0.01)
	run(first, 0, 10) // stops two steps into an interval
	a := torch.NewArchive()
	first.Put(a, "ada")
	b, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := torch.UnmarshalArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Free()
	resumed := newController(t, DefaultTarget, 0.1, DefaultInterval, 0)
	if err := resumed.Get(back, "ada"); err != nil {
		t.Fatal(err)
	}
	if resumed.State() != first.State() {
		t.Fatalf("restored state %+v, saved %+v", resumed.State(), first.State())
	}
	run(resumed, 10, len(obs))
	if resumed.State() != whole.State() {
		t.Errorf("resumed run ends at %+v, uninterrupted at %+v", resumed.State(), whole.State())
	}
	if whole.P() == 0.01 || whole.State().Updates != 6 {
		t.Errorf("the run never moved p (%+v): the comparison proves nothing", whole.State())
	}
	if err := resumed.Get(torch.NewArchive(), "ada"); err == nil {
		t.Error("Get from an archive without ADA state succeeded")
	}
}

// ADA end to end on a critic that overfits: a linear critic learns to tell 8 fixed "real" images
// from fresh noise, so sign(D(real)) is soon +1 everywhere, r_t > 0.6, and p rises at the
// controller's speed until the augmentations hide the memorized images and r_t falls below the
// target, when p falls again. At every update p moves in the direction of r_t - 0.6. With reals as
// fresh as the fakes (nothing to memorize) r_t stays near 0 and p stays at 0.
func TestControllerOnOverfittingCritic(t *testing.T) {
	const n, h, w, steps, lr = 8, 16, 16, 64, 0.05
	// kimg 1.6: p moves by 8*4/1600 = 0.02 per update.
	const kimg, delta = 1.6, 0.02
	run := func(fixedReals bool) (ps, rts []float64) {
		pipe := gray(t)
		c := newController(t, DefaultTarget, kimg, DefaultInterval, 0)
		weight := torch.Zeros([]int64{1, 1, h, w}, torch.Options{}).Keep()
		defer weight.Free()
		weight.SetRequiresGrad(true)
		reals := randImages(100, n, 1, h, w).Keep()
		defer reals.Free()
		for step := range int64(steps) {
			torch.WithScope(func() {
				real := reals
				if !fixedReals {
					real = randImages(200+uint64(step), n, 1, h, w)
				}
				fake := randImages(300+uint64(step), n, 1, h, w)
				aug := func(x *torch.Tensor, call uint64) *torch.Tensor {
					return pipe.Apply(x, c.P(), rand.New(rand.NewPCG(9, uint64(step)*8+call)), model.Rows{})
				}
				score := func(x *torch.Tensor) *torch.Tensor { return x.Mul(weight).Sum([]int64{1, 2, 3}, false) }
				dReal, dFake := score(aug(real, 0)), score(aug(fake, 1))
				loss := dReal.Neg().Softplus().Add(dFake.Softplus()).MeanAll()
				g := torch.Grad([]*torch.Tensor{loss}, []*torch.Tensor{weight}, torch.GradOpts{})[0]
				torch.NoGrad(func() { weight.AddInPlace(g, -lr) })
				c.Observe(dReal.Sign().SumAll().Item(), n)
				if c.Due(step) {
					c.Update(n)
					ps, rts = append(ps, c.P()), append(rts, c.RT())
				}
			})
		}
		return ps, rts
	}
	ps, rts := run(true)
	t.Logf("overfitting critic: p %.3v\n r_t %.3v", ps, rts)
	rises := 0
	for k := 1; k < len(ps); k++ {
		want := ps[k-1] - delta
		if rts[k] > DefaultTarget {
			want = ps[k-1] + delta
			rises++
		}
		if math.Abs(ps[k]-max(want, 0)) > 1e-12 {
			t.Errorf("update %d: r_t %g moved p from %g to %g, want %g", k, rts[k], ps[k-1], ps[k], max(want, 0))
		}
	}
	if rises < 3 || ps[len(ps)-1] <= 0 {
		t.Errorf("overfitting critic: p rose %d times and ends at %g; want >= 3 rises and p > 0 at the end", rises, ps[len(ps)-1])
	}
	ps, rts = run(false)
	t.Logf("critic with nothing to memorize: p %.3v\n r_t %.3v", ps, rts)
	for i := range ps {
		if ps[i] != 0 || rts[i] > DefaultTarget {
			t.Errorf("critic with nothing to memorize: p %v, r_t %v; want p = 0 throughout", ps, rts)
			break
		}
	}
}
