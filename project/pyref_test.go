package project

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sgan/torch"
)

// python is the interpreter with Debian's python3-torch, the reference of the parity tests.
const python = "/usr/bin/python3"

// runPython saves inputs with torch.save, runs code with `inp` (the loaded dict) and an empty
// dict `out` in scope, and returns what the code put in `out`. It runs outside the checkout,
// whose torch/ folder would shadow the module.
func runPython(t *testing.T, inputs map[string]*torch.Tensor, code string) *torch.Archive {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s not found: install python3-torch (scripts/setup does)", python)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pt"), filepath.Join(dir, "out.pt")
	if err := torch.Save(in, inputs); err != nil {
		t.Fatal(err)
	}
	script := "import sys, math, torch\nimport torch.nn.functional as F\ntorch.set_num_threads(1)\n" +
		"inp = torch.load(sys.argv[1])\nout = {}\n" + code + "\ntorch.save(out, sys.argv[2])\n"
	sp := filepath.Join(dir, "ref.py")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-I", sp, in, out)
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
