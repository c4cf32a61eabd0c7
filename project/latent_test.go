package project

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sgan/model"
	"sgan/torch"
)

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	if len(a) != len(b) {
		return math.Inf(1)
	}
	return d
}

// TestLatentFile saves a projection's latent, reads it back in Go and in Python's torch.load,
// and renders it: the saved latent must reproduce the reconstruction.
func TestLatentFile(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	m := tinyModel(t, 8, 2, 2)
	targets, _ := generated(t, m, []int{1, 0}, 3)
	targets[0].Name, targets[1].Name = "scans/NC/x.png", "scans/AD/y.png"
	r, err := Project(m, targets, testOptions(5))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Free()
	path := filepath.Join(t.TempDir(), "latent.pt")
	if err := r.Latent(m).Save(path); err != nil {
		t.Fatal(err)
	}
	l, err := LoadLatent(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Free()
	if l.Space != SpaceW || strings.Join(l.Targets, ",") != "scans/NC/x.png,scans/AD/y.png" || len(l.Class) != 2 || l.Class[0] != 1 || l.Class[1] != 0 ||
		strings.Join(l.Classes, ",") != "AD,NC" || l.Ckpt != "test" || len(l.Noise) != len(m.G.NoiseNames()) {
		t.Fatalf("read back %+v", l)
	}
	if d := maxAbsDiff(l.Ws.Float32s(), r.Ws.Float32s()); d != 0 {
		t.Errorf("ws differ by %g", d)
	}
	pix, _, err := l.Render(m, RenderOptions{Psi: 1, Noise: model.NoiseConst, ToClass: -1})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(pix, r.Recon); d > 1e-6 {
		t.Errorf("the saved latent renders %g away from the reconstruction", d)
	}
	ref := runPython(t, map[string]*torch.Tensor{}, `
l = torch.load(`+"'"+path+"'"+`)
ok = l['format'] == 'sgan-latent-v1' and l['space'] == 'w' and l['class'].tolist() == [1, 0]
ok = ok and l['targets'].split('\n') == ['scans/NC/x.png', 'scans/AD/y.png'] and l['classes'] == 'AD\nNC'
ok = ok and torch.equal(l['w'], l['ws'][:, 0]) and torch.equal(l['ws'][:, 0], l['ws'][:, -1])
out['ok'] = torch.tensor([int(ok)])
out['ws'] = l['ws']
out['noise'] = l['noise']['synthesis.b8.conv0.noise_const']
`)
	if ref.Tensors["ok"].Int64s()[0] != 1 {
		t.Error("Python's torch.load does not see the documented keys and values")
	}
	if d := maxAbsDiff(ref.Tensors["ws"].Float32s(), r.Ws.Float32s()); d != 0 {
		t.Errorf("Python reads ws %g away", d)
	}
	if got := ref.Tensors["noise"].Shape(); len(got) != 4 || got[0] != 2 || got[2] != 8 {
		t.Errorf("Python reads noise of shape %v, want [2 1 8 8]", got)
	}

	// Files that are not latents, and latents of another model, are refused in one line.
	bad := filepath.Join(t.TempDir(), "bad.pt")
	os.WriteFile(bad, []byte("text"), 0o644)
	other := filepath.Join(t.TempDir(), "other.pt")
	torch.Save(other, map[string]*torch.Tensor{"x": torch.Zeros([]int64{1}, torch.Options{})})
	for _, p := range []string{bad, other} {
		if _, err := LoadLatent(p); err == nil || !strings.Contains(err.Error(), filepath.Base(p)) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: want a one-line error naming it, got %v", p, err)
		}
	}
	big := tinyModel(t, 16, 2, 2)
	if _, _, err := l.Render(big, RenderOptions{Psi: 1, ToClass: -1}); err == nil || !strings.Contains(err.Error(), "projected with (test)") {
		t.Errorf("rendering with another model: %v", err)
	}
}

