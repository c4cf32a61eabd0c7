package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"sgan/data"
	"sgan/figure"
	"sgan/model"
	"sgan/torch"
)

// ErrInterrupted is returned when the context was cancelled (Ctrl-C, SIGTERM) and the state was
// saved to models/last.pt.
var ErrInterrupted = errors.New("train: interrupted; state saved, continue with sgan train --resume")

// Trainer holds the networks, optimizers and data of one run.
type Trainer struct {
	Cfg    Config
	Dir    string
	Device torch.Device
	Out    io.Writer // progress and messages (os.Stderr by default)

	G, D, GEma *model.Generator
	Dnet       *model.Critic
	optG, optD *torch.Adam
	gen        *torch.Generator // latents and noise on the device
	loader     *data.Loader
	classes    []string

	epoch  int   // completed epochs
	batch  int   // next batch within epoch+1
	step   int64 // critic steps taken
	gSteps int64
	plMean float64
	log    *LossLog
	aug    augPolicy // train.diffaug, parsed once
	stopAt int64     // tests: behave as if interrupted once this many steps are done (0: never)

	// Data-parallel training (dist.go): nil pg means one process. rank and world are 0 and 1
	// then; stopLocal and stopAll carry the agreed stop request between ranks.
	pg        *torch.ProcessGroup
	rank      int
	world     int
	stopLocal bool
	stopAll   bool
}

// Open prepares a run: the dataset, the networks on the device, optimizers and the output
// folder. resume names a run folder or checkpoint to continue from ("" for a fresh run).
func Open(cfg Config, resume string) (*Trainer, error) { return OpenDist(cfg, resume, nil) }

