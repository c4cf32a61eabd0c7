package train

import (
	"fmt"

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
