package train

import (
	"errors"
	"fmt"
	"slices"

	"sgan/model"
	"sgan/run"
	"sgan/torch"
)

// Data-parallel training. Every rank builds the same networks, reads the same global batches
// from the loader (the data order depends on the seed only, not on the number of processes) and
// trains on its own contiguous share of each batch: rows [rank*B/W, (rank+1)*B/W). Random draws
// (latents, style mixing, gradient-penalty alphas, synthesis noise, path-length noise) are made
// for the whole batch on every rank from the same generator in the same order, and each rank
// keeps its rows; the critic's minibatch-stddev groups are contiguous (model/critic.go), the
// gradients are averaged by one bucketed allreduce per optimizer step, and the batch mean of w
// for w_avg rides along with the generator's gradients. So W processes compute what one process
// computes for the whole batch, up to the order of float sums. Only rank 0 writes checkpoints,
// samples and the loss log, and reports progress.

// distState is this process's place in a data-parallel run: nil pg means one process (rank 0 of
// 1); stopLocal and stopAll carry the agreed stop request between ranks.
type distState struct {
	pg          *torch.ProcessGroup
	rank, world int
	stopLocal   bool
	stopAll     bool
}

// span is a batch's rows inside a larger one, with its length.
type span struct {
	model.Rows
	n int64
}

// of returns the span's rows of a tensor drawn for the whole batch (nil stays nil).
func (s span) of(x *torch.Tensor) *torch.Tensor {
	if x == nil || (s.Offset == 0 && s.n == s.Total) {
		return x
	}
	return x.Narrow(0, s.Offset, s.n)
}

// share is this rank's rows of a global batch of n (all of it in a single process; equal shares,
// since checkDistConfig makes the batch a multiple of the world size).
func (t *Trainer) share(n int64) span { return plShare(n, t.dist.rank, t.dist.world) }

// plShare is a rank's rows of the path-length batch of m: contiguous and as equal as m allows.
func plShare(m int64, rank, world int) span {
	lo, hi := int64(rank)*m/int64(world), int64(rank+1)*m/int64(world)
	return span{Rows: model.Rows{Offset: lo, Total: m}, n: hi - lo}
}

// distErr turns a failed collective into the panic trainStep's Try returns as its error.
func distErr(err error) {
	if err != nil {
		var te *torch.Error
		if errors.As(err, &te) {
			panic(te)
		}
		panic(&torch.Error{Op: "distributed", Msg: err.Error()})
	}
}

// globalMean is the mean of x's values over the m rows of all ranks together.
func (t *Trainer) globalMean(x *torch.Tensor, m int64) float64 {
	if t.dist.pg == nil {
		return x.MeanAll().Item()
	}
	s := x.SumAll().Reshape(1)
	distErr(t.dist.pg.AllReduceSum([]*torch.Tensor{s}))
	return s.Item() / float64(m)
}

// allReduceGrads averages the gradients of params (and extra, in place) over the ranks in one
// bucketed allreduce. With stop set it also carries this rank's stop request and reports
// whether any rank asked to stop.
func (t *Trainer) allReduceGrads(params []*torch.Tensor, extra *torch.Tensor, stop bool) bool {
	ts := make([]*torch.Tensor, 0, len(params)+2)
	for _, p := range params {
		ts = append(ts, p.Grad()) // nil (skipped) for a parameter without a gradient on every rank
	}
	if extra != nil {
		ts = append(ts, extra)
	}
	v := 0.0
	if stop {
		v = 1
	}
	flag := torch.Full([]int64{1}, v, torch.Options{Device: t.Device})
	ts = append(ts, flag)
	distErr(t.dist.pg.AllReduceMean(ts))
	return flag.Item() > 0
}

// reduceStats reads the logged values; over several ranks, their means over the ranks (each
// value is a mean over a rank's equal share, so that is the global batch's value).
func (t *Trainer) reduceStats(vals map[string]*torch.Tensor) map[string]float64 {
	out := make(map[string]float64, len(vals))
	if t.dist.pg == nil {
		for k, v := range vals {
			out[k] = v.Item()
		}
		return out
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]*torch.Tensor, len(keys))
	for i, k := range keys {
		parts[i] = vals[k].Reshape(1)
	}
	all := torch.Cat(parts, 0)
	distErr(t.dist.pg.AllReduceMean([]*torch.Tensor{all}))
	for i, v := range all.Float32s() {
		out[keys[i]] = float64(v)
	}
	return out
}

// checkDistConfig rejects configs that cannot be split over pg's ranks.
func checkDistConfig(cfg run.Config, pg *torch.ProcessGroup) error {
	if pg == nil || pg.World == 1 {
		return nil
	}
	w, b := pg.World, cfg.Train.BatchSize
	if b%w != 0 {
		return fmt.Errorf("train.batch_size = %d does not split over %d processes: the batch size is global (each process trains on batch_size/%d images); use a multiple of %d",
			b, w, w, w)
	}
	if cfg.Train.PLWeight > 0 && max(b/2, 1) < w {
		return fmt.Errorf("train.batch_size = %d is too small for %d processes with path-length regularization (it runs on half the batch, at least one image per process); use at least %d",
			b, w, 2*w)
	}
	return nil
}

// syncStart makes every rank start from rank 0's networks, and checks that all ranks are at the
// same point of the run (a resume read the same checkpoint everywhere).
func (t *Trainer) syncStart() error {
	if t.dist.pg == nil || t.dist.world == 1 {
		return nil
	}
	return torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		var ts []*torch.Tensor
		for _, g := range []*model.Generator{t.nets.G, t.nets.GEma} {
			if g != nil {
				ts = append(ts, g.Store.All()...)
			}
		}
		ts = append(ts, t.nets.D.Store.All()...)
		mine := []int64{int64(t.pos.epoch), int64(t.pos.batch), t.pos.step, t.pos.gSteps}
		pos := torch.FromInt64(slices.Clone(mine), int64(len(mine))).ToDevice(t.Device, false)
		distErr(t.dist.pg.Broadcast(append(ts, pos), 0))
		if got := pos.Int64s(); !slices.Equal(got, mine) {
			panic(&torch.Error{Op: "distributed", Msg: fmt.Sprintf(
				"rank %d is at epoch %d, batch %d (step %d) but rank 0 at epoch %d, batch %d (step %d): every rank must resume from the same checkpoint",
				t.dist.rank, mine[0]+1, mine[1], mine[2], got[0]+1, got[1], got[2])})
		}
	})
}
