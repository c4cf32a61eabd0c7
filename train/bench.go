package train

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"sgan/model"
	"sgan/torch"
)

// BenchResult is what Bench measures.
type BenchResult struct {
	StepMs      []float64 `json:"step_ms"`        // each timed training step (critic + generator + EMA)
	StepMedian  float64   `json:"step_median_ms"` // their median
	ImagesPerS  float64   `json:"images_per_s"`   // batch / median step
	GForwardMs  float64   `json:"g_forward_median_ms"`
	GForwardN   int       `json:"g_forward_batch"`
	Batch       int       `json:"batch"`
	Device      string    `json:"device"`
	Threads     int       `json:"threads"`
	BLAS        string    `json:"blas"` // the BLAS library libtorch's matrix products use`
	Resolution  int       `json:"resolution"`
	GParams     int64     `json:"g_params"`
	DParams     int64     `json:"d_params"`
	WeightsFile string    `json:"weights_file,omitempty"`
	BatchFile   string    `json:"batch_file,omitempty"`
}

// Bench times training steps on one fixed batch (so the input pipeline is not measured) after
// warm-up, and the generator forward without gradients at batch gBatch. With weightsFile set it
// first writes the starting weights and the batch (batchFile) so a PyTorch run can do the same work.
func (t *Trainer) Bench(warmup, steps, gBatch int, weightsFile, batchFile string) (*BenchResult, error) {
	// As in Run: one OS thread for all libtorch work, so OpenMP keeps one warm thread team.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t.Cfg.Train.LogEvery = 1 << 30 // no per-step host syncs for logging
	it := t.loader.Epoch(context.Background(), 1, 0)
	b, err := it.Next()
	it.Close()
	if err != nil {
		return nil, fmt.Errorf("bench: first batch: %w", err)
	}
	if weightsFile != "" {
		if err := t.save(weightsFile); err != nil {
			return nil, err
		}
		a := torch.NewArchive()
		var real *torch.Tensor
		torch.WithScope(func() {
			real = torch.FromFloat32(b.Images, int64(b.N), int64(b.C), int64(b.H), int64(b.W)).Keep()
		})
		defer real.Free()
		a.Tensors["real"] = real
		if err := torch.SaveArchive(batchFile, a); err != nil {
			return nil, err
		}
	}
	r := &BenchResult{Batch: b.N, Device: t.Device.String(), Threads: torch.NumThreads(), BLAS: torch.BLASLibrary(), Resolution: t.Cfg.Model.Resolution,
		GParams: t.nets.G.Store.NumParams(), DParams: t.nets.D.Store.NumParams(), WeightsFile: weightsFile, BatchFile: batchFile}
	lr := t.Cfg.LRAt(1, 0)
	for i := 0; i < warmup+steps; i++ {
		start := time.Now()
		if _, err := t.trainStep(b, lr); err != nil {
			return nil, err
		}
		if err := torch.Synchronize(); err != nil {
			return nil, err
		}
		if i >= warmup {
			r.StepMs = append(r.StepMs, float64(time.Since(start).Microseconds())/1000)
		}
	}
	r.StepMedian = median(r.StepMs)
	r.ImagesPerS = float64(b.N) / (r.StepMedian / 1000)

	r.GForwardN = gBatch
	var gms []float64
	err = torch.Try(func() {
		for i := 0; i < warmup+steps; i++ {
			torch.WithScope(func() {
				start := time.Now()
				torch.NoGrad(func() {
					z := torch.Randn([]int64{int64(gBatch), int64(t.Cfg.Model.ZDim)}, t.gen, torch.Options{Device: t.Device})
					t.nets.G.Forward(z, t.benchLabels(gBatch), 1, model.NoiseRandom, t.gen)
				})
				torch.Synchronize()
				if i >= warmup {
					gms = append(gms, float64(time.Since(start).Microseconds())/1000)
				}
			})
		}
	})
	r.GForwardMs = median(gms)
	return r, err
}

func (t *Trainer) benchLabels(n int) *torch.Tensor {
	if t.Cfg.Model.NumClasses == 0 {
		return nil
	}
	return t.nets.G.OneHot(torch.Zeros([]int64{int64(n)}, torch.Options{DType: torch.Int64}))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Quiet silences the trainer's messages.
func (t *Trainer) Quiet() { t.Out = io.Discard }
