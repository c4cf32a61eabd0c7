package train

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sgan/model"
	"sgan/run"
	"sgan/torch"
)

func tinyRun(t *testing.T, dir string) run.Config {
	t.Helper()
	cfg, err := run.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Run.Dir = dir
	cfg.Run.Quiet = true
	cfg.Run.Seed = 3
	cfg.Train.BatchSize = 16
	cfg.Train.LogEvery = 2
	return cfg
}

func openTrainer(t *testing.T, cfg run.Config, resume string) *Trainer {
	t.Helper()
	tr, err := Open(cfg, resume)
	if err != nil {
		t.Fatal(err)
	}
	tr.Out = io.Discard
	return tr
}

// TestTrainWritesOutputsAndResumesExactly trains the tiny preset on the demo data twice: once
// straight through, once interrupted mid-epoch and resumed from models/last.pt. Both must end
// with the same weights, and the run folder must hold checkpoints, samples and the loss plot.
func TestTrainWritesOutputsAndResumesExactly(t *testing.T) {
	base := t.TempDir()
	// With ADA on, so that its draws and its p are replayed exactly on resume too.
	cfgA := tinyRun(t, filepath.Join(base, "a"))
	cfgA.Train.Augment = "ada"
	cfgA.Train.ADAP, cfgA.Train.ADAKimg, cfgA.Train.ADAInterval = 0.2, 0.2, 3
	a := openTrainer(t, cfgA, "")
	defer a.Close()
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"models/epoch001.pt", "models/epoch002.pt", "models/last.pt", "stylegan_outputs/epoch002.png", "losses.csv", "losses.png", "config.toml"} {
		if _, err := os.Stat(filepath.Join(base, "a", f)); err != nil {
			t.Errorf("run folder lacks %s", f)
		}
	}
	if f, err := os.Open(filepath.Join(base, "a", "stylegan_outputs/epoch002.png")); err == nil {
		if _, err := png.Decode(f); err != nil {
			t.Errorf("sample grid is not a PNG: %v", err)
		}
		f.Close()
	}

	cfgB := tinyRun(t, filepath.Join(base, "b"))
	cfgB.Train = cfgA.Train
	b := openTrainer(t, cfgB, "")
	stopAt := int64(a.loader.BatchesPerEpoch()) + 3 // mid-way through epoch 2
	if err := b.RunUntil(context.Background(), stopAt); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run returned %v", err)
	}
	b.Close()
	c := openTrainer(t, cfgB, filepath.Join(base, "b"))
	defer c.Close()
	if c.Epoch() != 1 || c.Step() != stopAt {
		t.Fatalf("resumed at epoch %d step %d, want 1 and %d", c.Epoch(), c.Step(), stopAt)
	}
	if err := c.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.Step() != a.Step() {
		t.Fatalf("resumed run took %d steps, straight run %d", c.Step(), a.Step())
	}
	if pa, pc := a.aug.p(), c.aug.p(); pa != pc || pa == cfgA.Train.ADAP {
		t.Errorf("ADA's p: straight run %g, resumed %g (started at %g)", pa, pc, cfgA.Train.ADAP)
	}
	for _, pair := range [][2]map[string]*torch.Tensor{
		{a.nets.G.Store.StateDict(), c.nets.G.Store.StateDict()},
		{a.nets.D.Store.StateDict(), c.nets.D.Store.StateDict()},
		{a.nets.GEma.Store.StateDict(), c.nets.GEma.Store.StateDict()},
	} {
		for name, x := range pair[0] {
			var d float64
			torch.WithScope(func() { d = x.Sub(pair[1][name]).Abs().Amax(nil, false).Item() })
			if d > 1e-5 {
				t.Errorf("%s differs by %g between straight and resumed runs", name, d)
			}
		}
	}
	// The loss log of the resumed run has each step once.
	b2, _ := os.ReadFile(filepath.Join(base, "b", "losses.csv"))
	a2, _ := os.ReadFile(filepath.Join(base, "a", "losses.csv"))
	if la, lb := strings.Count(string(a2), "\n"), strings.Count(string(b2), "\n"); la != lb {
		t.Errorf("loss log rows: straight %d, resumed %d", la, lb)
	}
}