// OpenDist is Open for one process of a data-parallel run over pg (nil: a single process). The
// configured batch size is global: every rank reads the same batches and trains on its own
// contiguous share of each. Parameters are broadcast from rank 0 after building (and resuming).
func OpenDist(cfg Config, resume string, pg *torch.ProcessGroup) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
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
	t := &Trainer{Cfg: cfg, Dir: cfg.Run.Dir, Device: dev, Out: os.Stderr, classes: ds.Classes(), world: 1}
	t.aug, _ = parseAugPolicy(cfg.Train.DiffAug) // checked by cfg.Validate
	if pg != nil {
		t.pg, t.rank, t.world = pg, pg.Rank, pg.World
		if t.rank != 0 {
			t.Out = io.Discard // only rank 0 reports
		}
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
		return nil, err
	}
	if resume != "" {
		if err := t.restore(resume); err != nil {
			t.Close()
			return nil, err
		}
	}
	if err := t.syncStart(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func dataName(cfg Config) string {
	if cfg.Data.Root == "" {
		return "the demo data"
	}
	return cfg.Data.Root
}

func (t *Trainer) build() error {
	seed := uint64(t.Cfg.Run.Seed)
	var err error
	if t.G, err = model.NewGenerator(t.Cfg.Model, seed*4+1, t.Device); err != nil {
		return err
	}
	if t.Dnet, err = model.NewCritic(t.Cfg.Model, seed*4+2, t.Device); err != nil {
		return err
	}
	if t.Cfg.Train.EMA {
		if t.GEma, err = model.NewGenerator(t.Cfg.Model, seed*4+1, t.Device); err != nil {
			return err
		}
		for _, p := range t.GEma.Store.Params() {
			p.SetRequiresGrad(false)
		}
	}
	tc := t.Cfg.Train
	// Lazy regularization (NVlabs): a penalty applied every k steps is scaled by k, and the
	// optimizer's LR and betas by k/(k+1).
	dRatio, gRatio := lazyRatio(tc.R1Interval, tc.R1Gamma > 0), lazyRatio(tc.PLInterval, tc.PLWeight > 0)
	t.optD = torch.NewAdam(t.Dnet.Store.Params(), torch.AdamConfig{Beta1: math.Pow(tc.Beta1, dRatio), Beta2: math.Pow(tc.Beta2, dRatio), Eps: tc.Eps})
	t.optG = torch.NewAdam(t.G.Store.Params(), torch.AdamConfig{Beta1: math.Pow(tc.Beta1, gRatio), Beta2: math.Pow(tc.Beta2, gRatio), Eps: tc.Eps})
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
	for _, g := range []*model.Generator{t.G, t.GEma} {
		if g != nil {
			g.Free()
		}
	}
	if t.Dnet != nil {
		t.Dnet.Free()
	}
	if t.optD != nil {
		t.optD.Free()
		t.optG.Free()
	}
	t.gen.Close()
	if t.log != nil {
		t.log.Close()
	}
}

// Epoch is the number of completed epochs.
func (t *Trainer) Epoch() int { return t.epoch }

// Step is the number of critic steps taken.
func (t *Trainer) Step() int64 { return t.step }

// Sampler is the generator samples come from: the EMA copy when there is one.
func (t *Trainer) Sampler() *model.Generator {
	if t.GEma != nil {
		return t.GEma
	}
	return t.G
}

// lossColumns are the loss log's columns.
var lossColumns = []string{"loss_g", "loss_d", "gp", "r1", "pl", "d_real", "d_fake", "lr"}

// Run trains until the configured number of epochs, writing checkpoints, samples and the loss
// log. Cancelling ctx saves models/last.pt and returns ErrInterrupted.
func (t *Trainer) Run(ctx context.Context) error {
	// libtorch's grad mode and CUDA state are thread-local: keep the whole run on one OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	if t.rank == 0 {
		// Only rank 0 writes: the run folder, checkpoints, samples and the loss log.
		for _, d := range []string{t.Dir, filepath.Join(t.Dir, "models"), filepath.Join(t.Dir, "stylegan_outputs")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("train: run.dir: %w", err)
			}
		}
		unlock, err := lockRunDir(t.Dir)
		if err != nil {
			return err
		}
		defer unlock()
		if err := torch.WriteFileAtomic(filepath.Join(t.Dir, "config.toml"), []byte(t.Cfg.TOML())); err != nil {
			return err
		}
		if t.log, err = OpenLossLog(t.Dir, lossColumns, t.step > 0); err != nil {
			return err
		}
		if t.step > 0 {
			// Rows logged after the checkpoint was written are replayed by this run.
			if err := t.log.Truncate(t.step + 1); err != nil {
				return err
			}
		}
	}
	tc := t.Cfg.Train
	perEpoch := t.loader.BatchesPerEpoch()
	prog := NewProgress(t.Out, t.Cfg.Run.Quiet, tc.Epochs, perEpoch)
	fmt.Fprintf(t.Out, "sgan: %s, %d images (%d classes), %d steps/epoch, G %s params, D %s params, on %s, %d threads\n",
		dataName(t.Cfg), t.loader.Dataset().Len(), len(t.classes), perEpoch, human(t.G.Store.NumParams()),
		human(t.Dnet.Store.NumParams()), t.Device, torch.NumThreads())
	loaderCtx := ctx
	if t.pg != nil {
		fmt.Fprintf(t.Out, "sgan: data-parallel over %d processes (%s), %d images per process per step\n",
			t.world, t.pg.Backend, tc.BatchSize/t.world)
		// Ranks must stop at the same step: a signal only raises this rank's stop request, which
		// the ranks agree on with the next gradient allreduce; the loader never stops by itself.
		loaderCtx = context.WithoutCancel(ctx)
	}

	for t.epoch < tc.Epochs {
		e := t.epoch + 1
		it := t.loader.Epoch(loaderCtx, e, t.batch)
		start, imgs := time.Now(), 0
		var last map[string]float64
		for {
			if (t.pg == nil && (ctx.Err() != nil || (t.stopAt > 0 && t.step >= t.stopAt))) || t.stopAll {
				it.Close()
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
			lr := t.Cfg.LRAt(e, float64(t.batch)/float64(perEpoch))
			t.stopLocal = ctx.Err() != nil || (t.stopAt > 0 && t.step+1 >= t.stopAt)
			stats, err := t.trainStep(b, lr)
			if err != nil {
				it.Close()
				return err
			}
			t.batch++
			imgs += b.N
			if stats != nil {
				last = stats
				if err := t.checkFinite(stats); err != nil {
					it.Close()
					return err
				}
				if err := t.logAdd(t.step, e, stats); err != nil {
					it.Close()
					return err
				}
			}
			prog.Update(e, t.batch, float64(imgs)/time.Since(start).Seconds(), last)
		}
		it.Close()
		t.epoch, t.batch = e, 0
		if err := t.endEpoch(e); err != nil {
			return err
		}
		prog.EndEpoch(e, fmt.Sprintf("%.1f img/s", float64(imgs)/time.Since(start).Seconds()))
	}
	return nil
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
			good := t.lastCheckpoint()
			return fmt.Errorf("train: %s is %v at epoch %d, step %d; stopped without saving (last good checkpoint: %s); lower the learning rate (train.schedule) or raise train.gp_lambda",
				k, v, t.epoch+1, t.step, good)
		}
	}
	return nil
}

