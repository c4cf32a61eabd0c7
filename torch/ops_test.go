package torch

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// TestOpsMatchPyTorch runs every op on the same inputs in Go and in PyTorch (one Python process
// for the whole table) and compares values, and for differentiable ops the gradient of a
// weighted sum of the output with respect to every input.
func TestOpsMatchPyTorch(t *testing.T) {
	s := NewScope()
	defer s.Close()
	g, err := NewGenerator(CPU, 7)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	in := map[string]*Tensor{
		"a":    randn(g, 3, 4),
		"b":    randn(g, 4),
		"c":    randn(g, 3, 1),
		"pos":  Rand([]int64{3, 4}, g, Options{}).AddS(0.5),
		"m":    randn(g, 4, 5),
		"x":    randn(g, 2, 4, 6, 6),
		"w":    randn(g, 6, 2, 3, 3), // groups=2
		"wb":   randn(g, 6),
		"wt":   randn(g, 4, 3, 3, 3), // conv_transpose: in 4 -> out 3
		"lw":   randn(g, 5, 4),
		"lb":   randn(g, 5),
		"idx":  FromInt64([]int64{2, 0, 2}, 3),
		"cond": randn(g, 3, 4).GtS(0),
	}
	type opcase struct {
		name string
		args []string // names of inputs that need gradients
		fn   func(v map[string]*Tensor) *Tensor
		py   string // PyTorch expression over v[...]
	}
	cases := []opcase{
		{"add", []string{"a", "b"}, func(v map[string]*Tensor) *Tensor { return v["a"].Add(v["b"]) }, "v['a'] + v['b']"},
		{"sub", []string{"a", "c"}, func(v map[string]*Tensor) *Tensor { return v["a"].Sub(v["c"]) }, "v['a'] - v['c']"},
		{"mul", []string{"a", "b"}, func(v map[string]*Tensor) *Tensor { return v["a"].Mul(v["b"]) }, "v['a'] * v['b']"},
		{"div", []string{"a", "pos"}, func(v map[string]*Tensor) *Tensor { return v["a"].Div(v["pos"]) }, "v['a'] / v['pos']"},
		{"pow", []string{"pos", "a"}, func(v map[string]*Tensor) *Tensor { return v["pos"].Pow(v["a"]) }, "v['pos'] ** v['a']"},
		{"matmul", []string{"a", "m"}, func(v map[string]*Tensor) *Tensor { return v["a"].Matmul(v["m"]) }, "v['a'] @ v['m']"},
		{"scalar", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].MulS(3).AddS(1).RSubS(2).DivS(4) }, "(2 - (v['a']*3 + 1)) / 4"},
		{"pows", []string{"pos"}, func(v map[string]*Tensor) *Tensor { return v["pos"].PowS(1.5) }, "v['pos'] ** 1.5"},
		{"exp", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].Exp() }, "v['a'].exp()"},
		{"log", []string{"pos"}, func(v map[string]*Tensor) *Tensor { return v["pos"].Log() }, "v['pos'].log()"},
		{"sqrt", []string{"pos"}, func(v map[string]*Tensor) *Tensor { return v["pos"].Sqrt() }, "v['pos'].sqrt()"},
		{"rsqrt", []string{"pos"}, func(v map[string]*Tensor) *Tensor { return v["pos"].Rsqrt() }, "v['pos'].rsqrt()"},
		{"square", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].Square() }, "v['a'].square()"},
		{"abs", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].Abs() }, "v['a'].abs()"},
		{"sigmoid", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].Sigmoid() }, "v['a'].sigmoid()"},
		{"tanh", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].Tanh() }, "v['a'].tanh()"},
		{"leaky_relu", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].LeakyReLU(0.2) }, "F.leaky_relu(v['a'], 0.2)"},
		{"softplus", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].MulS(10).Softplus() }, "F.softplus(v['a']*10)"},
		{"sum", []string{"x"}, func(v map[string]*Tensor) *Tensor { return v["x"].Sum([]int64{1, 3}, false) }, "v['x'].sum([1,3])"},
		{"mean_keep", []string{"x"}, func(v map[string]*Tensor) *Tensor { return v["x"].Mean([]int64{2, 3}, true) }, "v['x'].mean([2,3], keepdim=True)"},
		{"var", []string{"x"}, func(v map[string]*Tensor) *Tensor { return v["x"].Var([]int64{0}, false, false) }, "v['x'].var(0, unbiased=False)"},
		{"std", []string{"x"}, func(v map[string]*Tensor) *Tensor { return v["x"].Std([]int64{1}, true, false) }, "v['x'].std(1)"},
		{"amax", nil, func(v map[string]*Tensor) *Tensor { return v["x"].Amax([]int64{1}, false) }, "v['x'].amax(1)"},
		{"sum_all", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].SumAll() }, "v['a'].sum()"},
		{"reshape_permute", []string{"x"}, func(v map[string]*Tensor) *Tensor { return v["x"].Reshape(2, 4, 36).Permute(2, 0, 1) }, "v['x'].reshape(2,4,36).permute(2,0,1)"},
		{"transpose", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].Transpose(0, 1) }, "v['a'].transpose(0,1)"},
		{"narrow", []string{"x"}, func(v map[string]*Tensor) *Tensor { return v["x"].Narrow(1, 1, 2) }, "v['x'].narrow(1,1,2)"},
		{"index_select", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].IndexSelect(0, v["idx"]) }, "v['a'].index_select(0, v['idx'])"},
		{"cat", []string{"a", "c"}, func(v map[string]*Tensor) *Tensor { return Cat([]*Tensor{v["a"], v["c"]}, 1) }, "torch.cat([v['a'], v['c']], 1)"},
		{"stack", []string{"a", "pos"}, func(v map[string]*Tensor) *Tensor { return Stack([]*Tensor{v["a"], v["pos"]}, 0) }, "torch.stack([v['a'], v['pos']], 0)"},
		{"expand_repeat", []string{"c"}, func(v map[string]*Tensor) *Tensor { return v["c"].Expand(3, 4).Repeat(2, 1) }, "v['c'].expand(3,4).repeat(2,1)"},
		{"flip", []string{"x"}, func(v map[string]*Tensor) *Tensor { return v["x"].Flip(3) }, "v['x'].flip(3)"},
		{"unsqueeze_squeeze", []string{"b"}, func(v map[string]*Tensor) *Tensor { return v["b"].Unsqueeze(0).Unsqueeze(2).Squeeze(0) }, "v['b'].unsqueeze(0).unsqueeze(2).squeeze(0)"},
		{"lerp", []string{"a", "pos"}, func(v map[string]*Tensor) *Tensor { return Lerp(v["a"], v["pos"], 0.3) }, "torch.lerp(v['a'], v['pos'], 0.3)"},
		{"clamp", []string{"a"}, func(v map[string]*Tensor) *Tensor { return v["a"].Clamp(-0.5, 0.7) }, "v['a'].clamp(-0.5, 0.7)"},
		{"where", []string{"a", "pos"}, func(v map[string]*Tensor) *Tensor { return Where(v["cond"], v["a"], v["pos"]) }, "torch.where(v['cond'], v['a'], v['pos'])"},
		{"linear", []string{"a", "lw", "lb"}, func(v map[string]*Tensor) *Tensor { return Linear(v["a"], v["lw"], v["lb"]) }, "F.linear(v['a'], v['lw'], v['lb'])"},
		{"conv2d_groups", []string{"x", "w", "wb"}, func(v map[string]*Tensor) *Tensor {
			return Conv2d(v["x"], v["w"], v["wb"], ConvOpts{Padding: [2]int64{1, 1}, Groups: 2})
		}, "F.conv2d(v['x'], v['w'], v['wb'], padding=1, groups=2)"},
		{"conv2d_stride", []string{"x", "w"}, func(v map[string]*Tensor) *Tensor {
			return Conv2d(v["x"], v["w"], nil, ConvOpts{Stride: [2]int64{2, 2}, Groups: 2})
		}, "F.conv2d(v['x'], v['w'], stride=2, groups=2)"},
		{"conv_transpose2d", []string{"x", "wt"}, func(v map[string]*Tensor) *Tensor {
			return ConvTranspose2d(v["x"], v["wt"], nil, ConvOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}})
		}, "F.conv_transpose2d(v['x'], v['wt'], stride=2, padding=1)"},
		{"upsample_nearest", []string{"x"}, func(v map[string]*Tensor) *Tensor { return Interpolate(v["x"], 12, 12, Nearest) }, "F.interpolate(v['x'], size=(12,12), mode='nearest')"},
		{"upsample_bilinear", []string{"x"}, func(v map[string]*Tensor) *Tensor { return Interpolate(v["x"], 9, 13, Bilinear) }, "F.interpolate(v['x'], size=(9,13), mode='bilinear', align_corners=False)"},
		{"avg_pool2d", []string{"x"}, func(v map[string]*Tensor) *Tensor { return AvgPool2d(v["x"], 2, 2) }, "F.avg_pool2d(v['x'], 2, 2)"},
		{"pad", []string{"x"}, func(v map[string]*Tensor) *Tensor { return Pad(v["x"], []int64{1, 2, 0, 1}, 0.5) }, "F.pad(v['x'], (1,2,0,1), value=0.5)"},
	}

	got := map[string]*Tensor{}
	var py strings.Builder
	for _, c := range cases {
		// Fresh leaves per case so gradients never mix.
		v := map[string]*Tensor{}
		for k, t := range in {
			v[k] = t
		}
		for _, a := range c.args {
			v[a] = in[a].Detach().SetRequiresGrad(true)
		}
		y := c.fn(v)
		got[c.name] = y.Detach()
		py.WriteString("v = {k: t.clone() for k, t in inp.items()}\n")
		for _, a := range c.args {
			py.WriteString("v['" + a + "'].requires_grad_(True)\n")
		}
		py.WriteString("y = " + c.py + "\nout['" + c.name + "'] = y.detach()\n")
		if len(c.args) > 0 {
			// A fixed, non-uniform weighting so every element's gradient is checked.
			wy := Arange(0, float64(y.Numel()), 1, Options{}).Reshape(y.Shape()...).MulS(0.01).AddS(1)
			loss := y.Mul(wy).SumAll()
			gs := Grad([]*Tensor{loss}, argTensors(v, c.args), GradOpts{})
			py.WriteString("wy = (torch.arange(y.numel(), dtype=torch.float32).reshape(y.shape) * 0.01 + 1)\n")
			py.WriteString("gs = torch.autograd.grad((y*wy).sum(), [" + pyArgs(c.args) + "])\n")
			for i, a := range c.args {
				got[c.name+".grad."+a] = gs[i]
				py.WriteString("out['" + c.name + ".grad." + a + "'] = gs[" + itoa(i) + "]\n")
			}
		}
	}
	ref := runPython(t, in, py.String())
	compareAll(t, got, ref, 1e-5, 1e-5)
}

