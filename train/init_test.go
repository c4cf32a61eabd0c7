package train

import (
	"path/filepath"
	"strings"
	"testing"

	"sgan/run"
	"sgan/torch"
)

// TestInitFrom: --init copies every tensor of a trained model into a new run (fresh position
// and optimizers), keeps fresh what the file lacks, and refuses another architecture naming the
// first tensor whose shape differs.
func TestInitFrom(t *testing.T) {
	dir := t.TempDir()
	cfgA := tinyRun(t, filepath.Join(dir, "a"))
	a := openTrainer(t, cfgA, "")
	defer a.Close()
	src := filepath.Join(dir, "a.pt")
	if err := a.SaveCheckpoint(src); err != nil {
		t.Fatal(err)
	}

	cfgB := tinyRun(t, filepath.Join(dir, "b"))
	cfgB.Run.Seed = cfgA.Run.Seed + 1 // other initial weights
	b := openTrainer(t, cfgB, "")
	defer b.Close()
	if err := b.InitFrom(src); err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]map[string]*torch.Tensor{
		{a.nets.G.Store.StateDict(), b.nets.G.Store.StateDict()},
		{a.nets.D.Store.StateDict(), b.nets.D.Store.StateDict()},
		{a.nets.GEma.Store.StateDict(), b.nets.GEma.Store.StateDict()},
	} {
		for name, x := range pair[0] {
			var d float64
			torch.WithScope(func() { d = x.Sub(pair[1][name]).Abs().Amax(nil, false).Item() })
			if d != 0 {
				t.Errorf("%s differs by %g after --init", name, d)
			}
		}
	}
	if b.Step() != 0 || b.Epoch() != 0 || b.nets.optG.Steps() != 0 {
		t.Errorf("--init carried the position: step %d, epoch %d, optimizer steps %d", b.Step(), b.Epoch(), b.nets.optG.Steps())
	}

	// A file without a critic (sgan convert of a pickle with G only): the critic starts fresh.
	ck, err := run.LoadCheckpoint(src)
	if err != nil {
		t.Fatal(err)
	}
	ck.Critic = nil
	gOnly := filepath.Join(dir, "g-only.pt")
	if err := ck.Save(gOnly); err != nil {
		t.Fatal(err)
	}
	ck.Free()
	cfgC := tinyRun(t, filepath.Join(dir, "c"))
	cfgC.Run.Seed = cfgA.Run.Seed + 2
	c := openTrainer(t, cfgC, "")
	defer c.Close()
	d0 := c.nets.D.Store.Get("b4.out.weight").Clone().Keep()
	defer d0.Free()
	if err := c.InitFrom(gOnly); err != nil {
		t.Fatalf("a file without a critic: %v", err)
	}
	if d := c.nets.D.Store.Get("b4.out.weight").Sub(d0).Abs().Amax(nil, false).Item(); d != 0 {
		t.Errorf("the critic changed although the file has none (by %g)", d)
	}

	// Another width: refused, naming the tensor.
	cfgW := tinyRun(t, filepath.Join(dir, "w"))
	cfgW.Model.ChannelMax = 16
	w := openTrainer(t, cfgW, "")
	defer w.Close()
	err = w.InitFrom(src)
	if err == nil || !strings.Contains(err.Error(), "synthesis.b4.const is [32 4 4] in the file but [16 4 4] in the model") || strings.Contains(err.Error(), "\n") {
		t.Errorf("mismatched widths: %v", err)
	}
}
