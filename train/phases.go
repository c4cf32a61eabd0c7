package train

import (
	"math/rand/v2"

	"sgan/data"
	"sgan/model"
	"sgan/torch"
)

// A training iteration runs NVlabs' phases (training/loss.py, training_loop.py), each a loss, its
// backward pass and an optimizer step, every interval iterations:
//
//	Dmain  the critic's loss on a real and a generated batch (WGAN-GP: with its gradient penalty;
//	       with R1 too when train.r1_interval is 1, NVlabs' "Dboth")
//	Dreg   R1 alone, every train.r1_interval iterations, scaled by the interval (lazy regularization)
//	Gmain  the generator's loss, every train.n_critic iterations (with path length too when
//	       train.pl_interval is 1)
//	Greg   path-length regularization alone, every train.pl_interval generator steps
//
// then the w_avg and EMA updates. The critic's phases run first (WGAN's n_critic order).

// iteration is what an iteration's phases share: this rank's real images and labels, its rows
// of the global batch, and the learning rate.
type iteration struct {
	real    *torch.Tensor // [n, C, H, W], this rank's rows
	c, cAll *torch.Tensor // one-hot labels: this rank's rows and the whole batch (nil: unconditional)
	rows    span
	lr      float64
	gStep   bool // the generator phases run in this iteration
}

// phase is one of the phases above.
type phase struct {
	name string
	due  func(t *Trainer, it *iteration) bool
	run  func(t *Trainer, it *iteration) map[string]*torch.Tensor
}

// buildPhases lists the phases the config turns on, once at open.
func (t *Trainer) buildPhases() []phase {
	tc := t.Cfg.Train
	lazyR1 := tc.R1Gamma > 0 && tc.R1Interval > 1
	lazyPL := tc.PLWeight > 0 && tc.PLInterval > 1
	ps := []phase{{name: "Dmain", due: always, run: (*Trainer).dMain}}
	if lazyR1 {
		ps = append(ps, phase{name: "Dreg", due: func(t *Trainer, _ *iteration) bool {
			return t.pos.step%int64(tc.R1Interval) == 0
		}, run: (*Trainer).dReg})
	}
	ps = append(ps, phase{name: "Gmain", due: gStep, run: (*Trainer).gMain})
	if lazyPL {
		ps = append(ps, phase{name: "Greg", due: func(t *Trainer, it *iteration) bool {
			return it.gStep && t.pos.gSteps%int64(tc.PLInterval) == 0
		}, run: (*Trainer).gReg})
	}
	return ps
}

func always(*Trainer, *iteration) bool     { return true }
func gStep(_ *Trainer, it *iteration) bool { return it.gStep }
func (t *Trainer) r1Every() bool           { return t.Cfg.Train.R1Gamma > 0 && t.Cfg.Train.R1Interval == 1 }
func (t *Trainer) plEvery() bool           { return t.Cfg.Train.PLWeight > 0 && t.Cfg.Train.PLInterval == 1 }
func (t *Trainer) dLR(it *iteration) float64 {
	return it.lr * lazyRatio(t.Cfg.Train.R1Interval, t.Cfg.Train.R1Gamma > 0)
}
func (t *Trainer) gLR(it *iteration) float64 {
	return it.lr * lazyRatio(t.Cfg.Train.PLInterval, t.Cfg.Train.PLWeight > 0)
}

// trainStep runs one iteration's phases on batch b. It returns the losses on log ticks (reading
// them is a device sync) and nil otherwise.
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
		t.pos.step++
		it := &iteration{rows: t.share(int64(b.N)), lr: lr, gStep: t.pos.step%int64(tc.NCritic) == 0}
		if it.gStep {
			t.pos.gSteps++
		}
		px := int64(b.C * b.H * b.W)
		rows := it.rows
		it.real = torch.FromFloat32(b.Images[rows.Offset*px:(rows.Offset+rows.n)*px], rows.n, int64(b.C), int64(b.H), int64(b.W)).ToDevice(t.Device, true)
		if t.Cfg.Model.NumClasses > 0 {
			it.cAll = t.nets.G.OneHot(torch.FromInt64(b.Labels, int64(b.N)))
			it.c = rows.of(it.cAll)
		}
		// Each phase runs in its own scope: its graph and activations are freed as soon as its
		// optimizer has stepped (as Python's refcounting would), not at the end of the step, which
		// halves peak memory and keeps the allocator reusing warm pages. Only the detached loss
		// values escape to the step's scope.
		vals := map[string]*torch.Tensor{}
		for _, p := range t.phases {
			if !p.due(t, it) {
				continue
			}
			torch.WithScope(func() {
				for k, v := range p.run(t, it) {
					vals[k] = v.Escape()
				}
			})
		}
		if it.gStep && t.nets.GEma != nil {
			torch.EMAUpdate(t.nets.GEma.Store.All(), t.nets.G.Store.All(), t.Cfg.EMABeta(int(rows.Total), (t.pos.gSteps-1)*rows.Total))
		}
		if tc.LogEvery > 0 && t.pos.step%int64(tc.LogEvery) == 0 {
			stats = map[string]float64{"lr": lr}
			for k, v := range t.reduceStats(vals) {
				stats[k] = v
			}
			for k, v := range t.aug.stats() {
				stats[k] = v
			}
		}
	})
	return stats, err
}

