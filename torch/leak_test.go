package torch

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func rssKB(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestTrainingStepsDoNotLeak runs 2,000 small training-like steps (forward, gradient penalty with
// create_graph, backward, Adam, EMA) each in its own scope, and checks that live handles and RSS
// stay flat after warm-up.
func TestTrainingStepsDoNotLeak(t *testing.T) {
	steps := 2000
	if testing.Short() {
		steps = 300
	}
	g, _ := NewGenerator(CPU, 1)
	defer g.Close()
	w := Randn([]int64{8, 1, 3, 3}, g, Options{}).MulS(0.3).Keep().SetRequiresGrad(true)
	w2 := Randn([]int64{1, 8, 3, 3}, g, Options{}).MulS(0.3).Keep().SetRequiresGrad(true)
	ema := []*Tensor{w.Detach().Clone().Keep(), w2.Detach().Clone().Keep()}
	defer FreeAll(append(ema, w, w2)...)
	opt := NewAdam([]*Tensor{w, w2}, AdamConfig{LR: 1e-3, Beta1: 0, Beta2: 0.99, Eps: 1e-8})
	defer opt.Free()

	step := func() {
		s := NewScope()
		defer s.Close()
		x := Randn([]int64{4, 1, 16, 16}, g, Options{}).SetRequiresGrad(true)
		h := Conv2d(x, w, nil, ConvOpts{Padding: [2]int64{1, 1}}).LeakyReLU(0.2)
		score := Conv2d(h, w2, nil, ConvOpts{}).Mean([]int64{1, 2, 3}, false)
		gx := Grad([]*Tensor{score.SumAll()}, []*Tensor{x}, GradOpts{CreateGraph: true})[0]
		loss := score.MeanAll().Add(gx.Square().Sum([]int64{1, 2, 3}, false).Sqrt().SubS(1).Square().MeanAll().MulS(10))
		opt.ZeroGrad()
		loss.Backward()
		opt.Step()
		EMAUpdate(ema, []*Tensor{w, w2}, 0.99)
		_ = w.Grad() // a handle made and dropped: the scope must free it
	}
	warm := steps / 4
	for i := 0; i < warm; i++ {
		step()
	}
	live0, rss0 := LiveTensors(), rssKB(t)
	for i := warm; i < steps; i++ {
		step()
	}
	live1, rss1 := LiveTensors(), rssKB(t)
	if live1 != live0 {
		t.Errorf("live tensors went from %d to %d over %d steps", live0, live1, steps-warm)
	}
	if grow := rss1 - rss0; grow > 6144 {
		t.Errorf("RSS grew by %d KB over %d steps (from %d KB)", grow, steps-warm, rss0)
	}
	t.Logf("%d steps: live tensors %d -> %d, RSS %d KB -> %d KB", steps-warm, live0, live1, rss0, rss1)
}
