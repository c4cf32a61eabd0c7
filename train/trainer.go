package train

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"

	"sgan/data"
	"sgan/figure"
	"sgan/internal/safefile"
	"sgan/model"
	"sgan/run"
	"sgan/tensorboard"
	"sgan/torch"
)

// ErrInterrupted is returned when the context was cancelled (Ctrl-C, SIGTERM) or RunUntil's step
// was reached, after the state was saved to models/last.pt.
var ErrInterrupted = errors.New("train: interrupted; state saved, continue with sgan train --resume")

// Trainer runs one training run: the networks and their optimizers, the data, where the run is,
// and what it writes.
type Trainer struct {
	Cfg    run.Config
	Dir    run.Dir
	Device torch.Device
	Out    io.Writer // progress and messages (os.Stderr by default)

	nets    networks
	phases  []phase
	loss    lossFamily       // train.loss, chosen once at open
	aug     *criticAug       // train.augment
	gen     *torch.Generator // latents and noise on the device
	loader  *data.Loader
	classes []string
	pos     position
	plMean  float64 // running mean of path lengths (path-length regularization)
	log     *run.LossLog
	tb      *tensorboard.Writer // nil on ranks other than 0

	skipsReported int       // unreadable images (data.skip_bad) reported so far
	tbFlush       time.Time // when tb was last flushed
	dist          distState
}

// networks are the models of a run and their optimizers.
type networks struct {
	G, GEma    *model.Generator // GEma is nil when train.ema is off
	D          *model.Critic
	optG, optD *torch.Adam
}

// position is where a run is; checkpoints store it.
type position struct {
	epoch  int   // completed epochs
	batch  int   // next batch within epoch+1
	step   int64 // iterations (critic steps) taken
	gSteps int64 // generator steps taken
}

// Open prepares a run: the dataset, the networks on the device, optimizers and the output
// folder. resume names a run folder or checkpoint to continue from ("" for a fresh run).
func Open(cfg run.Config, resume string) (*Trainer, error) { return OpenDist(cfg, resume, nil) }

