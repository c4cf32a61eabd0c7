package model

import (
	"fmt"
	"strings"
	"testing"

	"sgan/internal/pyref"
	"sgan/torch"
)

func tinyConfig(res, classes int) Config {
	c := DefaultConfig()
	c.Resolution = res
	c.ZDim, c.WDim = 16, 16
	c.MappingLayers = 2
	c.ChannelBase, c.ChannelMax = 256, 32
	c.NumClasses = classes
	c.MbstdGroup = 2
	return c
}

func pyCfg(c Config) string {
	return fmt.Sprintf(`{"resolution": %d, "channels": %d, "z_dim": %d, "w_dim": %d, "mapping_layers": %d, "mapping_lr_mul": %g, "channel_base": %d, "channel_max": %d, "num_classes": %d, "mbstd_group": %d}`,
		c.Resolution, c.Channels, c.ZDim, c.WDim, c.MappingLayers, c.MappingLRMul, c.ChannelBase, c.ChannelMax, c.NumClasses, c.MbstdGroup)
}

// TestMatchesPyTorchReference loads identical weights into sgan's networks and the PyTorch
// reference (testdata/stylegan2_ref.py) and compares mapping output, images (plain and
// truncated), critic scores, and the gradients of a WGAN-GP + R1 critic loss and of the
// generator loss with respect to every parameter.
func TestMatchesPyTorchReference(t *testing.T) {
	for _, tc := range []struct {
		res, classes, channels int
	}{{32, 0, 1}, {64, 2, 1}, {32, 3, 3}} {
		t.Run(fmt.Sprintf("res%d_classes%d_ch%d", tc.res, tc.classes, tc.channels), func(t *testing.T) {
			checkAgainstReference(t, tc.res, tc.classes, tc.channels)
		})
	}
}

