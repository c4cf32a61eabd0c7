package model

import (
	"fmt"
	"sort"
	"strings"

	"sgan/torch"
)

// Store owns a network's parameters and buffers under stable dotted names (NVlabs' names, e.g.
// "synthesis.b64.conv1.affine.weight"), in creation order. Optimizers, checkpoints and the EMA
// generator walk it; names never depend on list positions.
type Store struct {
	device  torch.Device
	names   []string
	tensors map[string]*torch.Tensor
	buffer  map[string]bool
}

func newStore(d torch.Device) *Store {
	return &Store{device: d, tensors: map[string]*torch.Tensor{}, buffer: map[string]bool{}}
}

// prefix builds names for one layer: p.sub("conv1").name("weight") = "...conv1.weight".
type prefix struct {
	s    *Store
	path string
}

func (p prefix) sub(name string) prefix {
	if p.path == "" {
		return prefix{p.s, name}
	}
	return prefix{p.s, p.path + "." + name}
}

func (p prefix) full(name string) string { return p.sub(name).path }

// param registers a trainable tensor, moved to the store's device. Initial values are drawn on
// the CPU so a seed gives the same network on every device.
func (p prefix) param(name string, t *torch.Tensor) *torch.Tensor {
	return p.s.add(p.full(name), p.s.place(t).SetRequiresGrad(true), false)
}

// buf registers a non-trainable tensor (w_avg, fixed noise).
func (p prefix) buf(name string, t *torch.Tensor) *torch.Tensor {
	return p.s.add(p.full(name), p.s.place(t), true)
}

func (s *Store) place(t *torch.Tensor) *torch.Tensor {
	if t.Device() == s.device {
		return t.Keep()
	}
	d := t.ToDevice(s.device, false).Keep()
	t.Free()
	return d
}

// Device is where the store's tensors live.
func (s *Store) Device() torch.Device { return s.device }

func (s *Store) add(name string, t *torch.Tensor, isBuf bool) *torch.Tensor {
	if _, dup := s.tensors[name]; dup {
		panic("model: duplicate tensor name " + name)
	}
	s.names = append(s.names, name)
	s.tensors[name] = t
	s.buffer[name] = isBuf
	return t
}

// Names lists every tensor name in creation order.
func (s *Store) Names() []string { return append([]string(nil), s.names...) }

// Get returns the named tensor or nil.
func (s *Store) Get(name string) *torch.Tensor { return s.tensors[name] }

// Params returns the trainable tensors in creation order.
func (s *Store) Params() []*torch.Tensor {
	var ps []*torch.Tensor
	for _, n := range s.names {
		if !s.buffer[n] {
			ps = append(ps, s.tensors[n])
		}
	}
	return ps
}

// ParamNames returns the names of Params, in the same order.
func (s *Store) ParamNames() []string {
	var ns []string
	for _, n := range s.names {
		if !s.buffer[n] {
			ns = append(ns, n)
		}
	}
	return ns
}

// All returns every tensor (parameters and buffers) in creation order.
func (s *Store) All() []*torch.Tensor {
	ts := make([]*torch.Tensor, len(s.names))
	for i, n := range s.names {
		ts[i] = s.tensors[n]
	}
	return ts
}

// StateDict maps names to the store's own tensors (not copies).
func (s *Store) StateDict() map[string]*torch.Tensor {
	m := make(map[string]*torch.Tensor, len(s.names))
	for _, n := range s.names {
		m[n] = s.tensors[n]
	}
	return m
}

// NumParams is the number of trainable scalars.
func (s *Store) NumParams() int64 {
	var n int64
	for _, p := range s.Params() {
		n += p.Numel()
	}
	return n
}

// Load copies values from sd into the store. Every missing, unexpected and mis-shaped key is
// listed in one error, and nothing is copied unless all match.
func (s *Store) Load(sd map[string]*torch.Tensor) error {
	var missing, unexpected, shapes []string
	for _, n := range s.names {
		src, ok := sd[n]
		if !ok {
			missing = append(missing, n)
			continue
		}
		if a, b := fmt.Sprint(src.Shape()), fmt.Sprint(s.tensors[n].Shape()); a != b {
			shapes = append(shapes, fmt.Sprintf("%s %s (model has %s)", n, a, b))
		}
	}
	for n := range sd {
		if _, ok := s.tensors[n]; !ok {
			unexpected = append(unexpected, n)
		}
	}
	sort.Strings(unexpected)
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, "missing "+strings.Join(missing, ", "))
	}
	if len(unexpected) > 0 {
		parts = append(parts, "unexpected "+strings.Join(unexpected, ", "))
	}
	if len(shapes) > 0 {
		parts = append(parts, "mis-shaped "+strings.Join(shapes, ", "))
	}
	if len(parts) > 0 {
		return fmt.Errorf("state dict does not fit the model: %s", strings.Join(parts, "; "))
	}
	torch.NoGrad(func() {
		for _, n := range s.names {
			s.tensors[n].CopyFrom(sd[n])
		}
	})
	return nil
}

// LoadMatching copies the tensors of sd whose names the store has (transfer learning): names
// the store lacks are ignored and returned as extra, names sd lacks keep their values and are
// returned as fresh. A tensor present in both with another shape is an error naming the first
// such one (in the store's order), and then nothing is copied.
func (s *Store) LoadMatching(sd map[string]*torch.Tensor) (fresh, extra []string, err error) {
	for _, n := range s.names {
		src, ok := sd[n]
		if !ok {
			fresh = append(fresh, n)
			continue
		}
		if a, b := fmt.Sprint(src.Shape()), fmt.Sprint(s.tensors[n].Shape()); a != b {
			return nil, nil, fmt.Errorf("%s is %s in the file but %s in the model", n, a, b)
		}
	}
	for n := range sd {
		if _, ok := s.tensors[n]; !ok {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	torch.NoGrad(func() {
		for _, n := range s.names {
			if src, ok := sd[n]; ok {
				s.tensors[n].CopyFrom(src)
			}
		}
	})
	return fresh, extra, nil
}

// CopyFrom copies every tensor of o (a store of the same architecture) into s: used to start
// the EMA generator.
func (s *Store) CopyFrom(o *Store) error { return s.Load(o.StateDict()) }

// Free releases every tensor.
func (s *Store) Free() {
	for _, t := range s.tensors {
		t.Free()
	}
}
