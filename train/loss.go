package train

import (
	"math"

	"sgan/model"
	"sgan/torch"
)

// The loss helpers are small pure functions over critic outputs, tested against PyTorch.

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
