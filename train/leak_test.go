package train

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"sgan/torch"
)

func rssKB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestTrainingStepDoesNotLeak runs the real training step, every phase on (the WGAN-GP critic
// loss and penalty, R1 as its own lazy phase, the generator loss, path length as its own lazy
// phase, style mixing, DiffAugment or ADA, the EMA update), for many steps and requires the count of
// live tensor handles to be exactly flat and the resident memory to stay within a few MB after
// warm-up.
func TestTrainingStepDoesNotLeak(t *testing.T) {
	steps := 200
	if testing.Short() {
		steps = 80
	}
	for _, loss := range []string{"wgan-gp", "logistic"} {
		t.Run(loss, func(t *testing.T) {
			cfg := tinyRun(t, t.TempDir())
			cfg.Model.Resolution = 16
			cfg.Model.ChannelBase, cfg.Model.ChannelMax = 64, 16
			cfg.Train.BatchSize = 8
			cfg.Train.Loss = loss
			cfg.Train.R1Gamma, cfg.Train.R1Interval = 1, 2
			cfg.Train.PLWeight, cfg.Train.PLInterval = 2, 3
			if loss == "wgan-gp" {
				cfg.Train.DiffAug = "translation,cutout,color"
			} else {
				cfg.Train.Augment, cfg.Train.ADAP, cfg.Train.ADAKimg = "ada", 0.5, 0.1
			}
			cfg.Train.LogEvery = 5
			tr := openTrainer(t, cfg, "")
			defer tr.Close()
			it := tr.loader.Epoch(context.Background(), 1, 0)
			b, err := it.Next()
			it.Close()
			if err != nil {
				t.Fatal(err)
			}
			step := func() {
				if _, err := tr.trainStep(b, 1e-3); err != nil {
					t.Fatal(err)
				}
			}
			// Warm-up: the allocator settles (tensor-sized blocks stay in glibc's heap, torch/device.go).
			warm := steps / 2
			for range warm {
				step()
			}
			live0, rss0 := torch.LiveTensors(), rssKB(t)
			for range steps - warm {
				step()
			}
			live1, rss1 := torch.LiveTensors(), rssKB(t)
			t.Logf("%d steps: live handles %d -> %d, RSS %d -> %d KB", steps-warm, live0, live1, rss0, rss1)
			if live1 != live0 {
				t.Errorf("live tensor handles grew from %d to %d over %d steps", live0, live1, steps-warm)
			}
			if rss1-rss0 > 8<<10 {
				t.Errorf("RSS grew by %d KB over %d steps", rss1-rss0, steps-warm)
			}
			if tr.pos.gSteps < 3 || tr.plMean == 0 {
				t.Errorf("path-length phase did not run (%d generator steps, pl mean %g)", tr.pos.gSteps, tr.plMean)
			}
		})
	}
}