// endEpoch writes the epoch's checkpoint, sample grid and loss plot as configured.
func (t *Trainer) endEpoch(e int) error {
	tc := t.Cfg.Train
	if t.rank != 0 {
		return nil
	}
	paths := []string{filepath.Join(t.Dir, "models", "last.pt")}
	milestone := e == tc.Epochs || (tc.CheckpointEvery > 0 && e%tc.CheckpointEvery == 0)
	if milestone {
		paths = append(paths, t.epochPath(e))
	}
	if err := t.save(paths...); err != nil {
		return err
	}
	if milestone {
		t.prune()
	}
	for _, s := range tc.SampleEpochs {
		if s == e {
			if err := t.SaveGrid(filepath.Join(t.Dir, "stylegan_outputs", fmt.Sprintf("epoch%03d.png", e))); err != nil {
				return err
			}
		}
	}
	return t.log.Plot(filepath.Join(t.Dir, "losses.png"))
}

func (t *Trainer) epochPath(e int) string {
	return filepath.Join(t.Dir, "models", fmt.Sprintf("epoch%03d.pt", e))
}

// prune keeps the newest KeepCheckpoints epoch checkpoints.
func (t *Trainer) prune() {
	k := t.Cfg.Train.KeepCheckpoints
	if k <= 0 {
		return
	}
	var kept int
	for e := t.epoch; e >= 1; e-- {
		p := t.epochPath(e)
		if _, err := os.Stat(p); err == nil {
			kept++
			if kept > k {
				os.Remove(p)
			}
		}
	}
}

func (t *Trainer) lastCheckpoint() string {
	p := filepath.Join(t.Dir, "models", "last.pt")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "none yet"
}

func (t *Trainer) interrupt() error {
	if t.rank != 0 {
		return ErrInterrupted
	}
	if err := t.save(filepath.Join(t.Dir, "models", "last.pt")); err != nil {
		return fmt.Errorf("train: interrupted, and saving failed: %w", err)
	}
	if t.log != nil {
		t.log.Plot(filepath.Join(t.Dir, "losses.png"))
	}
	return ErrInterrupted
}

// trainStep runs one critic step on batch b and, every NCritic critic steps, one generator step.
// It returns the losses on log ticks (reading them is a device sync) and nil otherwise.
//
// b is the global batch. Each rank trains on its own contiguous rows of it (all of it in a
// single process); random draws are made for the whole batch on every rank, from the same
// generator in the same order, and each rank keeps its rows, so the ranks together compute
// exactly what one process computes for the whole batch.
func (t *Trainer) trainStep(b *data.Batch, lr float64) (stats map[string]float64, err error) {
	tc := t.Cfg.Train
	scope := torch.NewScope()
	defer scope.Close()
	err = torch.Try(func() {
		t.step++
		logTick := tc.LogEvery > 0 && t.step%int64(tc.LogEvery) == 0
		rows := t.share(int64(b.N))
		px := int64(b.C * b.H * b.W)
		real := torch.FromFloat32(b.Images[rows.Offset*px:(rows.Offset+rows.n)*px], rows.n, int64(b.C), int64(b.H), int64(b.W)).ToDevice(t.Device, true)
		var cAll, c *torch.Tensor
		if t.Cfg.Model.NumClasses > 0 {
			cAll = t.G.OneHot(torch.FromInt64(b.Labels, int64(b.N)))
			c = rows.of(cAll)
		}
		// Each phase runs in its own scope: its graph and activations are freed as soon as its
		// optimizer has stepped (as Python's refcounting would), not at the end of the step, which
		// halves peak memory and keeps the allocator reusing warm pages. Only the detached loss
		// values escape to the step's scope.
		vals := map[string]*torch.Tensor{}
		keep := func(m map[string]*torch.Tensor) {
			for k, v := range m {
				vals[k] = v.Escape()
			}
		}
		torch.WithScope(func() { keep(t.criticStep(real, c, rows, lr)) })
		if t.step%int64(tc.NCritic) == 0 {
			torch.WithScope(func() { keep(t.generatorStep(rows, c, cAll, lr)) })
		}
		if logTick {
			stats = map[string]float64{"lr": lr}
			for k, v := range t.reduceStats(vals) {
				stats[k] = v
			}
		}
	})
	return stats, err
}

