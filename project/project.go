package project

import (
	"fmt"
	"math"
	"strings"

	"sgan/torch"
)

// Space is what the projection optimizes.
type Space int

// Latent spaces: one w shared by every synthesis layer (NVlabs' projector), or one w per layer
// (W+: reconstructs more, but leaves the distribution the model was trained on).
const (
	SpaceW Space = iota
	SpaceWPlus
)

// String is "w" or "w+", as latent.pt stores it.
func (s Space) String() string {
	if s == SpaceWPlus {
		return "w+"
	}
	return "w"
}

// Image distances the projection minimizes (each per target, summed over the batch).
const (
	DistPixel  = "pixel"  // mean squared pixel error
	DistMSSSIM = "msssim" // mean squared pixel error + (1 - MS-SSIM): the default
	DistFeat   = "feat"   // mean squared pixel error + feature distance in eval's domain CNN
)

// Distances lists the distance names.
var Distances = []string{DistMSSSIM, DistPixel, DistFeat}

// Options configure Project. DefaultOptions holds NVlabs' projector settings.
type Options struct {
	Steps    int    // optimization steps (NVlabs: 1000)
	Space    Space  // SpaceW or SpaceWPlus
	Distance string // DistMSSSIM, DistPixel or DistFeat
	Feat     *FeatDistance
	// Noise maps: optimized from N(0, 1) per target with NVlabs' regularizer (weight NoiseReg)
	// and renormalized after each step; when false the model's fixed maps are used.
	OptimizeNoise bool
	NoiseReg      float64 // NVlabs: 1e5
	LR            float64 // peak Adam learning rate (NVlabs: 0.1)
	LRRampUp      float64 // fraction of the steps over which the rate rises from 0 (0.05)
	LRRampDown    float64 // fraction of the steps over which it falls back to 0, cosine (0.25)
	InitNoise     float64 // w jitter at the start, in units of w_std (0.05)
	NoiseRamp     float64 // fraction of the steps over which the jitter decays to 0, quadratically (0.75)
	WSamples      int     // z samples for the start point and w_std (10000)
	Seed          uint64  // the noise maps' start and the w jitter
	Batch         int     // targets optimized together (32)
	Frames        int     // snapshots kept for the optimization GIF (0: none)
	FrameTargets  int     // targets the snapshots show (the first ones)
	Progress      func(Progress)
}

// DefaultOptions are NVlabs' projector settings with the MS-SSIM distance.
func DefaultOptions() Options {
	return Options{Steps: 1000, Space: SpaceW, Distance: DistMSSSIM, OptimizeNoise: true, NoiseReg: 1e5, LR: 0.1,
		LRRampUp: 0.05, LRRampDown: 0.25, InitNoise: 0.05, NoiseRamp: 0.75, WSamples: 10000, Batch: 32, Frames: 50, FrameTargets: 4}
}

// Progress reports a finished step.
type Progress struct {
	Batch, Batches int
	Step, Steps    int
	Dist, PSNR     float64 // means over the batch at this step
}

func (o Options) check() error {
	switch {
	case o.Steps < 1:
		return fmt.Errorf("project: %d steps: need at least 1 (NVlabs uses 1000)", o.Steps)
	case o.Batch < 1:
		return fmt.Errorf("project: batch %d: need at least 1", o.Batch)
	case o.LR <= 0 || o.LRRampUp <= 0 || o.LRRampDown <= 0 || o.NoiseRamp <= 0:
		return fmt.Errorf("project: learning rate and ramps must be positive")
	case o.NoiseReg < 0 || o.InitNoise < 0:
		return fmt.Errorf("project: noise regularization and initial noise must not be negative")
	case o.WSamples < 1:
		return fmt.Errorf("project: %d W samples: need at least 1", o.WSamples)
	}
	switch o.Distance {
	case DistMSSSIM, DistPixel:
	case DistFeat:
		if o.Feat == nil {
			return fmt.Errorf("project: distance feat needs a feature net (--featnet, the features-*.pt that sgan eval caches)")
		}
	default:
		return fmt.Errorf("project: distance %q: use %s", o.Distance, strings.Join(Distances, ", "))
	}
	return nil
}

