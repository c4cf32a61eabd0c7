package model

import (
	"fmt"
	"strings"
	"testing"

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

// TestParamsEstimate: Params is within 5% of the real count of the larger network, and an
// absurd config is refused before anything is allocated.
func TestParamsEstimate(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	wideCritic := tinyConfig(32, 0)
	wideCritic.CriticChannelBase = 4 * wideCritic.ChannelBase // the critic is the larger network
	for _, c := range []Config{tinyConfig(32, 0), tinyConfig(64, 2), DefaultConfig(), wideCritic} {
		if c.Resolution == 64 && c.ZDim == 512 {
			c.ChannelBase, c.ChannelMax = 4096, 128 // keep the test's allocation small
		}
		G, err := NewGenerator(c, 1, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		D, err := NewCritic(c, 1, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		real := max(G.Store.NumParams(), D.Store.NumParams())
		if est := c.Params(); est < real*95/100 || est > real*105/100 {
			t.Errorf("%+v: estimate %d, real %d", c, est, real)
		}
		if est, _ := c.ParamCounts(); est < G.Store.NumParams()*95/100 || est > G.Store.NumParams()*105/100 {
			t.Errorf("%+v: generator estimate %d, real %d", c, est, G.Store.NumParams())
		}
		if c.CriticChannelBase != 0 && D.Store.NumParams() <= 2*G.Store.NumParams() {
			t.Errorf("critic_channel_base %d: critic %d params, generator %d", c.CriticChannelBase, D.Store.NumParams(), G.Store.NumParams())
		}
		G.Free()
		D.Free()
	}
	big := DefaultConfig()
	big.Resolution, big.ChannelBase, big.ChannelMax = 1024, 1<<20, 4096
	if err := big.Validate(); err == nil || !strings.Contains(err.Error(), "model.MaxParams") {
		t.Errorf("a 4096-wide 1024x1024 network: %v", err)
	}
}