// latents draws z (and the style-mixed ws) for the rows of a batch.
func (t *Trainer) latents(G *model.Generator, rows span, c *torch.Tensor) (ws, w *torch.Tensor) {
	z := rows.of(torch.Randn([]int64{rows.Total, int64(t.Cfg.Model.ZDim)}, t.gen, torch.Options{Device: t.Device}))
	w = G.Map(z, c)
	ws = G.Broadcast(w)
	// Style mixing: derived from (seed, step) so a resumed run mixes exactly as an uninterrupted one.
	r := rand.New(rand.NewPCG(uint64(t.Cfg.Run.Seed), uint64(t.step)))
	if p := t.Cfg.Train.StyleMixProb; p > 0 && r.Float64() < p {
		cutoff := 1 + r.IntN(G.NumWs()-1)
		z2 := rows.of(torch.Randn([]int64{rows.Total, int64(t.Cfg.Model.ZDim)}, t.gen, torch.Options{Device: t.Device}))
		ws = model.MixStyles(ws, G.Broadcast(G.Map(z2, c)), cutoff)
	}
	return ws, w
}

// critic scores x (rows of the global batch) after the DiffAugment transforms when train.diffaug
// asks for them. call tells apart the critic's uses within a step, so each gets its own draws;
// the draws are a function of (seed, step, call) only, so resuming replays them exactly.
func (t *Trainer) critic(x, c *torch.Tensor, rows span, call uint64) *torch.Tensor {
	if t.aug.on() {
		r := rand.New(rand.NewPCG(uint64(t.Cfg.Run.Seed)^0x5eed_a06_d1ff, uint64(t.step)*8+call))
		x = augment(t.aug, x, r, rows)
	}
	return t.Dnet.Forward(x, c)
}

func (t *Trainer) criticStep(real, c *torch.Tensor, rows span, lr float64) map[string]*torch.Tensor {
	tc := t.Cfg.Train
	var fake *torch.Tensor
	torch.NoGrad(func() {
		ws, _ := t.latents(t.G, rows, c)
		fake = t.G.SynthesizeRows(ws, model.NoiseRandom, t.gen, rows.Rows)
	})
	doR1 := tc.R1Gamma > 0 && t.step%int64(tc.R1Interval) == 0
	if doR1 {
		real = real.Detach().SetRequiresGrad(true)
	}
	dReal := t.critic(real, c, rows, 0)
	dFake := t.critic(fake, c, rows, 1)
	vals := map[string]*torch.Tensor{"d_real": dReal.MeanAll().Detach(), "d_fake": dFake.MeanAll().Detach()}
	var loss *torch.Tensor
	if tc.Loss == LossLogistic {
		loss = logisticCriticLoss(dReal, dFake)
	} else {
		loss = wganCriticLoss(dReal, dFake)
		if tc.GPLambda > 0 {
			alpha := rows.of(torch.Rand([]int64{rows.Total, 1, 1, 1}, t.gen, torch.Options{Device: t.Device}))
			inter := torch.LerpT(real.Detach(), fake, alpha).SetRequiresGrad(true)
			gp := gradNormPenalty(t.critic(inter, c, rows, 2), inter)
			vals["gp"] = gp.Detach()
			loss = loss.Add(gp.MulS(tc.GPLambda))
		}
	}
	if doR1 {
		r1 := r1Penalty(dReal, real)
		vals["r1"] = r1.Detach()
		loss = loss.Add(r1.MulS(tc.R1Gamma / 2 * float64(tc.R1Interval)))
	}
	vals["loss_d"] = loss.Detach()
	t.optD.ZeroGrad()
	loss.Backward()
	if t.pg != nil {
		// One bucketed allreduce: the mean gradient over ranks (each rank's loss is the mean over
		// its equal share, so this is the gradient of the global batch's loss), with the stop
		// requests riding along.
		t.stopAll = t.allReduceGrads(t.Dnet.Store.Params(), nil, t.stopLocal)
	}
	t.optD.LR = lr * lazyRatio(tc.R1Interval, tc.R1Gamma > 0)
	t.optD.Step()
	return vals
}