// OpenDist is Open for one process of a data-parallel run over pg (nil: a single process). The
// configured batch size is global: every rank reads the same batches and trains on its own
// contiguous share of each. Parameters are broadcast from rank 0 after building (and resuming).
func OpenDist(cfg run.Config, resume string, pg *torch.ProcessGroup) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.CheckData(); err != nil {
		return nil, err
	}
	if err := checkDistConfig(cfg, pg); err != nil {
		return nil, err
	}
	if cfg.Run.Threads > 0 {
		torch.SetNumThreads(cfg.Run.Threads)
	}
	dev, err := torch.ParseDevice(cfg.Run.Device)
	if err != nil {
		return nil, fmt.Errorf("run.device: %w", err)
	}
	if dev.IsCUDA() {
		torch.SetCUDAPerf(true, true)
	}
	ds, err := data.Open(cfg.Data.Root, cfg.Data.Split)
	if err != nil {
		return nil, err
	}
	if ds.Len() < cfg.Train.BatchSize {
		return nil, fmt.Errorf("train.batch_size = %d: the dataset has only %d images", cfg.Train.BatchSize, ds.Len())
	}
	t := &Trainer{Cfg: cfg, Dir: run.Dir(cfg.Run.Dir), Device: dev, Out: os.Stderr, classes: ds.Classes(), dist: distState{world: 1}}
	t.loss = newLossFamily(cfg.Train)
	if pg != nil {
		t.dist = distState{pg: pg, rank: pg.Rank, world: pg.World}
		if t.dist.rank != 0 {
			t.Out = io.Discard // only rank 0 reports
		}
	}
	warning, err := data.CheckClasses(ds, cfg.Data.Conditional)
	if err != nil {
		return nil, err
	}
	if warning != "" && t.dist.rank == 0 {
		fmt.Fprintf(t.Out, "sgan: %s\n", warning)
	}
	if cfg.Data.Conditional {
		if len(ds.Classes()) < 2 {
			return nil, fmt.Errorf("data.conditional = true, but %s has %d class folder(s); set it to false", dataName(cfg), len(ds.Classes()))
		}
		t.Cfg.Model.NumClasses = len(ds.Classes())
	} else {
		t.Cfg.Model.NumClasses = 0
	}
	t.loader, err = data.NewLoader(ds, data.LoaderConfig{
		BatchSize: cfg.Train.BatchSize, Resolution: cfg.Model.Resolution, Channels: cfg.Model.Channels,
		HFlip: cfg.Data.HFlip, Seed: cfg.Run.Seed, Workers: cfg.Data.Workers, SkipBad: cfg.Data.SkipBad,
		Augment: data.Augment{RotateDeg: cfg.Data.RotateDeg, Brightness: cfg.Data.Brightness, Contrast: cfg.Data.Contrast},
	})
	if err != nil {
		return nil, err
	}
	if err := t.build(); err != nil {
		t.Close()
		return nil, err
	}
	if t.aug, err = newCriticAug(cfg.Train, cfg.Model.Channels, dev); err != nil {
		t.Close()
		return nil, err
	}
	t.phases = t.buildPhases()
	if resume != "" {
		if err := t.restore(resume); err != nil {
			t.Close()
			return nil, err
		}
	}
	t.silenceNoise()
	if err := t.syncStart(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func dataName(cfg run.Config) string {
	if cfg.Data.Root == "" {
		return "the demo data"
	}
	return cfg.Data.Root
}

// build makes the networks (initial weights from the run seed), optimizers and the device
// generator.
func (t *Trainer) build() error {
	seed := uint64(t.Cfg.Run.Seed)
	var err error
	n := &t.nets
	if n.G, err = model.NewGenerator(t.Cfg.Model, seed*4+1, t.Device); err != nil {
		return err
	}
	if n.D, err = model.NewCritic(t.Cfg.Model, seed*4+2, t.Device); err != nil {
		return err
	}
	if t.Cfg.Train.EMA {
		if n.GEma, err = model.NewGenerator(t.Cfg.Model, seed*4+1, t.Device); err != nil {
			return err
		}
		for _, p := range n.GEma.Store.Params() {
			p.SetRequiresGrad(false)
		}
	}
	tc := t.Cfg.Train
	// Lazy regularization (NVlabs): a penalty applied every k steps is scaled by k, and the
	// optimizer's LR and betas by k/(k+1).
	dRatio, gRatio := lazyRatio(tc.R1Interval, tc.R1Gamma > 0), lazyRatio(tc.PLInterval, tc.PLWeight > 0)
	n.optD = torch.NewAdam(n.D.Store.Params(), torch.AdamConfig{Beta1: math.Pow(tc.Beta1, dRatio), Beta2: math.Pow(tc.Beta2, dRatio), Eps: tc.Eps})
	n.optG = torch.NewAdam(n.G.Store.Params(), torch.AdamConfig{Beta1: math.Pow(tc.Beta1, gRatio), Beta2: math.Pow(tc.Beta2, gRatio), Eps: tc.Eps})
	t.gen, err = torch.NewGenerator(t.Device, seed*4+3)
	return err
}

func lazyRatio(interval int, on bool) float64 {
	if !on || interval <= 1 {
		return 1
	}
	return float64(interval) / float64(interval+1)
}

// Close frees everything the trainer holds.
func (t *Trainer) Close() {
	for _, g := range []*model.Generator{t.nets.G, t.nets.GEma} {
		if g != nil {
			g.Free()
		}
	}
	if t.nets.D != nil {
		t.nets.D.Free()
	}
	if t.nets.optD != nil {
		t.nets.optD.Free()
		t.nets.optG.Free()
	}
	t.gen.Close()
	t.aug.free()
	if t.log != nil {
		t.log.Close()
	}
}

// Epoch is the number of completed epochs.
func (t *Trainer) Epoch() int { return t.pos.epoch }

// Step is the number of iterations (critic steps) taken.
func (t *Trainer) Step() int64 { return t.pos.step }

// Sampler is the generator samples come from: the EMA copy when there is one.
func (t *Trainer) Sampler() *model.Generator {
	if t.nets.GEma != nil {
		return t.nets.GEma
	}
	return t.nets.G
}

// lossColumns are the loss log's columns.
var lossColumns = []string{"loss_g", "loss_d", "gp", "r1", "pl", "d_real", "d_fake", "ada_p", "ada_rt", "lr"}

// Run trains until the configured number of epochs, writing checkpoints, samples and the loss
// log. Cancelling ctx saves models/last.pt and returns ErrInterrupted.
func (t *Trainer) Run(ctx context.Context) error { return t.RunUntil(ctx, 0) }

// RunUntil is Run that stops as if interrupted (saving models/last.pt, returning
// ErrInterrupted) once stopStep iterations are done; 0 runs to the end.
func (t *Trainer) RunUntil(ctx context.Context, stopStep int64) error {
	// libtorch's grad mode and CUDA state are thread-local: keep the whole run on one OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if t.dist.rank == 0 {
		// Only rank 0 writes: the run folder, checkpoints, samples and the loss log.
		if err := t.Dir.Create(); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		unlock, err := t.Dir.Lock()
		if err != nil {
			return fmt.Errorf("train: %w", err)
		}
		defer unlock()
		if err := t.repairOutputs(); err != nil {
			return err
		}
		if err := writeConfig(t.Dir, t.Cfg); err != nil {
			return err
		}
		if t.log, err = run.OpenLossLog(string(t.Dir), lossColumns, t.pos.step > 0); err != nil {
			return err
		}
		if t.pos.step > 0 {
			// Rows logged after the checkpoint was written are replayed by this run.
			if err := t.log.Truncate(t.pos.step + 1); err != nil {
				return err
			}
		}
		if t.tb, err = tensorboard.NewWriter(string(t.Dir)); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		defer t.tb.Close()
		if t.pos.step > 0 {
			t.tb.PurgeFrom(t.pos.step + 1) // TensorBoard drops what the interrupted run logged later
		}
		t.tbFlush = time.Now()
	}
	tc := t.Cfg.Train
	perEpoch := t.loader.BatchesPerEpoch()
	prog := NewProgress(t.Out, t.Cfg.Run.Quiet, tc.Epochs, perEpoch)
	fmt.Fprintf(t.Out, "sgan: %s, %d images (%d classes), %d steps/epoch, G %s params, D %s params, on %s, %d threads\n",
		dataName(t.Cfg), t.loader.Dataset().Len(), len(t.classes), perEpoch, human(t.nets.G.Store.NumParams()),
		human(t.nets.D.Store.NumParams()), t.Device, torch.NumThreads())
	loaderCtx := ctx
	if t.dist.pg != nil {
		fmt.Fprintf(t.Out, "sgan: data-parallel over %d processes (%s), %d images per process per step\n",
			t.dist.world, t.dist.pg.Backend, tc.BatchSize/t.dist.world)
		// Ranks must stop at the same step: a signal only raises this rank's stop request, which
		// the ranks agree on with the next gradient allreduce; the loader never stops by itself.
		loaderCtx = context.WithoutCancel(ctx)
	}
	// train.cpu_minutes: the budget of this process's CPU time (rank 0's decides for all).
	budget := time.Duration(tc.CPUMinutes * float64(time.Minute))
	overBudget := func() bool { return budget > 0 && t.dist.rank == 0 && cpuTime() >= budget }
	stopHere := func(step int64) bool {
		return ctx.Err() != nil || (stopStep > 0 && step >= stopStep) || overBudget()
	}

	for t.pos.epoch < tc.Epochs {
		e := t.pos.epoch + 1
		it := t.loader.Epoch(loaderCtx, e, t.pos.batch)
		start, imgs := time.Now(), 0
		var last map[string]float64
		for {
			if (t.dist.pg == nil && stopHere(t.pos.step)) || t.dist.stopAll {
				it.Close()
				if ctx.Err() == nil && overBudget() {
					return t.endEarly(e, budget)
				}
				return t.interrupt()
			}
			b, err := it.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				it.Close()
				if ctx.Err() != nil {
					return t.interrupt()
				}
				return err
			}
			lr := t.Cfg.LRAt(e, float64(t.pos.batch)/float64(perEpoch))
			t.dist.stopLocal = stopHere(t.pos.step + 1)
			stats, err := t.trainStep(b, lr)
			if err != nil {
				it.Close()
				return err
			}
			t.pos.batch++
			imgs += b.N
			if stats != nil {
				last = stats
				if err := t.checkFinite(stats); err != nil {
					it.Close()
					return err
				}
				if err := t.record(e, stats, float64(imgs)/time.Since(start).Seconds()); err != nil {
					it.Close()
					return err
				}
			}
			prog.Update(e, t.pos.batch, float64(imgs)/time.Since(start).Seconds(), last)
		}
		it.Close()
		t.pos.epoch, t.pos.batch = e, 0
		if err := t.endEpoch(e); err != nil {
			return err
		}
		prog.EndEpoch(e, fmt.Sprintf("%.1f img/s", float64(imgs)/time.Since(start).Seconds()))
	}
	return nil
}

