package torch

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// python is the interpreter with Debian's python3-torch; the reference for every parity test.
const python = "/usr/bin/python3"

// runPython saves inputs to a torch.save file, runs code with `inp` (the loaded dict) and an
// empty dict `out` in scope, and returns what the code put in `out`.
func runPython(t *testing.T, inputs map[string]*Tensor, code string) *Archive {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s not found: install python3-torch (scripts/setup does)", python)
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pt")
	out := filepath.Join(dir, "out.pt")
	if err := Save(in, inputs); err != nil {
		t.Fatal(err)
	}
	script := "import sys, torch\nimport torch.nn.functional as F\ntorch.set_num_threads(1)\n" +
		"inp = torch.load(sys.argv[1])\nout = {}\n" + code + "\ntorch.save(out, sys.argv[2])\n"
	sp := filepath.Join(dir, "ref.py")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, sp, in, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python reference failed: %v\n%s", err, b)
	}
	a, err := LoadArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Free)
	return a
}

// assertClose fails unless |got - want| <= atol + rtol*|want| element-wise, reporting the worst.
func assertClose(t *testing.T, name string, got, want *Tensor, rtol, atol float64) {
	t.Helper()
	if got == nil || want == nil {
		t.Errorf("%s: got %v, want %v", name, got, want)
		return
	}
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape()) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape(), want.Shape())
		return
	}
	g, w := got.Float32s(), want.Float32s()
	worst, at := 0.0, -1
	for i := range g {
		d := math.Abs(float64(g[i]) - float64(w[i]))
		lim := atol + rtol*math.Abs(float64(w[i]))
		if d > lim || math.IsNaN(float64(g[i])) != math.IsNaN(float64(w[i])) {
			if d-lim > worst || at < 0 {
				worst, at = d-lim, i
			}
		}
	}
	if at >= 0 {
		t.Errorf("%s: element %d is %g, want %g (rtol %g, atol %g)", name, at, g[at], w[at], rtol, atol)
	}
}

func compareAll(t *testing.T, got map[string]*Tensor, ref *Archive, rtol, atol float64) {
	t.Helper()
	for k, g := range got {
		w, ok := ref.Tensors[k]
		if !ok {
			t.Errorf("reference lacks %s", k)
			continue
		}
		assertClose(t, k, g, w, rtol, atol)
	}
	if len(got) == 0 || len(got) != len(ref.Tensors) {
		t.Errorf("compared %d outputs, reference has %d", len(got), len(ref.Tensors))
	}
}

func randn(g *Generator, shape ...int64) *Tensor { return Randn(shape, g, Options{}) }

func pyList(s []int64) string {
	p := make([]string, len(s))
	for i, v := range s {
		p[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(p, ",") + "]"
}