// Schedule is NVlabs' projector schedule at step of steps: the learning rate (a linear rise over
// the first LRRampUp of the steps, a cosine fall over the last LRRampDown) and the scale of the
// Gaussian jitter added to w, in units of w_std (decaying quadratically to 0 at NoiseRamp).
func (o Options) Schedule(step, steps int) (lr, jitter float64) {
	t := float64(step) / float64(steps)
	jitter = o.InitNoise * math.Pow(max(0, 1-t/o.NoiseRamp), 2)
	ramp := min(1, (1-t)/o.LRRampDown)
	ramp = 0.5 - 0.5*math.Cos(ramp*math.Pi)
	ramp *= min(1, t/o.LRRampUp)
	return o.LR * ramp, jitter
}

// Step is the log of one optimization step.
type Step struct {
	Step     int       `json:"step"`
	LR       float64   `json:"lr"`
	Loss     float64   `json:"loss"`      // summed over the targets, regularizer included
	Dist     float64   `json:"dist"`      // mean image distance over the targets
	NoiseReg float64   `json:"noise_reg"` // mean regularizer value (before its weight)
	PSNR     float64   `json:"psnr"`      // mean PSNR of this step's images (w jitter included)
	Dists    []float64 `json:"dists"`     // image distance per target
}

// Frame is a snapshot of the images of the first targets during the optimization.
type Frame struct {
	Step int
	N    int
	Pix  []float32 // N*C*R*R, clamped to [-1, 1]
}

// Result is a finished projection. Its tensors are kept: call Free.
type Result struct {
	Targets []Target
	Space   Space
	Ws      *torch.Tensor            // [N, NumWs, WDim]: the latents the images are rendered from
	Noise   map[string]*torch.Tensor // per noise layer: [N, 1, r, r]
	Recon   []float32                // N*C*R*R reconstructions in [-1, 1]
	PSNR    []float64
	SSIM    []float64
	MSSSIM  []float64
	Trace   []Step  // one per step; Dists has one entry per target
	Frames  []Frame // of the first batch
}

// Free releases the result's tensors.
func (r *Result) Free() {
	r.Ws.Free()
	for _, t := range r.Noise {
		t.Free()
	}
}

// Labels are the targets' class labels.
func (r *Result) Labels() []int {
	out := make([]int, len(r.Targets))
	for i, t := range r.Targets {
		out[i] = t.Class
	}
	return out
}

// Project finds, for each target, the latent (and noise maps) whose image is closest to it, as
// NVlabs' projector does: start at the mean w of the target's class, add a decaying Gaussian
// jitter to w, minimize the image distance plus the noise regularizer with Adam (betas 0.9,
// 0.999) under the ramped learning rate, and renormalize the noise maps after every step.
// Targets go in batches of o.Batch, each one optimization over the batch (the per-target losses
// summed; Adam's updates are element-wise, so targets do not influence each other). The same
// targets, options and seed give the same result.
func Project(m *Model, targets []Target, o Options) (*Result, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("project: no targets")
	}
	if o.Distance == DistFeat && m.G.Store.Device().IsCUDA() {
		return nil, fmt.Errorf("project: the feat distance runs on the CPU (eval's feature net does): use --device cpu or another distance")
	}
	cfg := m.G.Cfg
	size := cfg.Channels * cfg.Resolution * cfg.Resolution
	for _, t := range targets {
		if len(t.Pix) != size {
			return nil, fmt.Errorf("project: %s has %d values, the model makes %dx%dx%d images", t.Name, len(t.Pix), cfg.Channels, cfg.Resolution, cfg.Resolution)
		}
		if err := m.checkLabel(t.Class); err != nil {
			return nil, fmt.Errorf("%w (target %s)", err, t.Name)
		}
	}
	stats := map[int]WStats{}
	defer func() {
		for _, s := range stats {
			s.Free()
		}
	}()
	for _, t := range targets {
		if _, ok := stats[t.Class]; !ok {
			s, err := m.Stats(t.Class, o.WSamples)
			if err != nil {
				return nil, err
			}
			stats[t.Class] = s
		}
	}
	nb := (len(targets) + o.Batch - 1) / o.Batch
	var parts []*Result
	defer func() {
		for _, p := range parts {
			p.Free()
		}
	}()
	for b := 0; b < nb; b++ {
		part, err := projectBatch(m, targets[b*o.Batch:min((b+1)*o.Batch, len(targets))], stats, o, b, nb)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	if len(parts) == 1 {
		r := parts[0]
		parts = nil
		return r, nil
	}
	return merge(parts)
}

