package torch

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleMatchesPython saves two tiny conv nets as TorchScript from Python (one scripted,
// returning a tensor; one traced, returning a tuple), loads them here and compares their
// outputs on a fixed input with PyTorch's.
func TestModuleMatchesPython(t *testing.T) {
	dir := t.TempDir()
	scripted := filepath.Join(dir, "scripted.pt")
	traced := filepath.Join(dir, "traced.pt")
	x := FromFloat32(fixedInput(2*3*17*19), 2, 3, 17, 19).Keep()
	defer x.Free()
	code := fmt.Sprintf(`
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, 5)
    def forward(self, x):
        h = F.leaky_relu(self.bn(self.conv(x)), 0.2)
        return self.fc(h.mean(dim=(2, 3)))

class Pair(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 5, padding=2)
    def forward(self, x):
        h = torch.tanh(self.conv(x))
        return h, h.sum()

torch.manual_seed(0)
a, b = Net(), Pair()
with torch.no_grad():
    a.bn.running_mean.uniform_(-0.5, 0.5)  # eval mode must use these, not batch statistics
    a.bn.running_var.uniform_(0.5, 2.0)
a.eval(); b.eval()
torch.jit.script(a).save(%q)
torch.jit.trace(b, inp["x"]).save(%q)
with torch.no_grad():
    out["a"] = a(inp["x"])
    out["b"] = b(inp["x"])[0]
`, scripted, traced)
	ref := runPython(t, map[string]*Tensor{"x": x}, code)

	for _, c := range []struct{ path, key string }{{scripted, "a"}, {traced, "b"}} {
		m, err := LoadModule(c.path, CPU)
		if err != nil {
			t.Fatal(err)
		}
		WithScope(func() {
			y, err := m.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			if y.RequiresGrad() {
				t.Errorf("%s: output requires grad", c.key)
			}
			assertClose(t, c.key, y, ref.Tensors[c.key], 1e-5, 1e-5)
		})
		m.Close()
		m.Close() // idempotent
		if _, err := m.Forward(x); err == nil {
			t.Errorf("forward of a closed module succeeded")
		}
	}

	// A wrong input shape is an error, not a crash.
	m, err := LoadModule(scripted, CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	WithScope(func() {
		_, err := m.Forward(Zeros([]int64{2, 1, 8, 8}, Options{}))
		t.Logf("%v", err)
		if err == nil || !strings.Contains(err.Error(), scripted) || strings.Contains(err.Error(), "\n") {
			t.Errorf("wrong input channels: %v", err)
		}
	})
}

func fixedInput(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((i*37)%101)/50 - 1
	}
	return v
}

// TestModuleLoadErrors: a missing file and a file that is not TorchScript give one-line errors
// naming the path.
func TestModuleLoadErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pt")
	junk := filepath.Join(dir, "junk.pt")
	if err := os.WriteFile(junk, []byte("this is not a zip archive\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state.pt") // a torch.save file: a zip, but no TorchScript code
	w := Ones([]int64{2}, Options{}).Keep()
	defer w.Free()
	if err := Save(state, map[string]*Tensor{"w": w}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{missing, junk, state} {
		m, err := LoadModule(p, CPU)
		if err == nil {
			m.Close()
			t.Errorf("%s loaded", p)
			continue
		}
		msg := err.Error()
		t.Logf("%s", msg)
		if !strings.Contains(msg, p) || strings.Contains(msg, "\n") {
			t.Errorf("error %q: want one line naming %s", msg, p)
		}
	}
}
