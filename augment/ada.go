package augment

import (
	"fmt"
	"math"

	"sgan/torch"
)

// NVlabs' defaults for the ADA heuristic.
const (
	DefaultTarget   = 0.6 // r_t the controller steers towards
	DefaultKimg     = 500 // thousands of images for p to move by 1
	DefaultInterval = 4   // steps between adjustments
)

// Controller is ADA's feedback loop on the augmentation probability p. The overfitting heuristic
// r_t = E[sign(D(real))] is accumulated over Interval steps (Observe); at every adjustment
// (Update) p moves by sign(r_t - Target) * batch * Interval / (Kimg * 1000), and is kept >= 0, so
// it can cross 0..1 in Kimg thousand images. p is not capped at 1 (as in NVlabs): above 1 every
// transform whose multiplier is 1 is always applied.
//
// All of its state is plain numbers (State), so a checkpoint restores it exactly; every
// data-parallel rank that observes the same all-reduced sums holds the same p.
type Controller struct {
	Target   float64
	Kimg     float64
	Interval int

	p       float64
	signSum float64 // sum of sign(D(real)) since the last adjustment
	count   int64   // number of scores in signSum
	rt      float64 // r_t of the last adjustment (NaN before the first)
	updates int64
}

// NewController returns a controller starting at p (NVlabs starts at 0).
func NewController(target, kimg float64, interval int, p float64) (*Controller, error) {
	c := &Controller{Target: target, Kimg: kimg, Interval: interval, p: p, rt: math.NaN()}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) validate() error {
	switch {
	case !(c.Target >= 0 && c.Target <= 1):
		return fmt.Errorf("augment: ada target %g: want a value in [0, 1] (NVlabs: 0.6)", c.Target)
	case !(c.Kimg > 0) || math.IsInf(c.Kimg, 0):
		return fmt.Errorf("augment: ada kimg %g: want a finite value > 0 (NVlabs: 500)", c.Kimg)
	case c.Interval < 1:
		return fmt.Errorf("augment: ada interval %d: want >= 1 (NVlabs: 4)", c.Interval)
	case !(c.p >= 0) || math.IsInf(c.p, 0):
		return fmt.Errorf("augment: ada p %g: want a finite value >= 0", c.p)
	}
	return nil
}

// P is the current augmentation probability.
func (c *Controller) P() float64 { return c.p }

// RT is r_t as of the last adjustment (NaN before the first), for logging.
func (c *Controller) RT() float64 { return c.rt }

// Observe adds one step's critic scores on real images: signSum is the sum of sign(D(real)) over
// count scores (over the global batch: sum the ranks' signSums first).
func (c *Controller) Observe(signSum float64, count int) {
	c.signSum += signSum
	c.count += int64(count)
}

// Due reports whether an adjustment follows step (0-based, the step just taken): every Interval
// steps starting with the first, as NVlabs' training loop.
func (c *Controller) Due(step int64) bool { return step%int64(c.Interval) == 0 }

// Update adjusts p from the scores observed since the last update, for a global batch of
// batchSize images per step, and starts a new accumulation. It returns the r_t it used; with
// nothing observed it changes nothing and returns NaN.
func (c *Controller) Update(batchSize int) float64 {
	if c.count == 0 {
		return math.NaN()
	}
	rt := c.signSum / float64(c.count)
	sign := 0.0
	switch {
	case rt > c.Target:
		sign = 1
	case rt < c.Target:
		sign = -1
	}
	c.p = max(c.p+sign*float64(batchSize)*float64(c.Interval)/(c.Kimg*1000), 0)
	c.rt = rt
	c.signSum, c.count = 0, 0
	c.updates++
	return rt
}

// State is everything a Controller carries between steps.
type State struct {
	P       float64
	SignSum float64
	Count   int64
	RT      float64
	Updates int64
}

// State returns the controller's state.
func (c *Controller) State() State {
	return State{P: c.p, SignSum: c.signSum, Count: c.count, RT: c.rt, Updates: c.updates}
}

// SetState restores a state taken with State.
func (c *Controller) SetState(s State) error {
	if !(s.P >= 0) || math.IsInf(s.P, 0) || s.Count < 0 || math.IsNaN(s.SignSum) {
		return fmt.Errorf("augment: invalid ada state %+v", s)
	}
	c.p, c.signSum, c.count, c.rt, c.updates = s.P, s.SignSum, s.Count, s.RT, s.Updates
	return nil
}

// Put stores the state in a checkpoint archive under prefix: prefix/p, prefix/sign_sum and
// prefix/rt as doubles, prefix/count and prefix/updates as ints (exact on reload).
func (c *Controller) Put(a *torch.Archive, prefix string) {
	s := c.State()
	a.Floats[prefix+"/p"] = s.P
	a.Floats[prefix+"/sign_sum"] = s.SignSum
	a.Floats[prefix+"/rt"] = s.RT
	a.Ints[prefix+"/count"] = s.Count
	a.Ints[prefix+"/updates"] = s.Updates
}

// Get restores the state Put stored under prefix; an archive without it is an error (resuming a
// run that had no ADA with ADA on is a decision for the caller, who can start a fresh controller).
func (c *Controller) Get(a *torch.Archive, prefix string) error {
	p, ok := a.Floats[prefix+"/p"]
	if !ok {
		return fmt.Errorf("augment: the checkpoint has no %s/p (saved without ADA?)", prefix)
	}
	return c.SetState(State{P: p, SignSum: a.Floats[prefix+"/sign_sum"], Count: a.Ints[prefix+"/count"],
		RT: a.Floats[prefix+"/rt"], Updates: a.Ints[prefix+"/updates"]})
}