// merge joins batch results in order.
func merge(parts []*Result) (*Result, error) {
	r := &Result{Space: parts[0].Space, Noise: map[string]*torch.Tensor{}, Frames: parts[0].Frames}
	err := torch.Try(func() {
		torch.WithScope(func() {
			var ws []*torch.Tensor
			for _, p := range parts {
				ws = append(ws, p.Ws)
			}
			r.Ws = torch.Cat(ws, 0).Keep()
			for name := range parts[0].Noise {
				var ns []*torch.Tensor
				for _, p := range parts {
					ns = append(ns, p.Noise[name])
				}
				r.Noise[name] = torch.Cat(ns, 0).Keep()
			}
		})
	})
	if err != nil {
		r.Free()
		return nil, err
	}
	r.Trace = make([]Step, len(parts[0].Trace))
	for _, p := range parts {
		r.Targets = append(r.Targets, p.Targets...)
		r.Recon = append(r.Recon, p.Recon...)
		r.PSNR = append(r.PSNR, p.PSNR...)
		r.SSIM = append(r.SSIM, p.SSIM...)
		r.MSSSIM = append(r.MSSSIM, p.MSSSIM...)
	}
	n := float64(len(r.Targets))
	for s := range r.Trace {
		st := &r.Trace[s]
		*st = Step{Step: parts[0].Trace[s].Step, LR: parts[0].Trace[s].LR}
		for _, p := range parts {
			ps := p.Trace[s]
			k := float64(len(ps.Dists))
			st.Loss += ps.Loss
			st.Dist += ps.Dist * k / n
			st.NoiseReg += ps.NoiseReg * k / n
			st.PSNR += ps.PSNR * k / n
			st.Dists = append(st.Dists, ps.Dists...)
		}
	}
	return r, nil
}