// TestClassIndex: names are matched case-insensitively; a class the model lacks is refused
// naming the classes; any class is refused by an unconditional model.
func TestClassIndex(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	cond, uncond := tinyModel(t, 8, 2, 1), tinyModel(t, 8, 0, 1)
	for _, tc := range []struct {
		m    *Model
		name string
		want int
		err  string
	}{
		{cond, "AD", 0, ""},
		{cond, "nc", 1, ""},
		{cond, "MCI", -1, "class MCI: the model has classes AD, NC"},
		{uncond, "AD", -1, "this model is unconditional"},
	} {
		got, err := tc.m.ClassIndex(tc.name)
		if got != tc.want || (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%s: %d, %v; want %d, %q", tc.name, got, err, tc.want, tc.err)
		}
	}
}

// TestCounterfactual checks the class shift: it is the difference of the class means of w (the
// same z through both labels), zero to the same class, and rendering a latent "as" another class
// adds exactly that shift to every layer. On images the model made from (z, AD), the shifted
// latents must land nearer the model's own (z, NC) images than the unshifted ones do.
func TestCounterfactual(t *testing.T) {
	s := torch.NewScope()
	defer s.Close()
	m := tinyModel(t, 8, 2, 4)
	const n = 3000
	sh, err := m.ClassShift(0, 1, n)
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Free()
	a, _ := m.Stats(0, n)
	b, _ := m.Stats(1, n)
	defer a.Free()
	defer b.Free()
	if d := maxAbsDiff(sh.Delta.Float32s(), b.Avg.Sub(a.Avg).Float32s()); d > 1e-5 {
		t.Errorf("shift differs from the difference of class means by %g", d)
	}
	if sh.Norm <= 0 || sh.Spread <= 0 {
		t.Errorf("shift norm %g, spread %g", sh.Norm, sh.Spread)
	}
	same, _ := m.ClassShift(1, 1, 100)
	defer same.Free()
	if same.Norm != 0 {
		t.Errorf("shift to the same class has norm %g", same.Norm)
	}
	if _, err := tinyModel(t, 8, 0, 4).ClassShift(0, 1, 10); err == nil || !strings.Contains(err.Error(), "conditional") {
		t.Errorf("unconditional model: %v", err)
	}

	// Latents of images made as AD (label 0) from z, with the model's own noise.
	g, _ := torch.NewGenerator(torch.CPU, 8)
	defer g.Close()
	const k = 16
	z := torch.Randn([]int64{k, int64(m.G.Cfg.ZDim)}, g, torch.Options{})
	ws := m.G.Broadcast(m.G.Map(z, m.labels(k, 0)))
	asNC := m.G.Synthesize(m.G.Broadcast(m.G.Map(z, m.labels(k, 1))), model.NoiseConst, nil).Clamp(-1, 1)
	l := &Latent{Space: SpaceW, Ws: ws, Noise: map[string]*torch.Tensor{}, Class: make([]int, k)}
	for _, name := range m.G.NoiseNames() {
		buf := m.G.Store.Get(name)
		r := buf.Size(0)
		l.Noise[name] = buf.Reshape(1, 1, r, r).Expand(k, 1, r, r)
	}
	orig, _, err := l.Render(m, RenderOptions{Psi: 1, ToClass: -1})
	if err != nil {
		t.Fatal(err)
	}
	cf, shifts, err := l.Render(m, RenderOptions{Psi: 1, ToClass: 1, WSamples: n})
	if err != nil {
		t.Fatal(err)
	}
	defer shifts[0].Free()
	want := m.G.Synthesize(ws.Add(sh.Delta), model.NoiseConst, nil).Clamp(-1, 1).Float32s()
	if d := maxAbsDiff(cf, want); d > 1e-6 {
		t.Errorf("counterfactual is %g away from rendering w + shift", d)
	}
	truth := asNC.Float32s()
	mse := func(x []float32) float64 {
		var s float64
		for i := range x {
			s += float64((x[i] - truth[i]) * (x[i] - truth[i]))
		}
		return s / float64(len(x))
	}
	t.Logf("MSE to the (z, NC) images: unshifted %.4f, shifted %.4f (shift spread %.2f)", mse(orig), mse(cf), sh.Spread)
	if !(mse(cf) < 0.5*mse(orig)) {
		t.Errorf("the shift does not bring AD latents halfway nearer their NC images: MSE %g -> %g", mse(orig), mse(cf))
	}
}
