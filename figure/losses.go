package figure

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot sizes and decimation.
const (
	plotWidth     = 10 * vg.Inch
	plotHeight    = 5 * vg.Inch
	plotMaxPoints = 1500 // buckets per line; more rows are decimated
)

// PlotLosses draws every loss column against the step as a PNG at path (written atomically):
// the raw values faint, a moving average over about 2% of the run solid, with a legend. Columns
// named "lr" (a schedule, not a loss) are left out. Logs of any length draw in about the same
// time (at most plotMaxPoints buckets per line).
func PlotLosses(path string, columns []string, steps []int64, epochs []int, vals [][]float64) error {
	last := 0
	if n := len(epochs); n > 0 {
		last = epochs[n-1]
	}

	p := plot.New()
	p.Title.Text = fmt.Sprintf("Losses (%d rows, epoch %d)", len(steps), last)
	if len(steps) == 0 {
		p.Title.Text = "Losses (no rows yet)"
	}
	p.X.Label.Text = "step"
	p.Y.Label.Text = "loss"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	drawn := false
	for c, name := range columns {
		if name == "lr" {
			continue // a schedule, not a loss: it would sit flat at zero on this axis
		}
		raw, smooth := decimate(steps, vals[c], plotMaxPoints)
		if len(smooth) == 0 {
			continue
		}
		col := plotutil.DarkColors[c%len(plotutil.DarkColors)]
		r, g, b, _ := col.RGBA()
		faint := color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0x50}
		lr, err := plotter.NewLine(raw)
		if err != nil {
			return fmt.Errorf("loss plot %s: %w", name, err)
		}
		lr.LineStyle = draw.LineStyle{Color: faint, Width: vg.Points(0.5)}
		ls, err := plotter.NewLine(smooth)
		if err != nil {
			return fmt.Errorf("loss plot %s: %w", name, err)
		}
		ls.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.5)}
		p.Add(lr, ls)
		p.Legend.Add(name, ls)
		drawn = true
	}
	if len(steps) == 0 || !drawn {
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	}
	wt, err := p.WriterTo(plotWidth, plotHeight, "png")
	if err != nil {
		return fmt.Errorf("loss plot: %w", err)
	}
	return save(path, func(w io.Writer) error {
		_, err := wt.WriteTo(w)
		return err
	})
}

// decimate returns the finite points of (xs, ys) and their centred moving average (window
// about 2% of the points), both reduced to at most max buckets: the raw line keeps each
// bucket's minimum and maximum (so spikes stay visible), the smooth line each bucket's mean.
func decimate(xs []int64, ys []float64, maxPts int) (raw, smooth plotter.XYs) {
	var fx, fy []float64
	for i, y := range ys {
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			fx = append(fx, float64(xs[i]))
			fy = append(fy, y)
		}
	}
	n := len(fy)
	if n == 0 {
		return nil, nil
	}
	// Moving average by prefix sums.
	half := n / 100
	pre := make([]float64, n+1)
	for i, y := range fy {
		pre[i+1] = pre[i] + y
	}
	sm := make([]float64, n)
	for i := range sm {
		lo, hi := max(0, i-half), min(n, i+half+1)
		sm[i] = (pre[hi] - pre[lo]) / float64(hi-lo)
	}
	if n <= maxPts {
		raw, smooth = make(plotter.XYs, n), make(plotter.XYs, n)
		for i := range fy {
			raw[i] = plotter.XY{X: fx[i], Y: fy[i]}
			smooth[i] = plotter.XY{X: fx[i], Y: sm[i]}
		}
		return raw, smooth
	}
	raw = make(plotter.XYs, 0, 2*maxPts)
	smooth = make(plotter.XYs, 0, maxPts)
	for b := range maxPts {
		lo, hi := b*n/maxPts, (b+1)*n/maxPts
		if lo == hi {
			continue
		}
		imin, imax := lo, lo
		var sx, ss float64
		for i := lo; i < hi; i++ {
			if fy[i] < fy[imin] {
				imin = i
			}
			if fy[i] > fy[imax] {
				imax = i
			}
			sx += fx[i]
			ss += sm[i]
		}
		a, z := min(imin, imax), max(imin, imax)
		raw = append(raw, plotter.XY{X: fx[a], Y: fy[a]})
		if z != a {
			raw = append(raw, plotter.XY{X: fx[z], Y: fy[z]})
		}
		k := float64(hi - lo)
		smooth = append(smooth, plotter.XY{X: sx / k, Y: ss / k})
	}
	return raw, smooth
}