func argTensors(v map[string]*Tensor, names []string) []*Tensor {
	ts := make([]*Tensor, len(names))
	for i, n := range names {
		ts[i] = v[n]
	}
	return ts
}

func pyArgs(names []string) string {
	p := make([]string, len(names))
	for i, n := range names {
		p[i] = "v['" + n + "']"
	}
	return strings.Join(p, ", ")
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestGradientPenaltyDoubleBackward checks the second-order path that WGAN-GP and R1 need: the
// gradient norm of a critic made of a grouped conv, backpropagated to the conv weights.
func TestGradientPenaltyDoubleBackward(t *testing.T) {
	s := NewScope()
	defer s.Close()
	g, _ := NewGenerator(CPU, 3)
	defer g.Close()
	in := map[string]*Tensor{"x": randn(g, 3, 4, 8, 8), "w": randn(g, 8, 2, 3, 3).MulS(0.3), "w2": randn(g, 1, 8, 3, 3).MulS(0.3)}

	x := in["x"].Detach().SetRequiresGrad(true)
	w := in["w"].Detach().SetRequiresGrad(true)
	w2 := in["w2"].Detach().SetRequiresGrad(true)
	h := Conv2d(x, w, nil, ConvOpts{Padding: [2]int64{1, 1}, Groups: 2}).LeakyReLU(0.2)
	score := Conv2d(h, w2, nil, ConvOpts{}).Softplus().Sum([]int64{1, 2, 3}, false)
	gx := Grad([]*Tensor{score.SumAll()}, []*Tensor{x}, GradOpts{CreateGraph: true})[0]
	gp := gx.Square().Sum([]int64{1, 2, 3}, false).Sqrt().SubS(1).Square().MeanAll()
	gp.Backward()
	got := map[string]*Tensor{"gp": gp.Detach(), "gx": gx.Detach(), "w.grad": w.Grad(), "w2.grad": w2.Grad()}

	ref := runPython(t, in, `
x = inp['x'].requires_grad_(True); w = inp['w'].requires_grad_(True); w2 = inp['w2'].requires_grad_(True)
h = F.leaky_relu(F.conv2d(x, w, padding=1, groups=2), 0.2)
score = F.softplus(F.conv2d(h, w2)).sum([1,2,3])
gx, = torch.autograd.grad(score.sum(), [x], create_graph=True)
gp = (gx.square().sum([1,2,3]).sqrt() - 1).square().mean()
gp.backward()
out['gp'] = gp.detach(); out['gx'] = gx.detach(); out['w.grad'] = w.grad; out['w2.grad'] = w2.grad
`)
	compareAll(t, got, ref, 1e-4, 1e-5)
}

func TestAdamMatchesPyTorch(t *testing.T) {
	s := NewScope()
	defer s.Close()
	g, _ := NewGenerator(CPU, 11)
	defer g.Close()
	in := map[string]*Tensor{"p": randn(g, 5, 3), "q": randn(g, 3), "x": randn(g, 4, 3)}
	p := in["p"].Clone().Keep().SetRequiresGrad(true)
	q := in["q"].Clone().Keep().SetRequiresGrad(true)
	defer FreeAll(p, q)
	opt := NewAdam([]*Tensor{p, q}, AdamConfig{LR: 0.01, Beta1: 0.5, Beta2: 0.99, Eps: 1e-8})
	defer opt.Free()
	for step := 0; step < 5; step++ {
		if step == 3 {
			opt.LR = 0.001 // phased schedule: change LR mid-run
		}
		WithScope(func() {
			opt.ZeroGrad()
			Linear(in["x"], p, nil).Add(q.Unsqueeze(0).Expand(5, 3).Sum([]int64{1}, false)).Square().MeanAll().Backward()
			opt.Step()
		})
	}
	ref := runPython(t, in, `
p = inp['p'].clone().requires_grad_(True); q = inp['q'].clone().requires_grad_(True)
opt = torch.optim.Adam([p, q], lr=0.01, betas=(0.5, 0.99), eps=1e-8)
for step in range(5):
    if step == 3:
        for grp in opt.param_groups: grp['lr'] = 0.001
    opt.zero_grad()
    (F.linear(inp['x'], p) + q.unsqueeze(0).expand(5,3).sum(1)).square().mean().backward()
    opt.step()
out['p'] = p.detach(); out['q'] = q.detach()
out['p.exp_avg_sq'] = opt.state[p]['exp_avg_sq']
`)
	st := opt.State("")
	compareAll(t, map[string]*Tensor{"p": p.Detach(), "q": q.Detach(), "p.exp_avg_sq": st["exp_avg_sq.0"]}, ref, 1e-5, 1e-6)
}

func TestSaveLoadWithPython(t *testing.T) {
	s := NewScope()
	defer s.Close()
	dir := t.TempDir()
	a := NewArchive()
	a.Tensors["generator/mapping.fc0.weight"] = Arange(0, 6, 1, Options{}).Reshape(2, 3)
	a.Tensors["step_count"] = FromInt64([]int64{42}, 1)
	a.Strings["config"] = "resolution = 64"
	a.Ints["epoch"] = 7
	a.Floats["lr"] = 1e-4
	path := dir + "/ck.pt"
	if err := SaveArchive(path, a); err != nil {
		t.Fatal(err)
	}
	// Python reads the Go file and writes its own, a plain dict and an nn.Module state dict.
	ref := runPython(t, map[string]*Tensor{"x": Ones([]int64{1}, Options{})}, `
ck = torch.load('`+path+`')
assert ck['epoch'] == 7 and ck['config'] == 'resolution = 64' and abs(ck['lr'] - 1e-4) < 1e-12, ck
assert ck['generator']['mapping.fc0.weight'].shape == (2, 3)
out['w_plus_1'] = ck['generator']['mapping.fc0.weight'] + 1
out['step'] = ck['step_count']
torch.manual_seed(0); m = torch.nn.Linear(3, 2)
torch.save(dict(m.state_dict()), '`+dir+`/py_state.pt')
torch.save(m.state_dict(), '`+dir+`/py_ordered.pt')
torch.save({'w': torch.full((2,2), 3.0), 'nested': {'b': torch.arange(3)}, 'view': torch.arange(12.).reshape(3,4)[:, 1:3].t(),
            'half': torch.ones(2, dtype=torch.float16), 'flag': True, 'n': -5, 'big': 2**40, 'x': 0.25, 'name': 'ok', 'skip': [1, 2]}, '`+dir+`/py_dict.pt')
torch.save({'only': torch.ones(1)}, '`+dir+`/py_one.pt')
out['lin.weight'] = m.weight.detach()
`)
	assertClose(t, "w_plus_1", ref.Tensors["w_plus_1"], Arange(1, 7, 1, Options{}).Reshape(2, 3), 0, 0)
	if v := ref.Tensors["step"].Int64s(); v[0] != 42 {
		t.Errorf("int64 tensor came back as %v", v)
	}
	st, err := Load(dir + "/py_state.pt")
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, t := range st {
			t.Free()
		}
	}()
	assertClose(t, "state_dict weight", st["weight"], ref.Tensors["lin.weight"], 0, 0)
	if _, ok := st["bias"]; !ok {
		t.Errorf("state dict keys %v lack bias", sortedKeys(st))
	}
	d, err := LoadArchive(dir + "/py_dict.pt")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	// A raw state_dict() (an OrderedDict) and a one-entry dict load too.
	od, err := Load(dir + "/py_ordered.pt")
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "OrderedDict weight", od["weight"], ref.Tensors["lin.weight"], 0, 0)
	FreeAll(od["weight"], od["bias"])
	one, err := Load(dir + "/py_one.pt")
	if err != nil || len(one) != 1 {
		t.Fatalf("one-entry dict: %v, %v", one, err)
	}
	one["only"].Free()
	if d.Tensors["w"].Float32s()[3] != 3 || d.Tensors["nested/b"].Int64s()[2] != 2 || d.Tensors["half"].DType() != Float16 {
		t.Errorf("python dict read back wrong: %v", sortedKeys(d.Tensors))
	}
	// A transposed slice of a larger storage comes back with its own values, contiguous.
	if v := d.Tensors["view"]; fmt.Sprint(v.Shape(), v.Float32s()) != "[2 3] [1 5 9 2 6 10]" {
		t.Errorf("strided view read back as %v %v", v.Shape(), v.Float32s())
	}
	if d.Ints["flag"] != 1 || d.Ints["n"] != -5 || d.Ints["big"] != 1<<40 || d.Floats["x"] != 0.25 || d.Strings["name"] != "ok" {
		t.Errorf("python scalars read back as %v %v %v", d.Ints, d.Floats, d.Strings)
	}
}