func checkAgainstReference(t *testing.T, res, classes, channels int) {
	s := torch.NewScope()
	defer s.Close()
	cfg := tinyConfig(res, classes)
	cfg.Channels = channels
	G, err := NewGenerator(cfg, 1, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer G.Free()
	D, err := NewCritic(cfg, 2, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer D.Free()
	// Random, non-zero values for the parameters initialized to zero, so every path matters.
	rg, _ := torch.NewGenerator(torch.CPU, 9)
	defer rg.Close()
	for _, st := range []*Store{G.Store, D.Store} {
		for _, n := range st.Names() {
			if strings.HasSuffix(n, "noise_strength") || strings.HasSuffix(n, ".bias") || strings.HasSuffix(n, "w_avg") {
				p := st.Get(n)
				torch.NoGrad(func() { p.CopyFrom(torch.Randn(p.Shape(), rg, torch.Options{}).MulS(0.3)) })
			}
		}
	}

	const n = 4
	in := map[string]*torch.Tensor{
		"z":     torch.Randn([]int64{n, int64(cfg.ZDim)}, rg, torch.Options{}),
		"real":  torch.Randn([]int64{n, int64(channels), int64(res), int64(res)}, rg, torch.Options{}),
		"alpha": torch.Rand([]int64{n, 1, 1, 1}, rg, torch.Options{}),
	}
	var c *torch.Tensor
	if classes > 0 {
		lab := make([]int64, n)
		for i := range lab {
			lab[i] = int64(i % classes)
		}
		c = G.OneHot(torch.FromInt64(lab, n))
		in["c"] = c
	}
	for k, v := range G.Store.StateDict() {
		in["G."+k] = v
	}
	for k, v := range D.Store.StateDict() {
		in["D."+k] = v
	}

	got := map[string]*torch.Tensor{}
	w := G.Map(in["z"], c)
	got["w"] = w.Detach()
	img := G.Forward(in["z"], c, 1, NoiseConst, nil)
	got["img"] = img.Detach()
	got["img_psi"] = G.Forward(in["z"], c, 0.7, NoiseConst, nil).Detach()

	real := in["real"].Detach().SetRequiresGrad(true)
	fake := img.Detach()
	dReal := D.Forward(real, c)
	dFake := D.Forward(fake, c)
	got["d_real"] = dReal.Detach()
	inter := torch.LerpT(in["real"], fake, in["alpha"]).SetRequiresGrad(true)
	gi := torch.Grad([]*torch.Tensor{D.Forward(inter, c).SumAll()}, []*torch.Tensor{inter}, torch.GradOpts{CreateGraph: true})[0]
	gp := gi.Square().Sum([]int64{1, 2, 3}, false).AddS(1e-12).Sqrt().SubS(1).Square().MeanAll()
	gr := torch.Grad([]*torch.Tensor{dReal.SumAll()}, []*torch.Tensor{real}, torch.GradOpts{CreateGraph: true})[0]
	r1 := gr.Square().Sum([]int64{1, 2, 3}, false).MeanAll()
	lossD := dFake.MeanAll().Sub(dReal.MeanAll()).Add(gp.MulS(10)).Add(r1.MulS(0.5))
	got["loss_d"] = lossD.Detach()
	dGrads := torch.Grad([]*torch.Tensor{lossD}, D.Store.Params(), torch.GradOpts{})
	for i, name := range D.Store.ParamNames() {
		got["D.grad."+name] = dGrads[i]
	}
	lossG := D.Forward(G.Forward(in["z"], c, 1, NoiseConst, nil), c).MeanAll().Neg()
	gGrads := torch.Grad([]*torch.Tensor{lossG}, G.Store.Params(), torch.GradOpts{})
	for i, name := range G.Store.ParamNames() {
		if gGrads[i] == nil {
			t.Errorf("generator parameter %s gets no gradient", name)
			continue
		}
		got["G.grad."+name] = gGrads[i]
	}

	ref := pyref.Run(t, in, "testdata", `
from stylegan2_ref import Generator, Critic
cfg = `+pyCfg(cfg)+`
G = Generator(cfg); D = Critic(cfg)
G.load_state_dict({k[2:]: v for k, v in inp.items() if k.startswith('G.')}, strict=True)
D.load_state_dict({k[2:]: v for k, v in inp.items() if k.startswith('D.')}, strict=True)
c = inp.get('c')
out['w'] = G.mapping(inp['z'], c).detach()
img = G(inp['z'], c, 1.0, 'const')
out['img'] = img.detach()
out['img_psi'] = G(inp['z'], c, 0.7, 'const').detach()
real = inp['real'].clone().requires_grad_(True)
fake = img.detach()
d_real = D(real, c); d_fake = D(fake, c)
out['d_real'] = d_real.detach()
inter = torch.lerp(inp['real'], fake, inp['alpha']).requires_grad_(True)
gi, = torch.autograd.grad(D(inter, c).sum(), [inter], create_graph=True)
gp = ((gi.square().sum([1,2,3]) + 1e-12).sqrt() - 1).square().mean()
gr, = torch.autograd.grad(d_real.sum(), [real], create_graph=True)
r1 = gr.square().sum([1,2,3]).mean()
loss_d = d_fake.mean() - d_real.mean() + 10 * gp + 0.5 * r1
out['loss_d'] = loss_d.detach()
names = [k for k, _ in D.named_parameters()]
for k, g in zip(names, torch.autograd.grad(loss_d, [p for _, p in D.named_parameters()])):
    out['D.grad.' + k] = g
loss_g = -D(G(inp['z'], c, 1.0, 'const'), c).mean()
names = [k for k, _ in G.named_parameters()]
for k, g in zip(names, torch.autograd.grad(loss_g, [p for _, p in G.named_parameters()])):
    out['G.grad.' + k] = g
`)
	if len(ref.Tensors) != len(got) {
		t.Errorf("reference produced %d tensors, Go %d (parameter sets differ?)", len(ref.Tensors), len(got))
	}
	t.Logf("comparing %d tensors", len(got))
	pyref.CompareAll(t, got, ref, 2e-4, 2e-5)
}

func TestTruncationAndStyleMixing(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	cfg := tinyConfig(32, 0)
	G, err := NewGenerator(cfg, 3, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer G.Free()
	g, _ := torch.NewGenerator(torch.CPU, 5)
	defer g.Close()
	z := torch.Randn([]int64{3, int64(cfg.ZDim)}, g, torch.Options{})
	G.UpdateWAvg(G.Map(torch.Randn([]int64{64, int64(cfg.ZDim)}, g, torch.Options{}), nil), 0)

	var img0 *torch.Tensor
	torch.NoGrad(func() { img0 = G.Forward(z, nil, 0, NoiseConst, nil) })
	if got := img0.Shape(); fmt.Sprint(got) != "[3 1 32 32]" {
		t.Fatalf("image shape %v", got)
	}
	// psi = 0: every z gives the average image.
	diff := img0.Narrow(0, 0, 1).Sub(img0.Narrow(0, 1, 2)).Abs().Amax(nil, false).Item()
	if diff > 1e-5 {
		t.Errorf("psi=0 images differ by %g", diff)
	}
	var img1 *torch.Tensor
	torch.NoGrad(func() { img1 = G.Forward(z, nil, 1, NoiseConst, nil) })
	if d := img1.Narrow(0, 0, 1).Sub(img1.Narrow(0, 1, 1)).Abs().Amax(nil, false).Item(); d < 1e-4 {
		t.Errorf("psi=1 images are all alike (max diff %g)", d)
	}

	ws1 := G.Broadcast(G.Map(z, nil))
	ws2 := G.Broadcast(G.Map(z.Flip(0), nil))
	for _, cut := range []int{0, 4, G.NumWs()} {
		m := MixStyles(ws1, ws2, cut)
		if fmt.Sprint(m.Shape()) != fmt.Sprint(ws1.Shape()) {
			t.Fatalf("mixed ws shape %v", m.Shape())
		}
		if cut > 0 && cut < G.NumWs() {
			a := m.Narrow(1, 0, int64(cut)).Sub(ws1.Narrow(1, 0, int64(cut))).Abs().Amax(nil, false).Item()
			b := m.Narrow(1, int64(cut), int64(G.NumWs()-cut)).Sub(ws2.Narrow(1, int64(cut), int64(G.NumWs()-cut))).Abs().Amax(nil, false).Item()
			if a != 0 || b != 0 {
				t.Errorf("cutoff %d: coarse layers off by %g, fine by %g", cut, a, b)
			}
		}
	}
}

func TestCriticRejectsWrongSize(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	cfg := tinyConfig(64, 0)
	D, err := NewCritic(cfg, 1, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer D.Free()
	err = torch.Try(func() { D.Forward(torch.Zeros([]int64{2, 1, 32, 32}, torch.Options{}), nil) })
	if err == nil || !strings.Contains(err.Error(), "[2 1 32 32]") || !strings.Contains(err.Error(), "64 64") {
		t.Fatalf("want an error naming both sizes, got %v", err)
	}
}

func TestConfigDerivedValues(t *testing.T) {
	for _, tc := range []struct {
		res, numWs, ch4, chRes int
	}{{32, 8, 512, 512}, {64, 10, 512, 512}, {128, 12, 512, 256}, {256, 14, 512, 128}} {
		c := DefaultConfig()
		c.Resolution = tc.res
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
		if c.NumWs() != tc.numWs || c.ChannelsAt(4) != tc.ch4 || c.ChannelsAt(tc.res) != tc.chRes {
			t.Errorf("res %d: num_ws %d, ch4 %d, ch@res %d", tc.res, c.NumWs(), c.ChannelsAt(4), c.ChannelsAt(tc.res))
		}
	}
	bad := DefaultConfig()
	bad.Resolution = 48
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "model.resolution") {
		t.Errorf("resolution 48: %v", err)
	}
}

func TestStoreLoadListsEveryProblem(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	G, _ := NewGenerator(tinyConfig(32, 0), 1, torch.CPU)
	defer G.Free()
	sd := map[string]*torch.Tensor{}
	for k, v := range G.Store.StateDict() {
		sd[k] = v
	}
	delete(sd, "mapping.fc0.weight")
	sd["bogus.weight"] = torch.Zeros([]int64{1}, torch.Options{})
	sd["synthesis.b4.const"] = torch.Zeros([]int64{1, 4, 4}, torch.Options{})
	err := G.Store.Load(sd)
	if err == nil {
		t.Fatal("mismatched state dict loaded")
	}
	for _, want := range []string{"missing mapping.fc0.weight", "unexpected bogus.weight", "mis-shaped synthesis.b4.const"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
