package model

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sgan/torch"
)

// The authority for sgan's networks is NVlabs' own code: testdata/nvlabs/*.pt were written by
// scripts/make-nvlabs-fixtures from a checkout of NVlabs/stylegan2-ada-pytorch (random networks,
// their inputs, and what NVlabs computes: mapping, images, critic scores, a WGAN-GP + R1 critic
// loss and a generator loss with the gradients of every parameter). These tests load the same
// weights into sgan and require the same numbers.
//
// Tolerances are on the error relative to the tensor's largest magnitude, max|got-want| /
// max|want|: forward values (w, images, scores) within 2e-5 and gradients within 2e-4. Both
// sides run in float32 with different operation orders (NVlabs' fused grouped conv and its
// transposed conv for upsampling against sgan's batched conv and zero insertion), which
// accounts for errors of 1e-7 to 1e-5.
const (
	fwdTol  = 2e-5
	gradTol = 2e-4
)

type fixture struct {
	name string
	cfg  Config
	a    *torch.Archive
	psi  float64
	n    int64
}

func fixtureNames(t *testing.T) []string {
	paths, err := filepath.Glob("testdata/nvlabs/res*.pt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no NVlabs fixtures in testdata/nvlabs (scripts/make-nvlabs-fixtures writes them): %v", err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".pt"))
	}
	return names
}

