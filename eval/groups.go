package eval

import "math"

// GroupSummary is one variant's metrics over its runs (e.g. seeds): GAN results vary from run to
// run, so variants are compared by their means and spreads.
type GroupSummary struct {
	Name    string          `json:"name"`
	Runs    int             `json:"runs"`
	Metrics map[string]Stat `json:"metrics"`
}

// Stat is a mean and a sample standard deviation (0 for one run).
type Stat struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
}

// groupMetrics are the metrics summarized per group, with their table format.
var groupMetrics = []struct {
	name, format string
	of           func(Result) float64
}{
	{"swd", "%.2f", func(r Result) float64 { return r.SWD.Mean }},
	{"fd_domain", "%.3f", func(r Result) float64 { return r.FD }},
	{"kid_domain", "%.4f", func(r Result) float64 { return r.KID.Mean }},
	{"precision", "%.3f", func(r Result) float64 { return r.PRDC.Precision }},
	{"recall", "%.3f", func(r Result) float64 { return r.PRDC.Recall }},
	{"density", "%.3f", func(r Result) float64 { return r.PRDC.Density }},
	{"coverage", "%.3f", func(r Result) float64 { return r.PRDC.Coverage }},
	{"copy_px", "%.3f", func(r Result) float64 { return r.CopyPixel.CopyFrac }},
	{"z_u", "%.2f", func(r Result) float64 { return r.CopyPixel.MeehanZU }},
}

// summarize groups results by their Group label, in order of first appearance.
func summarize(rs []Result) []GroupSummary {
	var order []string
	members := map[string][]Result{}
	for _, r := range rs {
		if r.Group == "" {
			continue
		}
		if _, ok := members[r.Group]; !ok {
			order = append(order, r.Group)
		}
		members[r.Group] = append(members[r.Group], r)
	}
	var out []GroupSummary
	for _, name := range order {
		g := GroupSummary{Name: name, Runs: len(members[name]), Metrics: map[string]Stat{}}
		for _, m := range groupMetrics {
			xs := make([]float64, 0, g.Runs)
			for _, r := range members[name] {
				xs = append(xs, m.of(r))
			}
			g.Metrics[m.name] = meanSD(xs)
		}
		out = append(out, g)
	}
	return out
}

// meanSD is the mean and the sample standard deviation (n-1; 0 for a single value).
func meanSD(xs []float64) Stat {
	var s Stat
	if len(xs) == 0 {
		return s
	}
	for _, x := range xs {
		s.Mean += x
	}
	s.Mean /= float64(len(xs))
	if len(xs) > 1 {
		var v float64
		for _, x := range xs {
			v += (x - s.Mean) * (x - s.Mean)
		}
		s.SD = math.Sqrt(v / float64(len(xs)-1))
	}
	return s
}