func TestEighMatchesPyTorch(t *testing.T) {
	s := NewScope()
	defer s.Close()
	g, _ := NewGenerator(CPU, 21)
	defer g.Close()
	x := randn(g, 6, 6).ToDType(Float64)
	a := x.Matmul(x.Transpose(0, 1))
	vals, vecs := Eigh(a)
	// Reconstruct: Q diag(L) Q^T == A (eigenvector signs are arbitrary, so compare A itself).
	rec := vecs.Mul(vals.Unsqueeze(0)).Matmul(vecs.Transpose(0, 1))
	ref := runPython(t, map[string]*Tensor{"a": a}, "out['vals'] = torch.linalg.eigh(inp['a'])[0]")
	assertClose(t, "eigenvalues", vals, ref.Tensors["vals"], 1e-6, 1e-9)
	assertClose(t, "reconstruction", rec, a, 1e-6, 1e-9)
	if got := FromFloat64([]float64{1.5, -2}, 2).Float64s(); got[0] != 1.5 || got[1] != -2 {
		t.Errorf("float64 round trip: %v", got)
	}
}

func TestLoadRejectsGarbage(t *testing.T) {
	dir := t.TempDir()
	p := dir + "/bad.pt"
	if err := os.WriteFile(p, []byte("this is not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadArchive(p)
	if err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("want an error naming %s, got %v", p, err)
	}
	if _, err := LoadArchive(dir + "/missing.pt"); err == nil {
		t.Fatal("missing file loaded")
	}
}

func TestBadShapeIsAnErrorNotACrash(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := Zeros([]int64{64, 256, 8, 8}, Options{})
	w := Zeros([]int64{512, 512, 3, 3}, Options{})
	err := Try(func() { Conv2d(x, w, nil, ConvOpts{Padding: [2]int64{1, 1}}) })
	if err == nil {
		t.Fatal("conv2d with mismatched channels succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"conv2d", "[64 256 8 8]", "[512 512 3 3]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	// The process lives on and libtorch still works.
	if v := Ones([]int64{2}, Options{}).SumAll().Item(); v != 2 {
		t.Fatalf("after the error, sum = %v", v)
	}
	if err := Try(func() { FromFloat32([]float32{1, 2, 3}, 2, 2) }); err == nil {
		t.Error("FromFloat32 accepted 3 values for a 2x2 shape")
	}
	if err := Try(func() { Zeros([]int64{2, 3}, Options{}).Matmul(Zeros([]int64{2, 3}, Options{})) }); err == nil {
		t.Error("matmul of 2x3 by 2x3 succeeded")
	}
	if err := Try(func() { Zeros([]int64{2}, Options{Device: CUDA(0)}) }); err == nil && !CUDAAvailable() {
		t.Error("a CUDA tensor was made without CUDA")
	}
}

func TestScopeFreesAndKeeps(t *testing.T) {
	base := LiveTensors()
	var kept, escaped *Tensor
	outer := NewScope()
	WithScope(func() {
		for i := 0; i < 10; i++ {
			Ones([]int64{3}, Options{}).MulS(2)
		}
		kept = Ones([]int64{1}, Options{}).Keep()
		escaped = Ones([]int64{2}, Options{}).Escape()
	})
	if got := LiveTensors() - base; got != 2 {
		t.Fatalf("after inner scope %d tensors live, want 2 (kept + escaped)", got)
	}
	if outer.Len() != 1 {
		t.Fatalf("outer scope owns %d, want the escaped one", outer.Len())
	}
	outer.Close()
	if escaped.h != nil {
		t.Error("escaped tensor survived its new scope")
	}
	if kept.Item() != 1 {
		t.Error("kept tensor lost")
	}
	kept.Free()
	kept.Free() // idempotent
	if got := LiveTensors() - base; got != 0 {
		t.Fatalf("%d tensors leaked", got)
	}
}

func TestGeneratorIsReproducible(t *testing.T) {
	s := NewScope()
	defer s.Close()
	g1, _ := NewGenerator(CPU, 123)
	defer g1.Close()
	st := g1.State()
	a := Randn([]int64{5}, g1, Options{}).Float32s()
	if err := g1.SetState(st); err != nil {
		t.Fatal(err)
	}
	b := Randn([]int64{5}, g1, Options{}).Float32s()
	g2, _ := NewGenerator(CPU, 123)
	defer g2.Close()
	c := Randn([]int64{5}, g2, Options{}).Float32s()
	for i := range a {
		if a[i] != b[i] || a[i] != c[i] {
			t.Fatalf("draws differ: %v %v %v", a, b, c)
		}
	}
}

func TestThreadsDefaultToAllCores(t *testing.T) {
	if os.Getenv("SGAN_THREADS") != "" || os.Getenv("OMP_NUM_THREADS") != "" {
		t.Skip("thread count set by the environment")
	}
	if n := NumThreads(); n != runtime.NumCPU() {
		t.Fatalf("libtorch uses %d intra-op threads, want all %d cores", n, runtime.NumCPU())
	}
}

// TestOpCodesComeFromOneList: the op codes and names are read from shim_ops.h (the list the C++
// switch is generated from), so every code the Go side uses has an implementation and a name.
func TestOpCodesComeFromOneList(t *testing.T) {
	for name, names := range map[string][]string{"unary": unaryNames, "binary": binaryNames, "scalar": scalarNames, "in-place": inplaceNames, "reduce": reduceNames} {
		if len(names) == 0 {
			t.Errorf("%s: no ops", name)
		}
		for i, n := range names {
			if n == "" || n == "unknown op" {
				t.Errorf("%s op %d has no name", name, i)
			}
		}
	}
	if unaryNames[opIsFinite] != "isfinite" || binaryNames[opMatmul] != "matmul" || scalarNames[opRDivS] != "rdiv scalar" || reduceNames[opAmin] != "amin" {
		t.Error("Go op constants and shim names disagree")
	}
}