// cpuTime is the CPU time this process has used (user and system, all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// endEarly ends a run whose CPU budget ran out in epoch e: the checkpoint (last.pt and
// epochNNN.pt, which resume mid-epoch), the sample grid and the loss plot, as at the last epoch.
func (t *Trainer) endEarly(e int, budget time.Duration) error {
	if t.dist.rank != 0 {
		return ErrInterrupted
	}
	fmt.Fprintf(t.Out, "\nsgan: train.cpu_minutes = %g used up at epoch %d, step %d; writing the final outputs\n", budget.Minutes(), e, t.pos.step)
	if err := t.save(t.Dir.Last(), t.Dir.Epoch(e)); err != nil {
		return err
	}
	img, err := t.SaveGrid(t.Dir.Grid(e))
	if err != nil {
		return err
	}
	if err := t.tb.Image("samples/grid", t.pos.step, img); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	t.flushTB()
	return t.plotLosses()
}

// record writes a log tick's values to losses.csv and TensorBoard (rank 0).
func (t *Trainer) record(epoch int, stats map[string]float64, imgsPerSec float64) error {
	if t.log == nil {
		return nil
	}
	if err := t.log.Add(t.pos.step, epoch, stats); err != nil {
		return err
	}
	tags := make(map[string]float64, len(stats)+1)
	for k, v := range stats {
		switch k {
		case "lr":
			tags["train/lr"] = v
		case "ada_p":
			tags["ada/p"] = v
		case "ada_rt":
			tags["ada/r_t"] = v
		default:
			tags["loss/"+k] = v
		}
	}
	tags["perf/img_per_s"] = imgsPerSec
	t.tb.Scalars(t.pos.step, tags)
	if time.Since(t.tbFlush) > 30*time.Second {
		t.flushTB()
	}
	return nil
}

