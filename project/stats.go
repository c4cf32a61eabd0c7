package project

import (
	"fmt"
	"math"

	"sgan/torch"
)

// StatsSeed seeds the z samples of the W statistics (NVlabs' projector uses 123), so that start
// points and class shifts are the same on every run and in `sgan sample --latent`.
const StatsSeed = 123

// statsChunk bounds the mapping batch of the statistics.
const statsChunk = 1000

// WStats are the statistics of W for one class label (or the unconditional model): the mean
// of w over n samples of z, and NVlabs' w_std, the root mean squared distance of a sample from
// that mean (a scalar over all dimensions).
type WStats struct {
	Avg *torch.Tensor // [WDim], kept: Free it
	Std float64
}

// Free releases Avg.
func (s WStats) Free() { s.Avg.Free() }

// mapChunks runs fn on w = Map(z, label) for n samples of z from StatsSeed, in chunks; the z are
// the same for every label.
func (m *Model) mapChunks(label, n int, fn func(w *torch.Tensor)) error {
	if n < 1 {
		return fmt.Errorf("project: %d W samples: need at least 1", n)
	}
	g, err := torch.NewGenerator(torch.CPU, StatsSeed)
	if err != nil {
		return err
	}
	defer g.Close()
	d := m.G.Store.Device()
	return torch.Try(func() {
		torch.NoGrad(func() {
			for done := 0; done < n; done += statsChunk {
				k := min(statsChunk, n-done)
				torch.WithScope(func() {
					z := torch.Randn([]int64{int64(k), int64(m.G.Cfg.ZDim)}, g, torch.Options{}).ToDevice(d, false)
					fn(m.G.Map(z, m.labels(k, label)))
				})
			}
		})
	})
}

// labels is one-hot rows for k samples of label, nil for an unconditional model.
func (m *Model) labels(k, label int) *torch.Tensor {
	if !m.Conditional() {
		return nil
	}
	lab := make([]int64, k)
	for i := range lab {
		lab[i] = int64(label)
	}
	return m.G.OneHot(torch.FromInt64(lab, int64(k)))
}

// checkLabel refuses a label that does not fit the model.
func (m *Model) checkLabel(label int) error {
	switch {
	case !m.Conditional() && label >= 0:
		return fmt.Errorf("project: label %d for an unconditional model", label)
	case m.Conditional() && (label < 0 || label >= m.G.Cfg.NumClasses):
		return fmt.Errorf("project: label %d: the model has classes 0..%d (%v)", label, m.G.Cfg.NumClasses-1, m.Classes)
	}
	return nil
}

// Stats computes WStats for label (-1: unconditional) from n samples (NVlabs: 10000).
func (m *Model) Stats(label, n int) (WStats, error) {
	if err := m.checkLabel(label); err != nil {
		return WStats{}, err
	}
	wd := int64(m.G.Cfg.WDim)
	var sum, sumSq *torch.Tensor
	err := m.mapChunks(label, n, func(w *torch.Tensor) {
		s, q := w.Sum([]int64{0}, false), w.Square().SumAll()
		if sum == nil {
			sum, sumSq = s.Keep(), q.Keep()
			return
		}
		sum.AddInPlace(s, 1)
		sumSq.AddInPlace(q, 1)
	})
	defer torch.FreeAll(sum, sumSq)
	if err != nil {
		return WStats{}, err
	}
	var st WStats
	err = torch.Try(func() {
		torch.NoGrad(func() {
			avg := sum.DivS(float64(n)).Reshape(wd)
			// sum |w - avg|^2 = sum |w|^2 - n |avg|^2.
			v := sumSq.Item()/float64(n) - avg.Square().SumAll().Item()
			st = WStats{Avg: avg.Keep(), Std: math.Sqrt(max(v, 0))}
		})
	})
	return st, err
}

// Shift is the counterfactual move in W from one class to another: the average over z of
// Map(z, to) - Map(z, from), the effect of switching the label with z held fixed.
type Shift struct {
	From, To int
	Delta    *torch.Tensor // [WDim], kept: Free it
	Norm     float64       // |Delta|
	// Spread is sqrt(E|d(z) - Delta|^2) / |Delta| for the per-z moves d(z): 0 when switching the
	// label moves every w by the same vector (then adding Delta is exact for any w of the
	// model); large values say the move depends on z and Delta is only its average.
	Spread float64
}

// Free releases Delta.
func (s Shift) Free() { s.Delta.Free() }

// ClassShift computes the Shift from label from to label to over n samples of z.
func (m *Model) ClassShift(from, to, n int) (Shift, error) {
	if !m.Conditional() {
		return Shift{}, fmt.Errorf("project: a counterfactual class needs a conditional model; this one is unconditional")
	}
	for _, l := range []int{from, to} {
		if err := m.checkLabel(l); err != nil {
			return Shift{}, err
		}
	}
	g, err := torch.NewGenerator(torch.CPU, StatsSeed)
	if err != nil {
		return Shift{}, err
	}
	defer g.Close()
	d := m.G.Store.Device()
	var sum, sumSq *torch.Tensor
	defer func() { torch.FreeAll(sum, sumSq) }()
	sh := Shift{From: from, To: to}
	err = torch.Try(func() {
		torch.NoGrad(func() {
			for done := 0; done < n; done += statsChunk {
				k := min(statsChunk, n-done)
				torch.WithScope(func() {
					z := torch.Randn([]int64{int64(k), int64(m.G.Cfg.ZDim)}, g, torch.Options{}).ToDevice(d, false)
					dz := m.G.Map(z, m.labels(k, to)).Sub(m.G.Map(z, m.labels(k, from)))
					s, q := dz.Sum([]int64{0}, false), dz.Square().SumAll()
					if sum == nil {
						sum, sumSq = s.Keep(), q.Keep()
						return
					}
					sum.AddInPlace(s, 1)
					sumSq.AddInPlace(q, 1)
				})
			}
			delta := sum.DivS(float64(n))
			norm2 := delta.Square().SumAll().Item()
			v := sumSq.Item()/float64(n) - norm2
			sh.Delta = delta.Keep()
			sh.Norm = math.Sqrt(norm2)
			if norm2 > 0 {
				sh.Spread = math.Sqrt(max(v, 0) / norm2)
			}
		})
	})
	if err != nil {
		return Shift{}, err
	}
	return sh, nil
}
