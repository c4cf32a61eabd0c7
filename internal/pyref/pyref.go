// Package pyref runs PyTorch reference code (Debian's python3-torch at /usr/bin/python3) on
// tensors from Go and compares the results; it exists for tests.
package pyref

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sgan/torch"
)

// Python is the interpreter that has Debian's python3-torch.
const Python = "/usr/bin/python3"

// Run saves inputs, runs code with `inp` (the loaded dict), `out` (an empty dict) and the
// modules torch, F and math in scope, on one thread, and returns `out`. pythonPath ("" for none)
// is added to sys.path. Python runs isolated (-I) in a temporary folder, so the repository's torch/
// folder cannot shadow the torch module.
func Run(t testing.TB, inputs map[string]*torch.Tensor, pythonPath, code string) *torch.Archive {
	t.Helper()
	if _, err := os.Stat(Python); err != nil {
		t.Fatalf("%s not found: install python3-torch (scripts/setup does)", Python)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pt"), filepath.Join(dir, "out.pt")
	if err := torch.Save(in, inputs); err != nil {
		t.Fatal(err)
	}
	path := ""
	if pythonPath != "" {
		abs, err := filepath.Abs(pythonPath)
		if err != nil {
			t.Fatal(err)
		}
		path = fmt.Sprintf("sys.path.insert(0, %q)\n", abs)
	}
	script := "import sys, math, torch\n" + path + "import torch.nn.functional as F\ntorch.set_num_threads(1)\n" +
		"inp = torch.load(sys.argv[1])\nout = {}\n" + code + "\ntorch.save(out, sys.argv[2])\n"
	sp := filepath.Join(dir, "ref.py")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Python, "-I", sp, in, out)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python reference failed: %v\n%s", err, b)
	}
	a, err := torch.LoadArchive(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Free)
	return a
}

// Close reports whether |got - want| <= atol + rtol*|want| everywhere, and describes the worst
// element otherwise.
func Close(got, want *torch.Tensor, rtol, atol float64) (bool, string) {
	if fmt.Sprint(got.Shape()) != fmt.Sprint(want.Shape()) {
		return false, fmt.Sprintf("shape %v, want %v", got.Shape(), want.Shape())
	}
	g, w := got.Float32s(), want.Float32s()
	worst, at := 0.0, -1
	for i := range g {
		d := math.Abs(float64(g[i]) - float64(w[i]))
		lim := atol + rtol*math.Abs(float64(w[i]))
		if d > lim || math.IsNaN(float64(g[i])) != math.IsNaN(float64(w[i])) {
			if at < 0 || d-lim > worst {
				worst, at = d-lim, i
			}
		}
	}
	if at >= 0 {
		return false, fmt.Sprintf("element %d is %g, want %g (rtol %g, atol %g)", at, g[at], w[at], rtol, atol)
	}
	return true, ""
}

// CompareAll checks every tensor of got against the same key in ref.
func CompareAll(t testing.TB, got map[string]*torch.Tensor, ref *torch.Archive, rtol, atol float64) {
	t.Helper()
	for k, g := range got {
		w, ok := ref.Tensors[k]
		if !ok {
			t.Errorf("reference lacks %s", k)
			continue
		}
		if g == nil {
			t.Errorf("%s: Go result is nil", k)
			continue
		}
		if ok, why := Close(g, w, rtol, atol); !ok {
			t.Errorf("%s: %s", k, why)
		}
	}
	if len(got) == 0 {
		t.Error("nothing compared")
	}
}
