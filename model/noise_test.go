package model

import (
	"strings"
	"testing"

	"sgan/torch"
)

// TestSynthesizeNoise checks the explicit noise input against the modes it generalizes: the
// buffers themselves reproduce NoiseConst, zero maps reproduce NoiseNone, per-sample maps act
// per sample, and a missing map is an error naming the layer.
func TestSynthesizeNoise(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	cfg := tinyConfig(16, 0)
	G, err := NewGenerator(cfg, 7, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer G.Free()
	names := G.NoiseNames()
	// b4: conv1; b8, b16: conv0 and conv1.
	if len(names) != 5 || names[0] != "synthesis.b4.conv1.noise_const" || names[4] != "synthesis.b16.conv1.noise_const" {
		t.Fatalf("noise names %v", names)
	}
	// The trained noise strengths start at zero, which would hide the noise: make them count.
	torch.NoGrad(func() {
		for _, n := range G.Store.Names() {
			if strings.HasSuffix(n, ".noise_strength") {
				G.Store.Get(n).Fill(0.5)
			}
		}
	})
	g, _ := torch.NewGenerator(torch.CPU, 1)
	defer g.Close()
	ws := G.Broadcast(G.Map(torch.Randn([]int64{2, int64(cfg.ZDim)}, g, torch.Options{}), nil))
	own, zeros, mixed := map[string]*torch.Tensor{}, map[string]*torch.Tensor{}, map[string]*torch.Tensor{}
	for _, n := range names {
		b := G.Store.Get(n)
		r := b.Size(0)
		own[n] = b
		zeros[n] = torch.Zeros([]int64{r, r}, torch.Options{})
		mixed[n] = torch.Cat([]*torch.Tensor{b.Reshape(1, 1, r, r), torch.Zeros([]int64{1, 1, r, r}, torch.Options{})}, 0)
	}
	maxDiff := func(a, b *torch.Tensor) float64 { return a.Sub(b).Abs().Amax(nil, false).Item() }
	torch.NoGrad(func() {
		cst := G.Synthesize(ws, NoiseConst, nil)
		none := G.Synthesize(ws, NoiseNone, nil)
		if d := maxDiff(cst, none); d < 1e-3 {
			t.Fatalf("const and no noise differ by only %g: the test would not see the maps", d)
		}
		for _, tc := range []struct {
			name string
			maps map[string]*torch.Tensor
			want *torch.Tensor
		}{
			{"buffers", own, cst},
			{"zeros", zeros, none},
			{"per-sample", mixed, torch.Cat([]*torch.Tensor{cst.Narrow(0, 0, 1), none.Narrow(0, 1, 1)}, 0)},
		} {
			if d := maxDiff(G.SynthesizeNoise(ws, tc.maps), tc.want); d > 1e-6 {
				t.Errorf("%s: differs by %g", tc.name, d)
			}
		}
	})
	delete(own, names[2])
	err = torch.Try(func() { G.SynthesizeNoise(ws, own) })
	if err == nil || !strings.Contains(err.Error(), names[2]) {
		t.Errorf("missing map: want an error naming %s, got %v", names[2], err)
	}
}

// TestZeroNoiseAbove: the strengths of the layers above the resolution go to 0, the others keep
// their values, and afterwards NoiseConst renders what NoiseNone renders when none is left.
func TestZeroNoiseAbove(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	G, err := NewGenerator(tinyConfig(16, 0), 7, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer G.Free()
	fill := func() {
		torch.NoGrad(func() {
			for _, n := range G.Store.Names() {
				if strings.HasSuffix(n, ".noise_strength") {
					G.Store.Get(n).Fill(0.5)
				}
			}
		})
	}
	fill()
	G.ZeroNoiseAbove(8)
	for _, n := range G.Store.Names() {
		if !strings.HasSuffix(n, ".noise_strength") {
			continue
		}
		want := 0.5
		if strings.Contains(n, ".b16.") {
			want = 0
		}
		if got := G.Store.Get(n).Item(); got != want {
			t.Errorf("%s = %g, want %g", n, got, want)
		}
	}
	fill()
	G.ZeroNoiseAbove(0)
	g, _ := torch.NewGenerator(torch.CPU, 1)
	defer g.Close()
	ws := G.Broadcast(G.Map(torch.Randn([]int64{2, 16}, g, torch.Options{}), nil))
	var d float64
	torch.NoGrad(func() {
		d = G.Synthesize(ws, NoiseConst, nil).Sub(G.Synthesize(ws, NoiseNone, nil)).Abs().SumAll().Item()
	})
	if d != 0 {
		t.Errorf("all strengths zeroed: const and none noise differ by %g", d)
	}
}