func loadFixture(t *testing.T, name string) *fixture {
	t.Helper()
	a, err := torch.LoadArchive(filepath.Join("testdata", "nvlabs", name+".pt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Free)
	m := func(k string) int { return int(a.Ints["meta/"+k]) }
	cfg := DefaultConfig()
	cfg.Resolution, cfg.Channels = m("resolution"), m("channels")
	cfg.ZDim, cfg.WDim = m("z_dim"), m("w_dim")
	cfg.MappingLayers, cfg.CriticMappingLayers = m("mapping_layers"), m("critic_mapping_layers")
	cfg.NumClasses = m("num_classes")
	cfg.ChannelBase, cfg.ChannelMax = m("channel_base"), m("channel_max")
	cfg.CriticChannelBase = m("critic_channel_base") // absent (0) in fixtures whose D shares G's
	cfg.MbstdGroup = m("mbstd_group")
	cfg.ConvClamp = a.Floats["meta/conv_clamp"]
	return &fixture{name: name, cfg: cfg, a: a, psi: a.Floats["meta/psi"], n: int64(m("batch"))}
}

func (f *fixture) sub(prefix string) map[string]*torch.Tensor {
	sd := map[string]*torch.Tensor{}
	for k, v := range f.a.Tensors {
		if rest, ok := strings.CutPrefix(k, prefix+"/"); ok {
			sd[rest] = v
		}
	}
	return sd
}

// networks builds sgan's generator and critic from the fixture's config and loads NVlabs' state
// dicts into them; Store.Load is strict (every name on both sides, same shapes).
func (f *fixture) networks(t *testing.T) (*Generator, *Critic) {
	t.Helper()
	G, err := NewGenerator(f.cfg, 1, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(G.Free)
	D, err := NewCritic(f.cfg, 2, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(D.Free)
	if err := G.Store.Load(f.sub("G")); err != nil {
		t.Fatalf("NVlabs generator state dict: %v", err)
	}
	if err := D.Store.Load(f.sub("D")); err != nil {
		t.Fatalf("NVlabs discriminator state dict: %v", err)
	}
	return G, D
}

// mbstdPerm is P with D_sgan(x[P]) == D_nvlabs(x)[P] (see MinibatchStd).
func mbstdPerm(n, group int64) *torch.Tensor {
	g := min(group, n)
	for n%g != 0 {
		g--
	}
	p := make([]int64, n)
	for i := range p {
		p[i] = (int64(i)%g)*(n/g) + int64(i)/g
	}
	return torch.FromInt64(p, n)
}

// compute runs everything the fixture recorded through sgan and returns it under the fixture's
// keys (out/..., grad_D/..., grad_G/...).
func (f *fixture) compute(t *testing.T, G *Generator, D *Critic) map[string]*torch.Tensor {
	in := f.sub("in")
	var c *torch.Tensor
	if f.cfg.NumClasses > 0 {
		c = in["c"]
	}
	got := map[string]*torch.Tensor{}
	torch.NoGrad(func() {
		ws := G.Broadcast(G.Map(in["z"], c))
		got["out/ws"] = ws
		got["out/ws_psi"] = G.Truncate(ws, f.psi)
		got["out/img_const"] = G.Synthesize(ws, NoiseConst, nil)
		got["out/img_none"] = G.Synthesize(ws, NoiseNone, nil)
		got["out/img_psi"] = G.Forward(in["z"], c, f.psi, NoiseConst, nil)
		got["out/img_ws"] = G.Synthesize(in["ws"], NoiseConst, nil)
	})

	// The critic sees the rows in the order that makes its contiguous mbstd groups NVlabs'
	// strided ones; its scores come back in NVlabs' order.
	perm := mbstdPerm(f.n, int64(f.cfg.MbstdGroup))
	inv := make([]int64, f.n)
	for i, p := range perm.Int64s() {
		inv[p] = int64(i)
	}
	invT := torch.FromInt64(inv, f.n)
	rows := func(x *torch.Tensor) *torch.Tensor { return x.IndexSelect(0, perm) }
	unrows := func(x *torch.Tensor) *torch.Tensor { return x.IndexSelect(0, invT) }
	var cp *torch.Tensor
	if c != nil {
		cp = rows(c)
	}
	fake := rows(G.Synthesize(G.Broadcast(G.Map(in["z"], c)), NoiseConst, nil).Detach())
	real := rows(in["real"]).Detach().SetRequiresGrad(true)
	dReal := D.Forward(real, cp)
	dFake := D.Forward(fake, cp)
	got["out/d_real"] = unrows(dReal.Detach())
	got["out/d_fake"] = unrows(dFake.Detach())
	inter := torch.LerpT(rows(in["real"]), fake, rows(in["alpha"])).SetRequiresGrad(true)
	gi := torch.Grad([]*torch.Tensor{D.Forward(inter, cp).SumAll()}, []*torch.Tensor{inter}, torch.GradOpts{CreateGraph: true})[0]
	gp := gi.Square().Sum([]int64{1, 2, 3}, false).AddS(1e-12).Sqrt().SubS(1).Square().MeanAll()
	gr := torch.Grad([]*torch.Tensor{dReal.SumAll()}, []*torch.Tensor{real}, torch.GradOpts{CreateGraph: true})[0]
	r1 := gr.Square().Sum([]int64{1, 2, 3}, false).MeanAll()
	lossD := dFake.MeanAll().Sub(dReal.MeanAll()).Add(gp.MulS(10)).Add(r1.MulS(0.5))
	got["out/loss_d"] = lossD.Detach()
	for i, g := range torch.Grad([]*torch.Tensor{lossD}, D.Store.Params(), torch.GradOpts{}) {
		got["grad_D/"+D.Store.ParamNames()[i]] = g
	}

	img := G.Forward(in["z"], c, 1, NoiseConst, nil)
	lossG := D.Forward(rows(img), cp).MeanAll().Neg()
	got["out/loss_g"] = lossG.Detach()
	for i, g := range torch.Grad([]*torch.Tensor{lossG}, G.Store.Params(), torch.GradOpts{}) {
		if g == nil {
			t.Errorf("generator parameter %s gets no gradient", G.Store.ParamNames()[i])
			continue
		}
		got["grad_G/"+G.Store.ParamNames()[i]] = g
	}
	return got
}

// relErr is max|got-want| / max|want| (NaN when shapes differ).
func relErr(got, want *torch.Tensor) float64 {
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape()) {
		return math.NaN()
	}
	scale := want.Abs().Amax(nil, false).Item()
	diff := got.Sub(want).Abs().Amax(nil, false).Item()
	return diff / max(scale, 1e-12)
}

// mismatches compares got with the fixture and lists what is off, worst first.
func (f *fixture) mismatches(got map[string]*torch.Tensor) (bad []string, worstFwd, worstGrad float64) {
	type miss struct {
		key string
		err float64
	}
	var ms []miss
	for k, want := range f.a.Tensors {
		if !strings.HasPrefix(k, "out/") && !strings.HasPrefix(k, "grad_") {
			continue
		}
		g, ok := got[k]
		if !ok {
			bad = append(bad, k+": not computed by sgan")
			continue
		}
		e := relErr(g, want)
		tol := fwdTol
		if strings.HasPrefix(k, "grad_") {
			tol = gradTol
			worstGrad = max(worstGrad, e)
		} else {
			worstFwd = max(worstFwd, e)
		}
		if !(e <= tol) {
			ms = append(ms, miss{k, e})
		}
	}
	for k := range got {
		if _, ok := f.a.Tensors[k]; !ok {
			bad = append(bad, k+": not in the fixture")
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].err > ms[j].err })
	for _, m := range ms {
		bad = append(bad, fmt.Sprintf("%s: relative error %.3g", m.key, m.err))
	}
	return bad, worstFwd, worstGrad
}

// TestMatchesNVlabs: mapping, truncation, images (const and no noise, per-layer ws), critic
// scores, both losses and every parameter's gradient agree with NVlabs' code for every fixture
// configuration (32-128 px, 1 and 3 channels, mapping 2 and 8 layers, unconditional and
// conditional, conv_clamp, batches of 4 and 8 in mbstd groups of 2 and 4).
func TestMatchesNVlabs(t *testing.T) {
	for _, name := range fixtureNames(t) {
		t.Run(name, func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			f := loadFixture(t, name)
			G, D := f.networks(t)
			bad, fwd, grad := f.mismatches(f.compute(t, G, D))
			for _, b := range bad {
				t.Error(b)
			}
			t.Logf("%d tensors; worst relative error: forward %.2g, gradients %.2g", len(f.a.Tensors), fwd, grad)
		})
	}
}

// TestNVlabsFixturesCatchUpsamplingBugs: the two ways sgan's synthesis once differed from
// NVlabs (the up-conv kernel applied unflipped, and the filtered map cropped to 2H and zero-padded
// for the conv) each make the fixture comparison fail.
func TestNVlabsFixturesCatchUpsamplingBugs(t *testing.T) {
	mutants := map[string]func(x, w, f *torch.Tensor) *torch.Tensor{
		"unflipped kernel": func(x, w, f *torch.Tensor) *torch.Tensor {
			return torch.Conv2d(firFilter(zeroInsert(x), f, 4, [4]int64{3, 2, 3, 2}), w, nil, torch.ConvOpts{})
		},
		"old border": func(x, w, f *torch.Tensor) *torch.Tensor {
			return torch.Conv2d(upsample2d(x, f), w.Flip(2, 3), nil, torch.ConvOpts{Padding: [2]int64{1, 1}})
		},
	}
	defer func(orig func(x, w, f *torch.Tensor) *torch.Tensor) { upConv = orig }(upConv)
	name := fixtureNames(t)[0]
	for what, mutant := range mutants {
		t.Run(strings.ReplaceAll(what, " ", "_"), func(t *testing.T) {
			s := torch.NewScope()
			defer s.Close()
			upConv = mutant
			f := loadFixture(t, name)
			G, D := f.networks(t)
			bad, fwd, _ := f.mismatches(f.compute(t, G, D))
			if len(bad) == 0 {
				t.Fatalf("%s: the fixtures did not notice (worst forward error %.2g)", what, fwd)
			}
			t.Logf("%s: %d mismatches, e.g. %s", what, len(bad), bad[0])
		})
	}
}

// TestStateDictNamesAreNVlabs: sgan's generator and critic hold exactly NVlabs' tensor names
// and shapes (buffers included), so a state dict moves both ways with strict loading.
func TestStateDictNamesAreNVlabs(t *testing.T) {
	for _, name := range fixtureNames(t) {
		s := torch.NewScope()
		f := loadFixture(t, name)
		G, err := NewGenerator(f.cfg, 1, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		D, err := NewCritic(f.cfg, 1, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range []struct {
			prefix string
			st     *Store
		}{{"G", G.Store}, {"D", D.Store}} {
			want := f.sub(part.prefix)
			got := part.st.StateDict()
			for k, v := range want {
				if g, ok := got[k]; !ok {
					t.Errorf("%s %s: sgan has no %s", name, part.prefix, k)
				} else if fmt.Sprint(g.Shape()) != fmt.Sprint(v.Shape()) {
					t.Errorf("%s %s: %s is %v in sgan, %v in NVlabs", name, part.prefix, k, g.Shape(), v.Shape())
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("%s %s: NVlabs has no %s", name, part.prefix, k)
				}
			}
		}
		G.Free()
		D.Free()
		s.Close()
	}
}