func (t *Trainer) generatorStep(rows span, c, cAll *torch.Tensor, lr float64) map[string]*torch.Tensor {
	tc := t.Cfg.Train
	t.gSteps++
	// The critic's parameters need no gradients in this phase.
	dParams := t.Dnet.Store.Params()
	for _, p := range dParams {
		p.SetRequiresGrad(false)
	}
	defer func() {
		for _, p := range dParams {
			p.SetRequiresGrad(true)
		}
	}()
	ws, w := t.latents(t.G, rows, c)
	img := t.G.SynthesizeRows(ws, model.NoiseRandom, t.gen, rows.Rows)
	dFake := t.critic(img, c, rows, 3)
	var loss *torch.Tensor
	if tc.Loss == LossLogistic {
		loss = logisticGeneratorLoss(dFake)
	} else {
		loss = wganGeneratorLoss(dFake)
	}
	vals := map[string]*torch.Tensor{"loss_g": loss.Detach()}
	if tc.PLWeight > 0 && t.gSteps%int64(tc.PLInterval) == 0 {
		// NVlabs runs the penalty on half the batch with its own forward pass; ranks split that
		// half into contiguous shares (not necessarily equal, see plShare).
		m := max(rows.Total/2, 1)
		pr := plShare(m, t.rank, t.world)
		pws, _ := t.latents(t.G, pr, pr.of(cAll))
		lengths := pathLengths(t.G.SynthesizeRows(pws, model.NoiseRandom, t.gen, pr.Rows), pws, t.gen, pr.Rows)
		mean := t.globalMean(lengths, m)
		if t.plMean == 0 {
			t.plMean = mean
		} else {
			t.plMean += 0.01 * (mean - t.plMean)
		}
		// The global mean over m rows, as this rank's part of the average over ranks.
		pl := lengths.SubS(t.plMean).Square().SumAll().MulS(float64(t.world) / float64(m))
		vals["pl"] = pl.Detach()
		loss = loss.Add(pl.MulS(tc.PLWeight * float64(tc.PLInterval)))
	}
	t.optG.ZeroGrad()
	loss.Backward()
	wMean := w.Detach().Mean([]int64{0}, true)
	if t.pg != nil {
		// The batch mean of w for w_avg rides along with the gradients: equal shares, so the mean
		// of the ranks' means is the global batch mean.
		t.allReduceGrads(t.G.Store.Params(), wMean, false)
	}
	t.optG.LR = lr * lazyRatio(tc.PLInterval, tc.PLWeight > 0)
	t.optG.Step()
	t.G.UpdateWAvg(wMean, 0.995)
	if t.GEma != nil {
		torch.EMAUpdate(t.GEma.Store.All(), t.G.Store.All(), t.Cfg.EMABeta(int(rows.Total)))
	}
	return vals
}

// SaveGrid renders the fixed-seed sample grid (SampleGrid x SampleGrid images, the same latents
// every epoch so grids are comparable) from the sampling generator.
func (t *Trainer) SaveGrid(path string) error {
	side := t.Cfg.Train.SampleGrid
	if side <= 0 {
		return nil
	}
	return torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		pix, n, ch, res := RenderGrid(t.Sampler(), uint64(t.Cfg.Run.Seed), side)
		if err := figure.SavePNG(path, figure.GridFromBatch(pix, n, ch, res, res, side)); err != nil {
			panic(&torch.Error{Op: "sample grid", Msg: err.Error()})
		}
	})
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
