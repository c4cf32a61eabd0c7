package augment

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"sgan/model"
	"sgan/torch"
)

// The cost of the augmentation next to the critic it feeds, at the demo preset (64x64 gray,
// channel_base 1024, channel_max 128, batch 16), forward and backward each:
//
//	go test -run '^$' -bench Demo ./augment/
//
// Numbers, not assertions. On the shared 2-core development machine (loaded, so loosely): critic
// 260 ms; augmentation 31 ms at p = 0.1, 44 ms at 0.3, 135 ms at 0.6, 294 ms at 1. The cost grows
// with the warped share of the batch and with the batch's widest reach (the padding).

const demoBatch = 16

func BenchmarkDemoCritic(b *testing.B) {
	cfg := model.DefaultConfig()
	cfg.Resolution, cfg.ChannelBase, cfg.ChannelMax, cfg.MappingLayers, cfg.ZDim, cfg.WDim = 64, 1024, 128, 2, 128, 128
	D, err := model.NewCritic(cfg, 1, torch.CPU)
	if err != nil {
		b.Fatal(err)
	}
	x := randImages(1, demoBatch, 1, 64, 64).Keep()
	defer x.Free()
	b.ResetTimer()
	for range b.N {
		torch.WithScope(func() {
			xg := x.Detach().SetRequiresGrad(true)
			D.Forward(xg, nil).SumAll().Backward()
		})
	}
}

func BenchmarkDemoAugment(b *testing.B) {
	pipe, err := New(BGC(), 1)
	if err != nil {
		b.Fatal(err)
	}
	x := randImages(1, demoBatch, 1, 64, 64).Keep()
	defer x.Free()
	for _, p := range []float64{0.1, 0.3, 0.6, 1} {
		b.Run(fmt.Sprintf("p=%g", p), func(b *testing.B) {
			for i := range b.N {
				torch.WithScope(func() {
					xg := x.Detach().SetRequiresGrad(true)
					y := pipe.Apply(xg, p, rand.New(rand.NewPCG(1, uint64(i))), model.Rows{})
					if y != xg {
						y.SumAll().Backward()
					}
				})
			}
		})
	}
}