// projectBatch runs one optimization over targets.
func projectBatch(m *Model, targets []Target, stats map[int]WStats, o Options, b, nb int) (res *Result, err error) {
	G, cfg := m.G, m.G.Cfg
	dev := G.Store.Device()
	n := int64(len(targets))
	ch, r := int64(cfg.Channels), int64(cfg.Resolution)
	names := G.NoiseNames()
	gen, err := torch.NewGenerator(torch.CPU, o.Seed)
	if err != nil {
		return nil, err
	}
	defer gen.Close()
	res = &Result{Targets: append([]Target(nil), targets...), Space: o.Space, Noise: map[string]*torch.Tensor{}}
	var kept []*torch.Tensor // optimized leaves, freed at the end
	defer func() { torch.FreeAll(kept...) }()
	var opt *torch.Adam
	defer func() {
		if opt != nil {
			opt.Free()
		}
	}()
	// Draws happen on the CPU, so a seed gives the same projection on every device.
	randn := func(shape ...int64) *torch.Tensor {
		return torch.Randn(shape, gen, torch.Options{}).ToDevice(dev, false)
	}
	err = torch.Try(func() {
		scope := torch.NewScope()
		defer scope.Close()
		pix := make([]float32, 0, len(targets)*len(targets[0].Pix))
		avgs := make([]*torch.Tensor, n)
		stds := make([]float32, n)
		for i, t := range targets {
			pix = append(pix, t.Pix...)
			avgs[i] = stats[t.Class].Avg
			stds[i] = float32(stats[t.Class].Std)
		}
		target := torch.FromFloat32(pix, n, ch, r, r).ToDevice(dev, false)
		std := torch.FromFloat32(stds, n, 1, 1).ToDevice(dev, false)
		layers := int64(1)
		if o.Space == SpaceWPlus {
			layers = int64(G.NumWs())
		}
		var wopt *torch.Tensor
		torch.NoGrad(func() {
			wopt = torch.Stack(avgs, 0).Unsqueeze(1).Repeat(1, layers, 1).Contiguous().Keep()
		})
		kept = append(kept, wopt)
		wopt.SetRequiresGrad(true)
		params := []*torch.Tensor{wopt}
		maps := map[string]*torch.Tensor{}
		var mapList []*torch.Tensor
		for _, name := range names {
			buf := G.Store.Get(name)
			rr := buf.Size(0)
			var t *torch.Tensor
			torch.NoGrad(func() {
				if o.OptimizeNoise {
					t = randn(n, 1, rr, rr).Keep()
				} else {
					t = buf.Reshape(1, 1, rr, rr).Expand(n, 1, rr, rr).Contiguous().Keep()
				}
			})
			kept = append(kept, t)
			if o.OptimizeNoise {
				t.SetRequiresGrad(true)
				params = append(params, t)
			}
			maps[name] = t
			mapList = append(mapList, t)
		}
		opt = torch.NewAdam(params, torch.AdamConfig{LR: o.LR, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8})
		dist, err := newDistance(o, target)
		if err != nil {
			panic(&torch.Error{Op: "distance", Msg: strings.TrimPrefix(err.Error(), "project: ")})
		}
		every := 0
		if o.Frames > 0 {
			every = max(1, o.Steps/o.Frames)
		}
		nFrame := min(int64(o.FrameTargets), n)
		wsOf := func(w *torch.Tensor) *torch.Tensor {
			if o.Space == SpaceW {
				return w.Repeat(1, int64(G.NumWs()), 1)
			}
			return w
		}
		for step := 0; step < o.Steps; step++ {
			lr, jitter := o.Schedule(step, o.Steps)
			opt.LR = lr
			torch.WithScope(func() {
				w := wopt.Add(randn(wopt.Shape()...).Mul(std).MulS(jitter))
				img := G.SynthesizeNoise(wsOf(w), maps)
				d := dist(img)
				reg := torch.Zeros([]int64{n}, torch.Options{Device: dev})
				if o.OptimizeNoise {
					reg = noiseReg(mapList)
				}
				loss := d.Add(reg.MulS(o.NoiseReg)).SumAll()
				opt.ZeroGrad()
				loss.Backward()
				opt.Step()
				if o.OptimizeNoise {
					normalizeNoise(mapList)
				}
				var st Step
				torch.NoGrad(func() {
					out := img.Detach().Clamp(-1, 1)
					st = logStep(step, lr, loss.Item(), d.Float32s(), reg.Float32s(), MSE(out, target).Float32s())
					if every > 0 && b == 0 && (step%every == 0 || step == o.Steps-1) {
						res.Frames = append(res.Frames, Frame{Step: step + 1, N: int(nFrame), Pix: out.Narrow(0, 0, nFrame).Float32s()})
					}
				})
				if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
					panic(&torch.Error{Op: "projection", Msg: fmt.Sprintf("the loss became %v at step %d: lower the learning rate (--lr, now %g)", st.Loss, st.Step, o.LR)})
				}
				res.Trace = append(res.Trace, st)
				if o.Progress != nil {
					o.Progress(Progress{Batch: b + 1, Batches: nb, Step: step + 1, Steps: o.Steps, Dist: st.Dist, PSNR: st.PSNR})
				}
			})
		}
		torch.NoGrad(func() {
			ws := wsOf(wopt.Detach())
			recon := G.SynthesizeNoise(ws, maps).Clamp(-1, 1)
			res.Ws = ws.Clone().Keep()
			for name, t := range maps {
				res.Noise[name] = t.Detach().Clone().Keep()
			}
			res.Recon = recon.Float32s()
			for _, v := range MSE(recon, target).Float32s() {
				res.PSNR = append(res.PSNR, PSNR(float64(v)))
			}
			res.SSIM = float64s(SSIM(recon, target).Float32s())
			res.MSSSIM = float64s(MSSSIM(recon, target).Float32s())
		})
	})
	if err != nil {
		res.Free()
		return nil, err
	}
	return res, nil
}

// logStep summarizes one step.
func logStep(step int, lr, loss float64, dists, regs, mses []float32) Step {
	st := Step{Step: step + 1, LR: lr, Loss: loss, Dists: float64s(dists)}
	k := float64(len(dists))
	for i := range dists {
		st.Dist += float64(dists[i]) / k
		st.NoiseReg += float64(regs[i]) / k
		st.PSNR += PSNR(float64(mses[i])) / k
	}
	return st
}

func float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// newDistance returns the per-target image distance to target ([N] from images [N, C, R, R]).
func newDistance(o Options, target *torch.Tensor) (func(img *torch.Tensor) *torch.Tensor, error) {
	switch o.Distance {
	case DistPixel:
		return func(img *torch.Tensor) *torch.Tensor { return MSE(img, target) }, nil
	case DistMSSSIM:
		return func(img *torch.Tensor) *torch.Tensor {
			return MSE(img, target).Add(msssim(img, target, msssimLossFloor).RSubS(1))
		}, nil
	case DistFeat:
		f, err := o.Feat.to(target)
		if err != nil {
			return nil, err
		}
		return func(img *torch.Tensor) *torch.Tensor { return MSE(img, target).Add(f(img)) }, nil
	}
	return nil, fmt.Errorf("project: unknown distance %q", o.Distance)
}
