package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"sgan/augment"
	"sgan/run"
	"sgan/torch"
)

// criticAug is train.augment: what every image the critic sees goes through. DiffAugment
// (augment.go) or NVlabs' augmentation pipeline (package augment) at a fixed probability or, for
// "ada", at the probability its controller tunes from r_t = E[sign D(real)].
type criticAug struct {
	diff    run.DiffAugPolicy
	pipe    *augment.Pipeline   // ada and fixed
	ctrl    *augment.Controller // ada
	fixedP  float64
	signs   *torch.Tensor // ada: sum of sign(D(real)) over all ranks since the last adjustment, on the device
	pending int64         // ada: the scores in signs
}

func newCriticAug(tc run.TrainConfig, channels int, d torch.Device) (*criticAug, error) {
	a := &criticAug{}
	a.diff, _ = run.ParseDiffAug(tc.DiffAug) // checked by Config.Validate
	if tc.Augment != "ada" && tc.Augment != "fixed" {
		return a, nil
	}
	cfg, err := augment.Preset(tc.ADAPipe)
	if err != nil {
		return nil, fmt.Errorf("train.ada_pipe: %w", err)
	}
	if a.pipe, err = augment.New(cfg, channels); err != nil {
		return nil, err
	}
	a.fixedP = tc.ADAP
	if tc.Augment == "ada" {
		if a.ctrl, err = augment.NewController(tc.ADATarget, tc.ADAKimg, tc.ADAInterval, tc.ADAP); err != nil {
			return nil, err
		}
		a.signs = torch.Zeros([]int64{1}, torch.Options{Device: d}).Keep()
	}
	return a, nil
}

// p is the augmentation probability now.
func (a *criticAug) p() float64 {
	if a.ctrl != nil {
		return a.ctrl.P()
	}
	return a.fixedP
}

// apply augments x, the rows of a global batch, with the draws r makes for the whole batch.
func (a *criticAug) apply(x *torch.Tensor, r *rand.Rand, rows span) *torch.Tensor {
	switch {
	case a.diff.On():
		return diffAugment(a.diff, x, r, rows)
	case a.pipe != nil:
		return a.pipe.Apply(x, a.p(), r, rows.Rows)
	}
	return x
}

// observe adds the global sum of sign(D(real)) of a step to the pending sum (on the device: it
// is read only when p is adjusted).
func (a *criticAug) observe(globalSignSum *torch.Tensor, n int64) {
	torch.NoGrad(func() { a.signs.AddInPlace(globalSignSum, 1) })
	a.pending += n
}

// settle moves the pending sum into the controller (one device read).
func (a *criticAug) settle() {
	if a.pending == 0 {
		return
	}
	a.ctrl.Observe(a.signs.Item(), int(a.pending))
	a.signs.Zero()
	a.pending = 0
}

// adjust moves p after a step when it is due.
func (a *criticAug) adjust(step int64, batch int) {
	if a.ctrl == nil || !a.ctrl.Due(step) {
		return
	}
	a.settle()
	a.ctrl.Update(batch)
}

// stats are the logged values of ADA (none when it is off).
func (a *criticAug) stats() map[string]float64 {
	if a.pipe == nil {
		return nil
	}
	m := map[string]float64{"ada_p": a.p()}
	if a.ctrl != nil && !math.IsNaN(a.ctrl.RT()) {
		m["ada_rt"] = a.ctrl.RT()
	}
	return m
}

// Checkpoint keys of ADA's state (run.Checkpoint.Extra).
const (
	extraADAP       = "ada_p"
	extraADASignSum = "ada_sign_sum"
	extraADACount   = "ada_count"
	extraADART      = "ada_rt"
	extraADAUpdates = "ada_updates"
)

// save puts the controller's state, pending sums included, into extra.
func (a *criticAug) save(extra map[string]float64) {
	if a.ctrl == nil {
		return
	}
	a.settle()
	s := a.ctrl.State()
	extra[extraADAP], extra[extraADASignSum], extra[extraADART] = s.P, s.SignSum, s.RT
	extra[extraADACount], extra[extraADAUpdates] = float64(s.Count), float64(s.Updates)
}

// restore sets the controller's state from a checkpoint's extra values; a checkpoint of a run
// without ADA starts the controller afresh.
func (a *criticAug) restore(extra map[string]float64) error {
	if a.ctrl == nil {
		return nil
	}
	p, ok := extra[extraADAP]
	if !ok {
		return nil
	}
	return a.ctrl.SetState(augment.State{P: p, SignSum: extra[extraADASignSum], RT: extra[extraADART],
		Count: int64(extra[extraADACount]), Updates: int64(extra[extraADAUpdates])})
}

func (a *criticAug) free() {
	if a != nil && a.signs != nil {
		a.signs.Free()
	}
}
