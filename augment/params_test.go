package augment

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The Symlet-6 taps are orthogonal to their even shifts and sum to sqrt(2): the properties that
// make downsampling undo upsampling. A mistyped tap breaks both.
func TestSym6Orthogonal(t *testing.T) {
	sum := 0.0
	for _, v := range sym6 {
		sum += v
	}
	if math.Abs(sum-math.Sqrt2) > 1e-12 {
		t.Errorf("taps sum to %.15g, want sqrt(2)", sum)
	}
	for j := 0; j < len(sym6)/2; j++ {
		dot := 0.0
		for k := 0; k+2*j < len(sym6); k++ {
			dot += sym6[k] * sym6[k+2*j]
		}
		want := 0.0
		if j == 0 {
			want = 1
		}
		if math.Abs(dot-want) > 1e-12 {
			t.Errorf("sum h[k] h[k+%d] = %.3g, want %g", 2*j, dot, want)
		}
	}
}

// Each factor of Geometry maps pixels as NVlabs' inverse matrices do (checked on points), and no
// transform is exactly the identity matrix, which is what lets identity samples skip the warp.
func TestGeometry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		q      Params
		in     [2]float64 // an output pixel
		wantIn [2]float64 // the input pixel it shows
	}{
		{"identity", Identity(), [2]float64{3, -2}, [2]float64{3, -2}},
		{"xflip", Params{XFlip: true, Scale: 1, Aniso: 1, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{-3, -2}},
		{"rot90", Params{Rot90: 1, Scale: 1, Aniso: 1, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{2, 3}},
		{"rot180", Params{Rot90: 2, Scale: 1, Aniso: 1, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{-3, 2}},
		{"xint", Params{XInt: [2]float64{4, -1}, Scale: 1, Aniso: 1, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{-1, -1}},
		{"scale", Params{Scale: 2, Aniso: 1, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{1.5, -1}},
		{"aniso", Params{Scale: 1, Aniso: 2, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{1.5, -4}},
		{"rotate", Params{Scale: 1, RotPre: math.Pi / 2, Aniso: 1, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{2, 3}},
		{"xfrac", Params{Scale: 1, Aniso: 1, XFrac: [2]float64{0.5, 0.25}, Contrast: 1, Sat: 1}, [2]float64{3, -2}, [2]float64{2.5, -2.25}},
		// Composition order: G_inv = flip @ translate, so the output pixel is translated first.
		{"xflip then xint", Params{XFlip: true, XInt: [2]float64{1, 0}, Scale: 1, Aniso: 1, Contrast: 1, Sat: 1},
			[2]float64{3, 0}, [2]float64{-2, 0}},
	} {
		g := tc.q.Geometry()
		x, y := g.Apply(tc.in[0], tc.in[1])
		if math.Abs(x-tc.wantIn[0]) > 1e-12 || math.Abs(y-tc.wantIn[1]) > 1e-12 {
			t.Errorf("%s: output pixel %v shows input (%g, %g), want %v", tc.name, tc.in, x, y, tc.wantIn)
		}
		if g.IsIdentity() != (tc.name == "identity") {
			t.Errorf("%s: IsIdentity = %v", tc.name, g.IsIdentity())
		}
	}
	// Four quarter turns compose to exactly the identity (exact matrix entries).
	q := Identity()
	q.Rot90 = 1
	if g := q.Geometry(); !g.Mul(g).Mul(g).Mul(g).IsIdentity() {
		t.Errorf("four quarter turns are not exactly the identity: %v", g.Mul(g).Mul(g).Mul(g))
	}
}

// Colour matrices and their gray reduction: brightness and contrast act alike on RGB and gray, the
// luma flip negates gray values, and hue and saturation leave gray unchanged.
func TestColorAndGray(t *testing.T) {
	id := Identity()
	for _, tc := range []struct {
		name  string
		set   func(q *Params)
		a, b  float64
		grayN bool // identity on gray
	}{
		{"identity", func(*Params) {}, 1, 0, true},
		{"brightness", func(q *Params) { q.Bright = 0.3 }, 1, 0.3, false},
		{"contrast", func(q *Params) { q.Contrast = 1.7 }, 1.7, 0, false},
		{"brightness then contrast", func(q *Params) { q.Bright, q.Contrast = 0.3, 2 }, 2, 0.6, false},
		{"lumaflip", func(q *Params) { q.LumaFlip = true }, -1, 0, false},
		{"lumaflip after brightness", func(q *Params) { q.Bright, q.LumaFlip = 0.3, true }, -1, -0.3, false},
		{"hue", func(q *Params) { q.Hue = 1.1 }, 1, 0, true},
		{"saturation", func(q *Params) { q.Sat = 0.3 }, 1, 0, true},
	} {
		q := id
		tc.set(&q)
		a, b := q.Color().Gray()
		if math.Abs(a-tc.a) > 1e-12 || math.Abs(b-tc.b) > 1e-12 {
			t.Errorf("%s: gray map %g*x + %g, want %g*x + %g", tc.name, a, b, tc.a, tc.b)
		}
	}
	// Hue rotates chroma around the gray axis by the angle, keeping luma; saturation scales chroma.
	rgb := [3]float64{0.9, -0.2, 0.1}
	apply := func(c Mat4) [3]float64 {
		var o [3]float64
		for i := range 3 {
			o[i] = c[i][0]*rgb[0] + c[i][1]*rgb[1] + c[i][2]*rgb[2] + c[i][3]
		}
		return o
	}
	chroma := func(v [3]float64) ([3]float64, float64) {
		m := (v[0] + v[1] + v[2]) / 3
		return [3]float64{v[0] - m, v[1] - m, v[2] - m}, m
	}
	c0, m0 := chroma(rgb)
	q := id
	q.Hue = 0.7
	c1, m1 := chroma(apply(q.Color()))
	dot, n0, n1 := 0.0, 0.0, 0.0
	for i := range 3 {
		dot += c0[i] * c1[i]
		n0 += c0[i] * c0[i]
		n1 += c1[i] * c1[i]
	}
	if math.Abs(m1-m0) > 1e-12 || math.Abs(n1-n0) > 1e-12 || math.Abs(math.Acos(dot/n0)-0.7) > 1e-9 {
		t.Errorf("hue 0.7: luma %g -> %g, |chroma|^2 %g -> %g, angle %g", m0, m1, n0, n1, math.Acos(dot/n0))
	}
	q = id
	q.Sat = 0.25
	c2, m2 := chroma(apply(q.Color()))
	for i := range 3 {
		if math.Abs(c2[i]-0.25*c0[i]) > 1e-12 || math.Abs(m2-m0) > 1e-12 {
			t.Errorf("saturation 0.25: chroma %v from %v, luma %g from %g", c2, c0, m2, m0)
			break
		}
	}
}

// Margin: 2*hzPad pixels of context for the identity, the farthest corner reach for others, clamped
// to [0, size-1], over the whole batch.
func TestMargin(t *testing.T) {
	id := Identity()
	shift := id
	shift.XFrac = [2]float64{2.5, -1}
	small := id
	small.Scale = 4 // zoom in: corners reach inwards
	big := id
	big.Scale = 0.1 // zoom out: corners reach far outside
	for _, tc := range []struct {
		name string
		ps   []Params
		want [4]int64
	}{
		{"identity", []Params{id}, [4]int64{6, 6, 6, 6}},
		{"shift", []Params{shift}, [4]int64{9, 5, 4, 7}},   // x' = x - 2.5, y' = y + 1
		{"zoom in", []Params{small}, [4]int64{0, 1, 0, 1}}, // y: 7.5/4 + 6 - 7.5 = 0.375
		{"zoom out clamps", []Params{big}, [4]int64{19, 15, 19, 15}},
		{"batch max", []Params{small, shift, id}, [4]int64{9, 6, 6, 7}},
	} {
		gs := make([]Mat3, len(tc.ps))
		for i, q := range tc.ps {
			gs[i] = q.Geometry()
		}
		if got := Margin(gs, 16, 20); got != tc.want {
			t.Errorf("%s: margin %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Draw's distributions and probabilities, from many samples: each transform is applied with
// probability multiplier * p (rotation: either of its two halves), with NVlabs' ranges and
// standard deviations. Bounds are 5 standard errors.
func TestDrawStatistics(t *testing.T) {
	const n = 20000
	gp, err := New(BGC(), 1)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := New(BGC(), 3)
	if err != nil {
		t.Fatal(err)
	}
	frac := func(ps []Params, f func(Params) bool) float64 {
		k := 0
		for _, q := range ps {
			if f(q) {
				k++
			}
		}
		return float64(k) / float64(len(ps))
	}
	// stdOf is the standard deviation of v(q) over the samples where on(q).
	stdOf := func(ps []Params, on func(Params) bool, v func(Params) float64) (float64, int) {
		var s, s2 float64
		k := 0
		for _, q := range ps {
			if on(q) {
				x := v(q)
				s += x
				s2 += x * x
				k++
			}
		}
		m := s / float64(k)
		return math.Sqrt(s2/float64(k) - m*m), k
	}
	near := func(name string, got, want, se float64) {
		t.Helper()
		if math.Abs(got-want) > 5*se {
			t.Errorf("%s = %.4f, want %.4f +- %.4f", name, got, want, 5*se)
		}
	}
	binom := func(q float64) float64 { return math.Sqrt(q * (1 - q) / n) }

	for _, p := range []float64{0.3, 1} {
		ps := gp.Draw(rand.New(rand.NewPCG(1, uint64(p*10))), n, p)
		// Flips and luma flips: applied with probability p, then a fair coin.
		near("xflip fraction", frac(ps, func(q Params) bool { return q.XFlip }), p/2, binom(p/2))
		near("lumaflip fraction", frac(ps, func(q Params) bool { return q.LumaFlip }), p/2, binom(p/2))
		for k := 1; k < 4; k++ {
			near("rot90 fraction", frac(ps, func(q Params) bool { return q.Rot90 == k }), p/4, binom(p/4))
		}
		near("xint applied", frac(ps, func(q Params) bool { return q.XInt != [2]float64{} }), p, binom(p))
		near("scale applied", frac(ps, func(q Params) bool { return q.Scale != 1 }), p, binom(p))
		near("aniso applied", frac(ps, func(q Params) bool { return q.Aniso != 1 }), p, binom(p))
		near("rotation applied", frac(ps, func(q Params) bool { return q.RotPre != 0 || q.RotPost != 0 }), p, binom(p))
		near("xfrac applied", frac(ps, func(q Params) bool { return q.XFrac != [2]float64{} }), p, binom(p))
		near("brightness applied", frac(ps, func(q Params) bool { return q.Bright != 0 }), p, binom(p))
		near("contrast applied", frac(ps, func(q Params) bool { return q.Contrast != 1 }), p, binom(p))
		if f := frac(ps, func(q Params) bool { return q.Hue != 0 || q.Sat != 1 }); f != 0 {
			t.Errorf("gray pipeline drew hue or saturation for %g of the samples", f)
		}
		for _, s := range []struct {
			name string
			on   func(Params) bool
			v    func(Params) float64
			want float64
		}{
			{"log2 scale std", func(q Params) bool { return q.Scale != 1 }, func(q Params) float64 { return math.Log2(q.Scale) }, 0.2},
			{"log2 aniso std", func(q Params) bool { return q.Aniso != 1 }, func(q Params) float64 { return math.Log2(q.Aniso) }, 0.2},
			{"xfrac std", func(q Params) bool { return q.XFrac != [2]float64{} }, func(q Params) float64 { return q.XFrac[0] }, 0.125},
			{"brightness std", func(q Params) bool { return q.Bright != 0 }, func(q Params) float64 { return q.Bright }, 0.2},
			{"log2 contrast std", func(q Params) bool { return q.Contrast != 1 }, func(q Params) float64 { return math.Log2(q.Contrast) }, 0.5},
			// Uniform on [-a, a]: std a/sqrt(3).
			{"xint std", func(q Params) bool { return q.XInt != [2]float64{} }, func(q Params) float64 { return q.XInt[1] }, 0.125 / math.Sqrt(3)},
			{"rotation std", func(q Params) bool { return q.RotPre != 0 }, func(q Params) float64 { return q.RotPre }, math.Pi / math.Sqrt(3)},
		} {
			got, k := stdOf(ps, s.on, s.v)
			near(s.name, got, s.want, s.want/math.Sqrt(2*float64(k))*1.5) // 1.5: uniform's kurtosis
		}
		for _, q := range ps {
			if math.Abs(q.XInt[0]) > 0.125 || math.Abs(q.XInt[1]) > 0.125 || math.Abs(q.RotPre) > math.Pi {
				t.Fatalf("draw out of range: %v", q)
			}
		}
		rgb := cp.Draw(rand.New(rand.NewPCG(2, uint64(p*10))), n, p)
		near("hue applied (RGB)", frac(rgb, func(q Params) bool { return q.Hue != 0 }), p, binom(p))
		near("saturation applied (RGB)", frac(rgb, func(q Params) bool { return q.Sat != 1 }), p, binom(p))
		got, k := stdOf(rgb, func(q Params) bool { return q.Sat != 1 }, func(q Params) float64 { return math.Log2(q.Sat) })
		near("log2 saturation std", got, 1, 1/math.Sqrt(2*float64(k)))
	}
	// p above 1 saturates every gate.
	ps := gp.Draw(rand.New(rand.NewPCG(3, 3)), 1000, 2)
	if f := frac(ps, func(q Params) bool { return q.Scale != 1 && q.Bright != 0 && q.RotPre != 0 && q.RotPost != 0 }); f != 1 {
		t.Errorf("p = 2: only %g of the samples got every transform", f)
	}
}

// The numbers drawn depend on the configuration only, not on p: p decides which take effect.
func TestDrawCountIndependentOfP(t *testing.T) {
	gp := gray(t)
	var counts []int
	for _, p := range []float64{1e-9, 0.3, 1, 5} {
		s := &countingSource{r: rand.New(rand.NewPCG(5, 5))}
		gp.Draw(s, 7, p)
		counts = append(counts, s.n)
	}
	// Per sample: 2 each for xflip, rotate90, lumaflip, brightness, contrast, scale, aniso, 2 per
	// rotation half, 3 for xint and xfrac.
	want := 7 * (2*7 + 2*2 + 3*2)
	for _, c := range counts {
		if c != want {
			t.Errorf("draw counts %v, want %d each", counts, want)
			break
		}
	}
}

func TestPresetsAndValidate(t *testing.T) {
	for _, name := range Presets {
		c, err := Preset(name)
		if err != nil || c.Validate() != nil {
			t.Errorf("preset %s: %v, %v", name, err, c.Validate())
		}
	}
	if _, err := Preset("bgcfnc"); err == nil {
		t.Error("unknown preset accepted")
	}
	c := BGC()
	if c.XFlip != 1 || c.Saturation != 1 || c.ScaleStd != 0.2 || c.ContrastStd != 0.5 || c.XFracStd != 0.125 || c.RotateMax != 1 {
		t.Errorf("bgc = %+v", c)
	}
	for _, tc := range []struct {
		name     string
		set      func(*Config)
		channels int
		ok       bool
	}{
		{"gray", func(*Config) {}, 1, true},
		{"rgb", func(*Config) {}, 3, true},
		{"two channels with colour", func(*Config) {}, 2, false},
		{"two channels without colour", func(c *Config) { *c, _ = Preset("bg") }, 2, true},
		{"negative multiplier", func(c *Config) { c.Scale = -1 }, 1, false},
		{"NaN strength", func(c *Config) { c.ScaleStd = math.NaN() }, 1, false},
		{"no channels", func(*Config) {}, 0, false},
	} {
		c := BGC()
		tc.set(&c)
		_, err := New(c, tc.channels)
		if (err == nil) != tc.ok {
			t.Errorf("%s: New error %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
