package train

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sgan/run"
	"sgan/torch"
)

// TestNonFiniteIsNeverSaved: a network holding NaN is not saved over the last good checkpoint,
// and a checkpoint holding NaN (written by something else) is refused naming the tensor.
func TestNonFiniteIsNeverSaved(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyRun(t, dir)
	tr := openTrainer(t, cfg, "")
	defer tr.Close()
	good := filepath.Join(dir, "good.pt")
	if err := tr.save(good); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(good)
	w := tr.nets.G.Store.Get("synthesis.b8.conv0.weight")
	torch.NoGrad(func() { w.Fill(math.NaN()) })
	err := tr.save(good)
	if err == nil || !strings.Contains(err.Error(), "synthesis.b8.conv0.weight holds NaN or Inf") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("saving NaN weights: %v", err)
	}
	if after, _ := os.ReadFile(good); string(after) != string(before) {
		t.Error("the good checkpoint changed")
	}
	// A NaN checkpoint written bypassing the trainer's check is refused on loading.
	bad := filepath.Join(dir, "bad.pt")
	if err := tr.checkpoint().Save(bad); err != nil {
		t.Fatal(err)
	}
	for _, load := range []func() error{
		func() error { _, err := run.LoadCheckpoint(bad); return err },
		func() error { _, _, _, err := run.LoadGenerator(bad, torch.CPU); return err },
		func() error { _, err := Open(cfg, bad); return err },
	} {
		if err := load(); err == nil || !strings.Contains(err.Error(), "synthesis.b8.conv0.weight holds NaN or Inf") {
			t.Errorf("loading a NaN checkpoint: %v", err)
		}
	}
}

// TestResumeRepairsKilledOutputs: after a kill between writes, resuming removes the temporary
// files and writes the epoch checkpoint and sample grid the kill prevented.
func TestResumeRepairsKilledOutputs(t *testing.T) {
	dir := t.TempDir()
	cfg := tinyRun(t, dir)
	cfg.Train.Epochs, cfg.Train.Schedule, cfg.Train.SampleEpochs = 1, []run.Phase{{Epochs: 1, LR: 1e-3}}, []int{1}
	cfg.Train.CheckpointEvery = 1
	a := openTrainer(t, cfg, "")
	if err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.Close()
	d := run.Dir(dir)
	want, _ := os.ReadFile(d.Epoch(1))
	os.Remove(d.Epoch(1))
	os.Remove(d.Grid(1))
	stale := []string{filepath.Join(d.Models(), ".last.pt.tmp-123"), filepath.Join(d.Samples(), ".epoch001.png.tmp-9")}
	for _, p := range stale {
		os.WriteFile(p, []byte("half a file"), 0o644)
	}
	b := openTrainer(t, cfg, dir)
	defer b.Close()
	if err := b.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(d.Epoch(1))
	if err != nil {
		t.Fatal("epoch001.pt was not written on resume")
	}
	if len(got) != len(want) {
		t.Errorf("rewritten epoch checkpoint has %d bytes, the original %d", len(got), len(want))
	}
	if _, err := os.Stat(d.Grid(1)); err != nil {
		t.Error("the sample grid was not written on resume")
	}
	for _, p := range stale {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s survived the resume", p)
		}
	}
}

// TestDataProblemsAreReported: an empty class folder is refused when the classes are the labels
// (data.conditional) and named otherwise; images skipped under data.skip_bad are reported.
func TestDataProblemsAreReported(t *testing.T) {
	root := t.TempDir()
	for _, c := range []string{"AD", "NC", "MCI"} {
		os.MkdirAll(filepath.Join(root, c), 0o755)
	}
	for i := 0; i < 20; i++ {
		for _, c := range []string{"AD", "NC"} {
			img := image.NewGray(image.Rect(0, 0, 16, 16))
			for p := range img.Pix {
				img.Pix[p] = uint8(i*13 + p)
			}
			var b bytes.Buffer
			png.Encode(&b, img)
			os.WriteFile(filepath.Join(root, c, fmt.Sprintf("%02d.png", i)), b.Bytes(), 0o644)
		}
	}
	os.WriteFile(filepath.Join(root, "NC", "broken.png"), []byte("not a png"), 0o644)

	cfg := tinyRun(t, t.TempDir())
	cfg.Data.Root, cfg.Data.Conditional = root, true
	if _, err := Open(cfg, ""); err == nil || !strings.Contains(err.Error(), "MCI") {
		t.Fatalf("conditional run with an empty class folder: %v", err)
	}
	cfg.Data.Conditional, cfg.Data.SkipBad = false, true
	cfg.Train.Epochs, cfg.Train.Schedule, cfg.Train.SampleEpochs = 1, []run.Phase{{Epochs: 1, LR: 1e-3}}, []int{1}
	tr := openTrainer(t, cfg, "")
	defer tr.Close()
	var out bytes.Buffer
	tr.Out = &out
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "skipped 1 unreadable image (data.skip_bad)") || !strings.Contains(out.String(), "broken.png") {
		t.Errorf("no skip report in the output:\n%s", out.String())
	}
}