// TestCriticLearnsToSeparate checks that the losses move the way a working WGAN-GP does: after
// some steps the critic scores real images above generated ones.
func TestCriticLearnsToSeparate(t *testing.T) {
	cfg := tinyRun(t, t.TempDir())
	cfg.Train.Epochs = 1
	cfg.Train.Schedule = []run.Phase{{Epochs: 1, LR: 2e-3}}
	cfg.Train.SampleEpochs = nil
	tr := openTrainer(t, cfg, "")
	defer tr.Close()
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	rows := tr.log.Len()
	if rows < 5 {
		t.Fatalf("only %d loss rows", rows)
	}
	b, _ := os.ReadFile(filepath.Join(cfg.Run.Dir, "losses.csv"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	header := strings.Split(lines[0], ",")
	col := func(name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, header)
		return -1
	}
	ir, ifk := col("d_real"), col("d_fake")
	var gap float64
	n := 0
	for _, l := range lines[len(lines)/2:] {
		f := strings.Split(l, ",")
		gap += parseF(f[ir]) - parseF(f[ifk])
		n++
	}
	if gap/float64(n) <= 0 {
		t.Errorf("critic does not score reals above fakes in the second half (mean gap %g)", gap/float64(n))
	}
}

func TestCheckpointIsAtomicAndValidated(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyRun(t, dir)
	tr := openTrainer(t, cfg, "")
	defer tr.Close()
	good := filepath.Join(dir, "ck.pt")
	if err := tr.save(good); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(good)
	// A save that cannot be written (its folder would have to be made inside a file) fails and
	// leaves the old file untouched.
	blocker := filepath.Join(dir, "afile")
	os.WriteFile(blocker, nil, 0o644)
	if err := tr.save(filepath.Join(blocker, "sub", "ck.pt")); err == nil {
		t.Error("save under a file succeeded")
	}
	after, _ := os.ReadFile(good)
	if string(before) != string(after) {
		t.Error("checkpoint changed")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
	// A file that is not an sgan checkpoint gets a one-line error naming it.
	bogus := filepath.Join(dir, "bogus.pt")
	os.WriteFile(bogus, []byte("hello"), 0o644)
	if _, err := run.LoadCheckpoint(bogus); err == nil || !strings.Contains(err.Error(), bogus) || strings.Contains(err.Error(), "\n") {
		t.Errorf("bogus checkpoint: %v", err)
	}
	if _, err := Open(cfg, filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("resume from a missing run: %v", err)
	}
	G, _, _, err := run.LoadGenerator(good, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	G.Free()
}

func parseF(s string) float64 {
	var v float64
	if _, err := fmt.Sscan(s, &v); err != nil {
		return 0
	}
	return v
}

// TestCPUBudgetEndsTheRun: train.cpu_minutes stops the run when the process has used that much
// CPU time, with the final outputs written as at the last epoch (and a resumable position).
func TestCPUBudgetEndsTheRun(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyRun(t, dir)
	cfg.Train.CPUMinutes = 1e-6 // spent already: stops before the first step of epoch 1 is taken twice
	tr := openTrainer(t, cfg, "")
	defer tr.Close()
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tr.Epoch() != 0 || tr.Step() >= int64(tr.loader.BatchesPerEpoch()) {
		t.Errorf("the run went on: epoch %d, step %d", tr.Epoch(), tr.Step())
	}
	for _, f := range []string{"models/last.pt", "models/epoch001.pt", "stylegan_outputs/epoch001.png", "losses.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("no %s after the budget ran out", f)
		}
	}
}

// TestTrainNoiseModes: with train.noise = "none" the noise strengths get no gradient and stay 0
// (the generator's images cannot depend on noise), the default "random" moves them, and
// train.noise_max_res = 8 moves only those of the 4x4 and 8x8 layers.
func TestTrainNoiseModes(t *testing.T) {
	for _, tt := range []struct {
		noise  string
		maxRes int
		moved  string // the layers (by block) whose strengths must move; the others stay 0
	}{{"random", 0, "b4 b8 b16 b32"}, {"none", 0, ""}, {"random", 8, "b4 b8"}} {
		t.Run(fmt.Sprintf("%s-%d", tt.noise, tt.maxRes), func(t *testing.T) {
			cfg := tinyRun(t, t.TempDir())
			cfg.Train.Noise, cfg.Train.NoiseMaxRes = tt.noise, tt.maxRes
			tr := openTrainer(t, cfg, "")
			defer tr.Close()
			if err := tr.RunUntil(context.Background(), 6); !errors.Is(err, ErrInterrupted) {
				t.Fatalf("run returned %v", err)
			}
			n := 0
			for _, name := range tr.nets.G.Store.Names() {
				if !strings.HasSuffix(name, ".noise_strength") {
					continue
				}
				n++
				block := strings.Split(name, ".")[1]
				want := strings.Contains(" "+tt.moved+" ", " "+block+" ")
				if got := tr.nets.G.Store.Get(name).Item() != 0; got != want {
					t.Errorf("%s moved from 0: %v, want %v", name, got, want)
				}
			}
			if n == 0 {
				t.Error("no noise strengths")
			}
			// Switching the noise off (as --init or a resume with train.noise = "none" does) zeroes
			// the strengths the run will not train, in G and in its average.
			tr.Cfg.Train.Noise = "none"
			tr.silenceNoise()
			for _, g := range []*model.Generator{tr.nets.G, tr.nets.GEma} {
				for _, name := range g.Store.Names() {
					if strings.HasSuffix(name, ".noise_strength") && g.Store.Get(name).Item() != 0 {
						t.Errorf("after silenceNoise %s = %g", name, g.Store.Get(name).Item())
					}
				}
			}
		})
	}
}
