package eval

import "sgan/torch"

// Activations returns the encoder's three conv stage outputs (after the leaky ReLU, before
// pooling: 16, 32 and 64 maps at 32, 16 and 8 pixels) for a batch x [N, Ch, Res, Res]. The
// weights enter detached, so gradients flow to x only: sgan project builds its perceptual
// distance on them.
func (n *Net) Activations(x *torch.Tensor) []*torch.Tensor {
	h := n.prep(x)
	var out []*torch.Tensor
	for i, l := range []string{"enc.conv1", "enc.conv2", "enc.conv3"} {
		if i > 0 {
			h = torch.AvgPool2d(h, 2, 2)
		}
		h = torch.Conv2d(h, n.p(l+".weight").Detach(), n.p(l+".bias").Detach(), pad1).LeakyReLU(0.2)
		out = append(out, h)
	}
	return out
}
