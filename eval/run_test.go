package eval

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sgan/run"
	"sgan/torch"
	"sgan/train"
)

// tinyCheckpoint trains the tiny preset for one epoch on the demo data (about 10 s).
func tinyCheckpoint(t *testing.T) string {
	t.Helper()
	cfg, err := run.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Run.Dir = t.TempDir()
	cfg.Run.Quiet = true
	cfg.Train.Epochs = 1
	cfg.Train.Schedule = []run.Phase{{Epochs: 1, LR: 1e-3}}
	cfg.Train.SampleEpochs = nil
	cfg.Train.BatchSize = 16
	tr, err := train.Open(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Out = &strings.Builder{}
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(cfg.Run.Dir, "models", "epoch001.pt")
}

// TestRunEndToEnd evaluates a freshly trained tiny checkpoint (twice in one call, by file and
// by run folder) the way `sgan eval` does, checks the outputs, and checks that a second run
// reuses the cached feature net and reproduces every number.
func TestRunEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a tiny model")
	}
	ckpt := tinyCheckpoint(t)
	cache := t.TempDir()
	var log strings.Builder
	opt := Options{
		Checkpoints: []string{ckpt, filepath.Dir(filepath.Dir(ckpt))},
		N:           64,
		Device:      torch.CPU,
		CacheDir:    cache,
		Feature:     TrainConfig{Steps: 20, HFlip: true},
		SWD:         SWDConfig{Repeats: 1},
		KID:         KIDConfig{Subsets: 10},
		Inception:   tinyInception(t),
		Log:         &log,
	}
	rep, err := Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := rep.WriteOutputs(out, 4); err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	rep.WriteTable(&table)
	t.Logf("\n%s", table.String())
	if !strings.Contains(log.String(), "training feature net (autoencoder) 20/20") {
		t.Errorf("no feature-net progress in the log:\n%s", log.String())
	}
	if len(rep.Models) != 2 || rep.Models[0].Name == rep.Models[1].Name {
		t.Fatalf("models %+v", rep.Models)
	}
	a, b := rep.Models[0], rep.Models[1]
	if rep.Inception == nil || rep.Inception.Dim != 16 || a.FID == nil || b.FID == nil || rep.Reference.FID == nil {
		t.Fatalf("no fid/kid with --inception: %+v", rep.Inception)
	}
	if *a.FID != *b.FID || *a.KIDInc != *b.KIDInc {
		t.Errorf("the same checkpoint's fid/kid differ: %v/%v, %v/%v", *a.FID, *b.FID, *a.KIDInc, *b.KIDInc)
	}
	if !strings.Contains(table.String(), "fid") {
		t.Errorf("no fid column:\n%s", table.String())
	}
	if a.SWD.Mean != b.SWD.Mean || a.FD != b.FD || a.KID != b.KID {
		t.Errorf("the same checkpoint scored twice differs: %v/%v, %v/%v", a.SWD.Mean, b.SWD.Mean, a.FD, b.FD)
	}
	if y := rep.PrecisionYardstick; len(y) != 2 || y[0].ShiftPx != 1 || y[1].ShiftPx != 2 || !(y[0].Precision >= 0 && y[0].Precision <= 1) ||
		!(y[1].Precision >= 0 && y[1].Precision <= 1) || !strings.Contains(table.String(), "precision yardstick") {
		t.Errorf("precision yardstick %+v", y)
	}
	if a.FD <= rep.Reference.FD || a.SWD.Mean <= rep.Reference.SWD.Mean {
		t.Errorf("a 1-epoch model (fd %.3f, swd %.1f) scores no worse than real data (fd %.3f, swd %.1f)", a.FD, a.SWD.Mean, rep.Reference.FD, rep.Reference.SWD.Mean)
	}
	for _, f := range []string{"eval.json", "eval.png", "pairs-epoch001.pt.png", "pairs-last.pt.png"} {
		fh, err := os.Open(filepath.Join(out, f))
		if err != nil {
			t.Errorf("no %s: %v", f, err)
			continue
		}
		if strings.HasSuffix(f, ".png") {
			if _, err := png.Decode(fh); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
		fh.Close()
	}
	raw, _ := os.ReadFile(filepath.Join(out, "eval.json"))
	var js map[string]any
	if err := json.Unmarshal(raw, &js); err != nil {
		t.Fatalf("eval.json: %v", err)
	}
	for _, key := range []string{`"fd_domain"`, `"kid_domain"`, `"fid"`, `"kid"`, `"inception"`, `"swd"`, `"copy_frac"`, `"meehan_zu"`, `"precision"`, `"precision_yardstick"`} {
		if !strings.Contains(string(raw), key) {
			t.Errorf("eval.json lacks %s", key)
		}
	}

	// Second run: cached feature net, identical numbers.
	opt.Checkpoints = opt.Checkpoints[:1]
	log.Reset()
	rep2, err := Run(opt)
	if err != nil {
		t.Fatal(err)
	}
	if !rep2.FeatureNet.Cached || strings.Contains(log.String(), "training feature net") {
		t.Errorf("second run did not reuse the cached feature net:\n%s", log.String())
	}
	c := rep2.Models[0]
	if c.FD != a.FD || c.KID != a.KID || c.SWD.Mean != a.SWD.Mean || c.PRDC != a.PRDC || c.CopyPixel.CopyFrac != a.CopyPixel.CopyFrac {
		t.Errorf("numbers differ between runs: fd %v/%v kid %v/%v swd %v/%v", a.FD, c.FD, a.KID, c.KID, a.SWD.Mean, c.SWD.Mean)
	}
	if _, err := Run(Options{Checkpoints: []string{ckpt}, N: 5, CacheDir: cache}); err == nil {
		t.Errorf("5 images were accepted")
	}
}
