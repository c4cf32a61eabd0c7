package model

import (
	"syscall"
	"testing"
	"time"

	"sgan/torch"
)

// BenchmarkMappingRecipe times the reference recipe's mapping network forward at batch 64 without
// gradients: z = w = 512, 8 fully connected 512x512 layers with leaky ReLU. It is matrix products
// only, so it measures the BLAS that libtorch runs on (reported in the log). Besides wall time per
// forward it reports the process's CPU time per forward (cpu-ms/op), steadier on a shared machine.
// scripts/bench runs it under each installed BLAS:
//
//	go test -run XXX -bench MappingRecipe -benchtime 20x ./model/
//	LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/blas:/usr/lib/x86_64-linux-gnu/lapack go test ...  # reference BLAS
func BenchmarkMappingRecipe(b *testing.B) {
	cfg := DefaultConfig()
	g, done, err := beginInit(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	st := newStore(torch.CPU)
	m := newMappingNetwork(prefix{s: st}.sub("mapping"), g, MappingOptions{
		ZDim: cfg.ZDim, WDim: cfg.WDim, Layers: cfg.MappingLayers, LRMul: cfg.MappingLRMul,
	})
	done()
	defer st.Free()
	s := torch.NewScope()
	defer s.Close()
	gz, err := torch.NewGenerator(torch.CPU, 2)
	if err != nil {
		b.Fatal(err)
	}
	defer gz.Close()
	const batch = 64
	z := torch.Randn([]int64{batch, int64(cfg.ZDim)}, gz, torch.Options{})
	b.Logf("BLAS: %s; %d threads", torch.BLASLibrary(), torch.NumThreads())
	torch.NoGrad(func() {
		forward := func() {
			ls := torch.NewScope()
			defer ls.Close()
			if w := m.forward(z, nil); w.Size(0) != batch || w.Size(1) != int64(cfg.WDim) {
				b.Fatalf("w has shape %v", w.Shape())
			}
		}
		forward() // warm-up: the first call allocates libtorch's and the BLAS's buffers
		cpu0 := cpuTime(b)
		for b.Loop() {
			forward()
		}
		// CPU time, all threads: on a loaded machine it varies far less than wall time.
		b.ReportMetric((cpuTime(b)-cpu0).Seconds()*1e3/float64(b.N), "cpu-ms/op")
	})
}

// cpuTime is the CPU time (user + system, all threads) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
