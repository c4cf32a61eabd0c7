package eval

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"sgan/torch"
)

// tinyInception writes a tiny TorchScript stand-in for Inception-v3 (random conv net, fixed
// seed) that checks the input contract ([N, 3, 299, 299] float32 in [0, 255]) and returns
// [N, 16, 1, 1] features, the shape of a pooled layer, which eval must flatten.
func tinyInception(t *testing.T) string {
	t.Helper()
	const python = "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("%s not found: install python3-torch (scripts/setup does)", python)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny-inception.pt")
	script := `import sys, torch
torch.set_num_threads(1)
class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 4, stride=4)
        self.c2 = torch.nn.Conv2d(8, 16, 3, stride=2)
    def forward(self, x):
        assert x.dtype == torch.float32
        assert x.size(1) == 3 and x.size(2) == 299 and x.size(3) == 299
        assert float(x.min()) >= 0.0 and float(x.max()) <= 255.0
        h = torch.relu(self.c1(x / 128.0 - 1.0))
        h = torch.relu(self.c2(h))
        return torch.nn.functional.adaptive_avg_pool2d(h, 1)
torch.manual_seed(0)
torch.jit.script(Tiny().eval()).save(sys.argv[1])
`
	sp := filepath.Join(dir, "make.py")
	if err := os.WriteFile(sp, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(python, sp, path).CombinedOutput(); err != nil {
		t.Fatalf("writing the TorchScript fixture: %v\n%s", err, b)
	}
	return path
}

// TestInceptionFeatures: with a tiny TorchScript extractor, real test images are closer to the
// real train images than noise is, in both FID and KID.
func TestInceptionFeatures(t *testing.T) {
	train, test, _ := fixture(t)
	m, err := torch.LoadModule(tinyInception(t), torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	live := torch.LiveTensors()
	train = train.Subset(sortedSubset(train.N, 120, 5))
	tf, err := InceptionFeatures(m, train)
	if err != nil {
		t.Fatal(err)
	}
	if tf.N != train.N || tf.D != 16 || len(tf.X) != tf.N*tf.D {
		t.Fatalf("features %dx%d (%d values), want %dx16", tf.N, tf.D, len(tf.X), train.N)
	}
	again, _ := InceptionFeatures(m, train)
	for i := range tf.X {
		if tf.X[i] != again.X[i] {
			t.Fatalf("features differ between calls at %d", i)
		}
	}
	ts := Stats(tf)
	score := func(imgs Images) (float64, float64) {
		f, err := InceptionFeatures(m, imgs)
		if err != nil {
			t.Fatal(err)
		}
		fid, err := FrechetDistance(ts, Stats(f))
		if err != nil {
			t.Fatal(err)
		}
		return fid, KID(tf, f, KIDConfig{Subsets: 20}).Mean
	}
	fidReal, kidReal := score(test)
	fidNoise, kidNoise := score(noise(test.N, 1, fixRes, fixRes, 7))
	t.Logf("fid real %.3f noise %.3f; kid real %.5f noise %.5f", fidReal, fidNoise, kidReal, kidNoise)
	if !(fidReal < fidNoise) || !(kidReal < kidNoise) {
		t.Errorf("real test images (fid %.3f, kid %.5f) are not closer to train than noise (fid %.3f, kid %.5f)", fidReal, kidReal, fidNoise, kidNoise)
	}
	if d := torch.LiveTensors() - live; d != 0 {
		t.Errorf("%d tensors leaked", d)
	}

	// A 2-channel batch is refused; a module with the wrong contract gives the module's error.
	if _, err := InceptionFeatures(m, Images{N: 1, C: 2, H: 4, W: 4, Pix: make([]float32, 32)}); err == nil {
		t.Errorf("2-channel images accepted")
	}
	if _, err := InceptionFeatures(m, Images{N: 1, C: 1, H: 4, W: 4, Pix: make([]float32, 16)}); err != nil {
		t.Errorf("a 4x4 gray image (resized to 299): %v", err)
	}
}