// latents draws z (and the style-mixed ws) for the rows of a batch.
func (t *Trainer) latents(rows span, c *torch.Tensor) (ws, w *torch.Tensor) {
	G := t.nets.G
	z := rows.of(torch.Randn([]int64{rows.Total, int64(t.Cfg.Model.ZDim)}, t.gen, torch.Options{Device: t.Device}))
	w = G.Map(z, c)
	ws = G.Broadcast(w)
	// Style mixing: derived from (seed, step) so a resumed run mixes exactly as an uninterrupted one.
	r := rand.New(rand.NewPCG(uint64(t.Cfg.Run.Seed), uint64(t.pos.step)))
	if p := t.Cfg.Train.StyleMixProb; p > 0 && r.Float64() < p {
		cutoff := 1 + r.IntN(G.NumWs()-1)
		z2 := rows.of(torch.Randn([]int64{rows.Total, int64(t.Cfg.Model.ZDim)}, t.gen, torch.Options{Device: t.Device}))
		ws = model.MixStyles(ws, G.Broadcast(G.Map(z2, c)), cutoff)
	}
	return ws, w
}

// critic scores x (rows of the global batch) after the DiffAugment transforms when train.diffaug
// asks for them. call tells apart the critic's uses within an iteration, so each gets its own
// draws; the draws are a function of (seed, step, call) only, so resuming replays them exactly.
func (t *Trainer) critic(x, c *torch.Tensor, rows span, call uint64) *torch.Tensor {
	r := rand.New(rand.NewPCG(uint64(t.Cfg.Run.Seed)^0x5eed_a06_d1ff, uint64(t.pos.step)*8+call))
	return t.nets.D.Forward(t.aug.apply(x, r, rows), c)
}

// The critic's uses within an iteration (DiffAugment draws differ per use).
const (
	callReal uint64 = iota
	callFake
	callInterpolate
	callGenerator
	callR1
)

// dMain is the critic's main phase.
func (t *Trainer) dMain(it *iteration) map[string]*torch.Tensor {
	tc := t.Cfg.Train
	var fake *torch.Tensor
	torch.NoGrad(func() {
		ws, _ := t.latents(it.rows, it.c)
		fake = t.synthesize(ws, it.rows.Rows)
	})
	real := it.real
	withR1 := t.r1Every()
	if withR1 {
		real = real.Detach().SetRequiresGrad(true)
	}
	dReal := t.critic(real, it.c, it.rows, callReal)
	dFake := t.critic(fake, it.c, it.rows, callFake)
	vals := map[string]*torch.Tensor{"d_real": dReal.MeanAll().Detach(), "d_fake": dFake.MeanAll().Detach()}
	loss := t.loss.critic(dReal, dFake)
	if pen, name := t.loss.criticPenalty(t, it, fake); pen != nil {
		vals[name] = pen.Detach()
		loss = loss.Add(pen.MulS(tc.GPLambda))
	}
	if withR1 {
		r1 := r1Penalty(dReal, real)
		vals["r1"] = r1.Detach()
		loss = loss.Add(r1.MulS(tc.R1Gamma / 2))
	}
	vals["loss_d"] = loss.Detach()
	var signs *torch.Tensor
	if t.aug.ctrl != nil {
		// ADA's overfitting heuristic: the sum of sign(D(real)) over the global batch rides along
		// with the gradients (as a mean over the ranks' sums).
		signs = dReal.Detach().Sign().SumAll().Reshape(1)
	}
	t.stepCritic(loss, t.dLR(it), true, signs)
	if signs != nil {
		t.aug.observe(signs.MulS(float64(t.dist.world)), it.rows.Total)
		t.aug.adjust(t.pos.step, int(it.rows.Total))
	}
	return vals
}

// dReg is the lazy R1 phase: the penalty alone, scaled by its interval.
func (t *Trainer) dReg(it *iteration) map[string]*torch.Tensor {
	tc := t.Cfg.Train
	real := it.real.Detach().SetRequiresGrad(true)
	r1 := r1Penalty(t.critic(real, it.c, it.rows, callR1), real)
	t.stepCritic(r1.MulS(tc.R1Gamma/2*float64(tc.R1Interval)), t.dLR(it), false, nil)
	return map[string]*torch.Tensor{"r1": r1.Detach()}
}

// stepCritic backpropagates loss to the critic, averages the gradients (and extra, in place)
// over the ranks (with the stop requests riding along when carryStop) and steps its optimizer at
// lr.
func (t *Trainer) stepCritic(loss *torch.Tensor, lr float64, carryStop bool, extra *torch.Tensor) {
	t.nets.optD.ZeroGrad()
	loss.Backward()
	if t.dist.pg != nil {
		// One bucketed allreduce: the mean gradient over ranks (each rank's loss is the mean over
		// its equal share, so this is the gradient of the global batch's loss).
		stop := t.allReduceGrads(t.nets.D.Store.Params(), extra, carryStop && t.dist.stopLocal)
		if carryStop {
			t.dist.stopAll = stop
		}
	}
	t.nets.optD.LR = lr
	t.nets.optD.Step()
}