// flushTB writes TensorBoard's pending records; a failure is reported, not fatal (the CSV log
// and checkpoints are what a run needs).
func (t *Trainer) flushTB() {
	t.tbFlush = time.Now()
	if err := t.tb.Flush(); err != nil {
		fmt.Fprintf(t.Out, "\nsgan: warning: %v\n", err)
	}
}

// writeConfig stores the run's config next to its outputs.
func writeConfig(d run.Dir, cfg run.Config) error {
	return safefile.Write(d.ConfigFile(), []byte(cfg.TOML()))
}

func human(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func (t *Trainer) checkFinite(stats map[string]float64) error {
	for _, k := range lossColumns {
		if v, ok := stats[k]; ok && (math.IsNaN(v) || math.IsInf(v, 0)) {
			return fmt.Errorf("train: %s is %v at epoch %d, step %d; stopped without saving (last good checkpoint: %s); lower the learning rate (train.schedule) or raise train.gp_lambda",
				k, v, t.pos.epoch+1, t.pos.step, t.lastCheckpoint())
		}
	}
	return nil
}

// endEpoch writes the epoch's checkpoint, sample grid and loss plot as configured.
func (t *Trainer) endEpoch(e int) error {
	if t.dist.rank != 0 {
		return nil
	}
	if r := t.loader.SkipReport(); r.Count > t.skipsReported {
		t.skipsReported = r.Count
		fmt.Fprintf(t.Out, "\nsgan: %s\n", r.String())
	}
	// last.pt goes last: killed between the two writes, the run resumes from the previous
	// epoch and writes this epoch's checkpoint again.
	milestone := t.milestone(e)
	var paths []string
	if milestone {
		paths = append(paths, t.Dir.Epoch(e))
	}
	paths = append(paths, t.Dir.Last())
	if err := t.save(paths...); err != nil {
		return err
	}
	if milestone {
		t.prune()
	}
	if t.sampled(e) {
		img, err := t.SaveGrid(t.Dir.Grid(e))
		if err != nil {
			return err
		}
		if err := t.tb.Image("samples/grid", t.pos.step, img); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	t.flushTB()
	return t.plotLosses()
}

// milestone reports whether epoch e gets its own checkpoint.
func (t *Trainer) milestone(e int) bool {
	tc := t.Cfg.Train
	return e == tc.Epochs || (tc.CheckpointEvery > 0 && e%tc.CheckpointEvery == 0)
}

// sampled reports whether epoch e gets a sample grid.
func (t *Trainer) sampled(e int) bool { return slices.Contains(t.Cfg.Train.SampleEpochs, e) }

// repairOutputs makes a resumed run's folder whole again after a kill: the temporary files of
// writes that never finished go, and the outputs of the last completed epoch that the kill
// prevented (its epoch checkpoint, its sample grid) are written from the resumed state, which
// is exactly the state they would have held.
func (t *Trainer) repairOutputs() error {
	var removed []string
	for _, dir := range []string{string(t.Dir), t.Dir.Models(), t.Dir.Samples()} {
		r, err := safefile.CleanStale(dir, time.Now()) // the run lock is held: no writer is at work
		if err != nil {
			return err
		}
		removed = append(removed, r...)
	}
	if len(removed) > 0 {
		fmt.Fprintf(t.Out, "sgan: removed %d temporary file(s) of writes a kill interrupted\n", len(removed))
	}
	e := t.pos.epoch
	if e == 0 || t.pos.batch != 0 {
		return nil // mid-epoch: that epoch's outputs come when it ends
	}
	if _, err := os.Stat(t.Dir.Epoch(e)); t.milestone(e) && os.IsNotExist(err) {
		fmt.Fprintf(t.Out, "sgan: writing %s, which the interrupted run did not finish\n", t.Dir.Epoch(e))
		if err := t.save(t.Dir.Epoch(e)); err != nil {
			return err
		}
	}
	if _, err := os.Stat(t.Dir.Grid(e)); t.sampled(e) && os.IsNotExist(err) {
		if _, err := t.SaveGrid(t.Dir.Grid(e)); err != nil {
			return err
		}
	}
	return nil
}

func (t *Trainer) plotLosses() error {
	d := t.log.Data()
	return figure.PlotLosses(t.Dir.LossPlot(), d.Columns, d.Steps, d.Epochs, d.Values)
}

// prune keeps the newest KeepCheckpoints epoch checkpoints.
func (t *Trainer) prune() {
	k := t.Cfg.Train.KeepCheckpoints
	if k <= 0 {
		return
	}
	var kept int
	for e := t.pos.epoch; e >= 1; e-- {
		p := t.Dir.Epoch(e)
		if _, err := os.Stat(p); err == nil {
			kept++
			if kept > k {
				os.Remove(p)
			}
		}
	}
}

func (t *Trainer) lastCheckpoint() string {
	if _, err := os.Stat(t.Dir.Last()); err == nil {
		return t.Dir.Last()
	}
	return "none yet"
}

func (t *Trainer) interrupt() error {
	if t.dist.rank != 0 {
		return ErrInterrupted
	}
	if err := t.save(t.Dir.Last()); err != nil {
		return fmt.Errorf("train: interrupted, and saving failed: %w", err)
	}
	if t.log != nil {
		t.plotLosses()
	}
	t.flushTB()
	return ErrInterrupted
}

// SaveGrid renders the fixed-seed sample grid (SampleGrid x SampleGrid images, the same latents
// every epoch so grids are comparable) from the sampling generator, saves it at path and
// returns it.
func (t *Trainer) SaveGrid(path string) (image.Image, error) {
	side := t.Cfg.Train.SampleGrid
	var img image.Image
	err := torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		pix, n, ch, res := RenderGrid(t.Sampler(), uint64(t.Cfg.Run.Seed), side)
		img = figure.GridFromBatch(pix, n, ch, res, res, side)
	})
	if err != nil {
		return nil, err
	}
	return img, figure.SavePNG(path, img)
}

