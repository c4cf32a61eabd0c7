// Package model holds StyleGAN2's networks as Go types, one per box of the paper's figure and of
// NVlabs stylegan2-ada-pytorch's training/networks.py, computing exactly NVlabs' function
// (checked against fixtures made by NVlabs' own code, testdata/nvlabs) with NVlabs' state-dict
// names, so weights move both ways.
//
//	Generator
//	  MappingNetwork ("mapping")           z ─ normalize ┐
//	                                       c ─ embed ─ normalize ┴ concat ─ fc0 … fcN-1 ─ w
//	                                       (w_avg tracks the mean w: truncation centre)
//	  broadcast w to NumWs layers (style mixing swaps the fine ones), truncate toward w_avg
//	  SynthesisNetwork ("synthesis")
//	    SynthesisBlock b4:    const 4x4 ─ conv1 ───────────── torgb ─ img
//	    SynthesisBlock b8:    x ─ conv0 (up 2x) ─ conv1 ─ x   torgb ─ + upsample(img)
//	    …                     (each conv: SynthesisLayer = affine(w) → modulate, 3x3 conv,
//	    SynthesisBlock bR:     demodulate, + noise·strength, + bias, lrelu·√2)
//
//	Critic (NVlabs' Discriminator, resnet)
//	  DiscriminatorBlock bR:  fromrgb ─ conv0 ─ conv1 (down 2x) ─┐
//	                                  └── skip 1x1 (down 2x) ────┴ sum (each · √½)
//	  …  b8
//	  DiscriminatorEpilogue b4: MinibatchStd ─ conv ─ fc ─ out ─ score
//	                          (conditional: out · MappingNetwork(c) / √cmap_dim)
//
// Rules: tensors are registered in a Store under dotted names when a layer is built
// (p.param/p.buf); every layer's forward runs in its own tensor scope and returns only its
// output; shapes are checked at block edges and a mismatch panics with a *torch.Error naming the
// block (a programmer error, recovered by torch.Try at the training step); all math runs as
// libtorch kernels. Initial weights are drawn on the CPU from a seed, so a seed gives the same
// network on every device.
package model
