package train

import (
	"fmt"
	"strings"

	"sgan/model"
	"sgan/run"
	"sgan/torch"
)

// checkpoint is the trainer's state as a run.Checkpoint, referring to the live tensors.
func (t *Trainer) checkpoint() *run.Checkpoint {
	n := t.nets
	ck := &run.Checkpoint{
		Config: t.Cfg, Classes: t.classes,
		Epoch: t.pos.epoch, Batch: t.pos.batch, Step: t.pos.step, GSteps: t.pos.gSteps, PLMean: t.plMean,
		Generator: n.G.Store.StateDict(), Critic: n.D.Store.StateDict(),
		OptimG: n.optG.State(""), OptimD: n.optD.State(""),
		OptimGSteps: n.optG.Steps(), OptimDSteps: n.optD.Steps(),
		Extra: map[string]float64{},
	}
	t.aug.save(ck.Extra)
	if n.GEma != nil {
		ck.GeneratorEMA = n.GEma.Store.StateDict()
	}
	return ck
}

// save writes the trainer's state to every path (serialized once, each write atomic).
func (t *Trainer) save(paths ...string) error {
	ck := t.checkpoint()
	if err := ck.CheckFinite(); err != nil {
		return fmt.Errorf("train: not saved at epoch %d, step %d: %w (the last good checkpoint, %s, is intact); lower the learning rate (train.schedule)",
			t.pos.epoch+1, t.pos.step, err, t.lastCheckpoint())
	}
	var st *torch.Tensor
	if err := torch.Try(func() { st = t.gen.State().Keep() }); err != nil {
		return err
	}
	defer st.Free()
	ck.RNG = st
	if err := ck.Save(paths...); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// SaveCheckpoint writes the trainer's current state to path (atomically).
func (t *Trainer) SaveCheckpoint(path string) error { return t.save(path) }

// restore loads a checkpoint into a trainer built from the same config.
func (t *Trainer) restore(p string) error {
	path, err := run.ResolveCheckpoint(p)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	ck, err := run.LoadCheckpoint(path)
	if err != nil {
		return err
	}
	defer ck.Free()
	n := t.nets
	for _, part := range []struct {
		name  string
		sd    map[string]*torch.Tensor
		store *model.Store
	}{{"generator", ck.Generator, n.G.Store}, {"critic", ck.Critic, n.D.Store}} {
		if err := part.store.Load(part.sd); err != nil {
			return fmt.Errorf("resume %s: %s: %w (was it trained with another model config?)", path, part.name, err)
		}
	}
	if n.GEma != nil {
		if err := n.GEma.Store.Load(ck.SamplingWeights()); err != nil {
			return fmt.Errorf("resume %s: generator_ema: %w", path, err)
		}
	}
	if err := n.optG.LoadState("", ck.OptimG, ck.OptimGSteps); err != nil {
		return fmt.Errorf("resume %s: %w", path, err)
	}
	if err := n.optD.LoadState("", ck.OptimD, ck.OptimDSteps); err != nil {
		return fmt.Errorf("resume %s: %w", path, err)
	}
	if ck.RNG != nil {
		if err := t.gen.SetState(ck.RNG); err != nil {
			return fmt.Errorf("resume %s: %w", path, err)
		}
	}
	if err := t.aug.restore(ck.Extra); err != nil {
		return fmt.Errorf("resume %s: %w", path, err)
	}
	t.pos = position{epoch: ck.Epoch, batch: ck.Batch, step: ck.Step, gSteps: ck.GSteps}
	t.plMean = ck.PLMean
	fmt.Fprintf(t.Out, "sgan: resuming from %s at epoch %d, batch %d (step %d)\n", path, t.pos.epoch+1, t.pos.batch, t.pos.step)
	return nil
}

// InitFrom starts the run's networks from a checkpoint (an sgan run's, or one `sgan convert`
// made from an NVlabs pickle): transfer learning. G, the EMA generator (with w_avg) and the
// critic take every tensor the file has under the same name and shape; tensors the file lacks
// (e.g. the class embedding of a conditional run from an unconditional model) keep their fresh
// initialization and are reported. The optimizers, the schedule and the position start afresh.
// A tensor with another shape is an error naming it (the model config must match the file's).
func (t *Trainer) InitFrom(path string) error {
	path, err := run.ResolveCheckpoint(path)
	if err != nil {
		return fmt.Errorf("train: --init: %w", err)
	}
	ck, err := run.LoadCheckpoint(path)
	if err != nil {
		return fmt.Errorf("train: --init: %w", err)
	}
	defer ck.Free()
	n := t.nets
	parts := []struct {
		name  string
		sd    map[string]*torch.Tensor
		store *model.Store
	}{{"generator", ck.Generator, n.G.Store}, {"critic", ck.Critic, n.D.Store}}
	if n.GEma != nil {
		parts = append(parts, struct {
			name  string
			sd    map[string]*torch.Tensor
			store *model.Store
		}{"generator_ema", ck.SamplingWeights(), n.GEma.Store})
	}
	var report []string
	for _, p := range parts {
		if len(p.sd) == 0 {
			report = append(report, p.name+" fresh (not in the file)")
			continue
		}
		fresh, extra, err := p.store.LoadMatching(p.sd)
		if err != nil {
			return fmt.Errorf("train: --init %s: %s: %w; use the model config it was trained with (sgan config init shows the keys)", path, p.name, err)
		}
		r := fmt.Sprintf("%s %d of %d tensors", p.name, len(p.store.Names())-len(fresh), len(p.store.Names()))
		if len(fresh) > 0 {
			r += fmt.Sprintf(" (fresh: %s)", shortList(fresh))
		}
		if len(extra) > 0 {
			r += fmt.Sprintf(" (ignored from the file: %s)", shortList(extra))
		}
		report = append(report, r)
	}
	fmt.Fprintf(t.Out, "sgan: initialized from %s: %s\n", path, strings.Join(report, "; "))
	t.silenceNoise()
	return t.syncStart()
}

func shortList(names []string) string {
	if len(names) <= 3 {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:3], ", "), len(names)-3)
}