// RenderGrid draws side*side images from fixed latents (seeded by seed) with constant noise, and
// for conditional models one class per row in turn. It returns NCHW pixels in [-1, 1].
func RenderGrid(G *model.Generator, seed uint64, side int) (pix []float32, n, ch, res int) {
	n = side * side
	dev := G.Store.Device()
	g, err := torch.NewGenerator(torch.CPU, seed+12345)
	if err != nil {
		panic(&torch.Error{Op: "sample grid", Msg: err.Error()})
	}
	defer g.Close()
	z := torch.Randn([]int64{int64(n), int64(G.Cfg.ZDim)}, g, torch.Options{}).ToDevice(dev, false)
	var c *torch.Tensor
	if k := G.Cfg.NumClasses; k > 0 {
		labels := make([]int64, n)
		for i := range labels {
			labels[i] = int64((i / side) % k)
		}
		c = G.OneHot(torch.FromInt64(labels, int64(n)))
	}
	torch.NoGrad(func() {
		// Batches of side images keep memory flat at any grid size.
		var parts []*torch.Tensor
		for r := 0; r < side; r++ {
			var cr *torch.Tensor
			if c != nil {
				cr = c.Narrow(0, int64(r*side), int64(side))
			}
			parts = append(parts, G.Forward(z.Narrow(0, int64(r*side), int64(side)), cr, 1, model.NoiseConst, nil))
		}
		pix = torch.Cat(parts, 0).Float32s()
	})
	return pix, n, G.Cfg.Channels, G.Cfg.Resolution
}
