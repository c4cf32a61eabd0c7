package model

import "sgan/torch"

// Each layer's forward runs in its own scope and hands only its output to the caller, so the
// layer's temporaries (scaled weights, styles, reshapes) are released when it returns, as Python's
// reference counting would release them. Tensors that autograd saved for the backward pass stay
// alive inside libtorch regardless. Without this a whole training phase's intermediates lived
// until the phase ended: twice the memory, and the allocator handing out cold pages every step.
type layerScope struct{ s *torch.Scope }

func enter() layerScope { return layerScope{torch.NewScope()} }

// exit hands y to the enclosing scope and frees everything else the layer made. Use it deferred,
// with a named result: defer func() { y = ls.exit(y) }().
func (l layerScope) exit(y *torch.Tensor) *torch.Tensor {
	if l.s.Owns(y) {
		y.Escape()
	}
	l.s.Close()
	return y
}

// beginInit validates cfg and returns the CPU generator that draws a network's initial weights
// (on the CPU, so a seed gives the same network on every device) and a done func that frees it
// and the construction temporaries.
func beginInit(cfg Config, seed uint64) (*torch.Generator, func(), error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	g, err := torch.NewGenerator(torch.CPU, seed)
	if err != nil {
		return nil, nil, err
	}
	s := torch.NewScope()
	return g, func() { s.Close(); g.Close() }, nil
}
