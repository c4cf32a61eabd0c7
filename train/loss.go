package train

import (
	"math"

	"sgan/model"
	"sgan/run"
	"sgan/torch"
)

// The loss helpers are small pure functions over critic outputs, tested against PyTorch.

// lossFamily is train.loss: the critic's and the generator's losses on critic scores, and the
// penalty that belongs to the family (WGAN-GP's on interpolates).
type lossFamily interface {
	critic(dReal, dFake *torch.Tensor) *torch.Tensor
	generator(dFake *torch.Tensor) *torch.Tensor
	// criticPenalty returns the family's own penalty for the critic phase (to be weighted by
	// train.gp_lambda) and its log column, or nil.
	criticPenalty(t *Trainer, it *iteration, fake *torch.Tensor) (*torch.Tensor, string)
}

func newLossFamily(tc run.TrainConfig) lossFamily {
	if tc.Loss == run.LossLogistic {
		return logistic{}
	}
	return wganGP{on: tc.GPLambda > 0}
}

// wganGP is the reference recipe's loss: Wasserstein scores with a gradient penalty on random
// interpolates of real and generated images.
type wganGP struct{ on bool }

func (wganGP) critic(dReal, dFake *torch.Tensor) *torch.Tensor { return wganCriticLoss(dReal, dFake) }
func (wganGP) generator(dFake *torch.Tensor) *torch.Tensor     { return wganGeneratorLoss(dFake) }
func (l wganGP) criticPenalty(t *Trainer, it *iteration, fake *torch.Tensor) (*torch.Tensor, string) {
	if !l.on {
		return nil, ""
	}
	alpha := it.rows.of(torch.Rand([]int64{it.rows.Total, 1, 1, 1}, t.gen, torch.Options{Device: t.Device}))
	inter := torch.LerpT(it.real.Detach(), fake, alpha).SetRequiresGrad(true)
	return gradNormPenalty(t.critic(inter, it.c, it.rows, callInterpolate), inter), "gp"
}

// logistic is the StyleGAN2 paper's non-saturating logistic loss.
type logistic struct{}

func (logistic) critic(dReal, dFake *torch.Tensor) *torch.Tensor {
	return logisticCriticLoss(dReal, dFake)
}
func (logistic) generator(dFake *torch.Tensor) *torch.Tensor { return logisticGeneratorLoss(dFake) }
func (logistic) criticPenalty(*Trainer, *iteration, *torch.Tensor) (*torch.Tensor, string) {
	return nil, ""
}

// wganCriticLoss is E[D(fake)] - E[D(real)] (the critic minimizes it).
func wganCriticLoss(dReal, dFake *torch.Tensor) *torch.Tensor {
	return dFake.MeanAll().Sub(dReal.MeanAll())
}

// wganGeneratorLoss is -E[D(fake)].
func wganGeneratorLoss(dFake *torch.Tensor) *torch.Tensor { return dFake.MeanAll().Neg() }

// logisticCriticLoss is the non-saturating logistic loss: softplus(D(fake)) + softplus(-D(real)).
func logisticCriticLoss(dReal, dFake *torch.Tensor) *torch.Tensor {
	return dFake.Softplus().MeanAll().Add(dReal.Neg().Softplus().MeanAll())
}

// logisticGeneratorLoss is softplus(-D(fake)).
func logisticGeneratorLoss(dFake *torch.Tensor) *torch.Tensor {
	return dFake.Neg().Softplus().MeanAll()
}

// gradNormPenalty is E[(||grad_x score||_2 - 1)^2], the WGAN-GP term, given score = D(x) with x
// requiring grad. The graph is kept so the penalty can be backpropagated to the critic.
func gradNormPenalty(score, x *torch.Tensor) *torch.Tensor {
	g := torch.Grad([]*torch.Tensor{score.SumAll()}, []*torch.Tensor{x}, torch.GradOpts{CreateGraph: true})[0]
	return g.Square().Sum([]int64{1, 2, 3}, false).AddS(1e-12).Sqrt().SubS(1).Square().MeanAll()
}

// r1Penalty is E[||grad_x D(x)||^2] on real images x (requiring grad).
func r1Penalty(score, x *torch.Tensor) *torch.Tensor {
	g := torch.Grad([]*torch.Tensor{score.SumAll()}, []*torch.Tensor{x}, torch.GradOpts{CreateGraph: true})[0]
	return g.Square().Sum([]int64{1, 2, 3}, false).MeanAll()
}

// pathLengths is NVlabs' path-length statistic: for images img made from ws (requiring grad),
// the norm of J^T y for random image-space y scaled by 1/sqrt(H*W), per sample. When img is rows
// of a larger batch (rows.Total > 0), y is drawn for the whole batch, as one process would, and
// the rows kept.
func pathLengths(img, ws *torch.Tensor, g *torch.Generator, rows model.Rows) *torch.Tensor {
	s := img.Shape()
	n, h, w := s[0], s[2], s[3]
	full := append([]int64{max(rows.Total, n)}, s[1:]...)
	noise := torch.Randn(full, g, torch.Options{Device: img.Device()})
	if rows.Offset != 0 || n != full[0] {
		noise = noise.Narrow(0, rows.Offset, n)
	}
	noise = noise.MulS(1 / math.Sqrt(float64(h*w)))
	gw := torch.Grad([]*torch.Tensor{img.Mul(noise).SumAll()}, []*torch.Tensor{ws}, torch.GradOpts{CreateGraph: true})[0]
	return gw.Square().Sum([]int64{2}, false).Mean([]int64{1}, false).Sqrt()
}