// frozenCritic turns off the critic's parameter gradients for a generator phase and returns
// the function that turns them back on.
func (t *Trainer) frozenCritic() func() {
	ps := t.nets.D.Store.Params()
	for _, p := range ps {
		p.SetRequiresGrad(false)
	}
	return func() {
		for _, p := range ps {
			p.SetRequiresGrad(true)
		}
	}
}

// gMain is the generator's main phase, then the w_avg update.
func (t *Trainer) gMain(it *iteration) map[string]*torch.Tensor {
	defer t.frozenCritic()()
	ws, w := t.latents(it.rows, it.c)
	img := t.synthesize(ws, it.rows.Rows)
	loss := t.loss.generator(t.critic(img, it.c, it.rows, callGenerator))
	vals := map[string]*torch.Tensor{"loss_g": loss.Detach()}
	if t.plEvery() {
		pl := t.pathLengthPenalty(it)
		vals["pl"] = pl.Detach()
		loss = loss.Add(pl.MulS(t.Cfg.Train.PLWeight))
	}
	wMean := w.Detach().Mean([]int64{0}, true)
	t.stepGenerator(loss, t.gLR(it), wMean)
	t.nets.G.UpdateWAvg(wMean, 0.995)
	return vals
}

// gReg is the lazy path-length phase: the penalty alone, scaled by its interval.
func (t *Trainer) gReg(it *iteration) map[string]*torch.Tensor {
	tc := t.Cfg.Train
	pl := t.pathLengthPenalty(it)
	t.stepGenerator(pl.MulS(tc.PLWeight*float64(tc.PLInterval)), t.gLR(it), nil)
	return map[string]*torch.Tensor{"pl": pl.Detach()}
}

// stepGenerator backpropagates loss to the generator, averages the gradients (and extra, the
// batch mean of w for w_avg, which rides along: equal shares, so the mean of the ranks' means is
// the global mean) over the ranks and steps its optimizer at lr.
func (t *Trainer) stepGenerator(loss *torch.Tensor, lr float64, extra *torch.Tensor) {
	t.nets.optG.ZeroGrad()
	loss.Backward()
	if t.dist.pg != nil {
		t.allReduceGrads(t.nets.G.Store.Params(), extra, false)
	}
	t.nets.optG.LR = lr
	t.nets.optG.Step()
}

// pathLengthPenalty is NVlabs' path-length regularizer on half the batch with its own forward
// pass: (|J^T y| - a)^2 with a the running mean of the lengths. Ranks split that half into
// contiguous shares (not necessarily equal, see plShare).
func (t *Trainer) pathLengthPenalty(it *iteration) *torch.Tensor {
	m := max(it.rows.Total/2, 1)
	pr := plShare(m, t.dist.rank, t.dist.world)
	pws, _ := t.latents(pr, pr.of(it.cAll))
	lengths := pathLengths(t.synthesize(pws, pr.Rows), pws, t.gen, pr.Rows)
	mean := t.globalMean(lengths, m)
	if t.plMean == 0 {
		t.plMean = mean
	} else {
		t.plMean += 0.01 * (mean - t.plMean)
	}
	// The global mean over m rows, as this rank's part of the average over ranks.
	return lengths.SubS(t.plMean).Square().SumAll().MulS(float64(t.dist.world) / float64(m))
}

// noiseAbove is the resolution above which the run trains without noise inputs: -1 when every
// layer has them, 0 when none has (train.noise = "none"), else train.noise_max_res.
func (t *Trainer) noiseAbove() int64 {
	switch tc := t.Cfg.Train; {
	case tc.Noise == "none":
		return 0
	case tc.NoiseMaxRes > 0:
		return int64(tc.NoiseMaxRes)
	}
	return -1
}

// synthesize renders training images from ws with the run's noise inputs (train.noise,
// train.noise_max_res; SynthesizeTraining reads 0 as every layer).
func (t *Trainer) synthesize(ws *torch.Tensor, rows model.Rows) *torch.Tensor {
	mode := model.NoiseRandom
	if t.Cfg.Train.Noise == "none" {
		mode = model.NoiseNone
	}
	return t.nets.G.SynthesizeTraining(ws, mode, t.gen, rows, int64(t.Cfg.Train.NoiseMaxRes))
}

// silenceNoise zeroes the noise strengths of the layers that train without noise inputs in G
// and its average, so that weights from --init or a run trained with noise do not keep strengths
// that training never uses and sampling would.
func (t *Trainer) silenceNoise() {
	above := t.noiseAbove()
	if above < 0 {
		return
	}
	for _, g := range []*model.Generator{t.nets.G, t.nets.GEma} {
		if g != nil {
			g.ZeroNoiseAbove(above)
		}
	}
}
