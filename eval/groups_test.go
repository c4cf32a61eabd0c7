package eval

import (
	"math"
	"strings"
	"testing"
)

func TestSummarizeGroups(t *testing.T) {
	mk := func(group string, swd, prec float64) Result {
		r := Result{Name: group, Group: group}
		r.SWD.Mean, r.PRDC.Precision = swd, prec
		return r
	}
	rs := []Result{mk("b", 10, 0.1), mk("a", 40, 0.0), mk("b", 14, 0.3), {Name: "alone"}, mk("a", 42, 0.02)}
	gs := summarize(rs)
	if len(gs) != 2 || gs[0].Name != "b" || gs[1].Name != "a" || gs[0].Runs != 2 {
		t.Fatalf("groups %+v", gs)
	}
	// b: swd 10 and 14: mean 12, sample sd sqrt(8) = 2.828.
	if s := gs[0].Metrics["swd"]; s.Mean != 12 || math.Abs(s.SD-math.Sqrt(8)) > 1e-12 {
		t.Errorf("swd of b: %+v", s)
	}
	if s := gs[1].Metrics["precision"]; math.Abs(s.Mean-0.01) > 1e-12 || math.Abs(s.SD-math.Sqrt(2e-4)) > 1e-12 {
		t.Errorf("precision of a: %+v", s)
	}
	if s := meanSD([]float64{5}); s.Mean != 5 || s.SD != 0 {
		t.Errorf("one run: %+v", s)
	}
	var b strings.Builder
	(&Report{Groups: gs}).writeGroups(&b)
	if !strings.Contains(b.String(), "12.00 ± 2.83") {
		t.Errorf("table:\n%s", b.String())
	}
}
