package project

import (
	"fmt"
	"strings"

	"sgan/model"
	"sgan/run"
	"sgan/torch"
)

// Model is a checkpoint's sampling generator, owned by the projector: Open freezes its
// parameters (projection differentiates through it, never into it).
type Model struct {
	G       *model.Generator
	Classes []string // class names of a conditional model, in label order
	Ckpt    string
}

// Open loads the sampling generator (the EMA copy when present) of checkpoint ckpt onto d. It
// is the package's only use of package train, so that moving checkpoint loading is one edit.
func Open(ckpt string, d torch.Device) (*Model, error) {
	G, _, classes, err := run.LoadGenerator(ckpt, d)
	if err != nil {
		return nil, err
	}
	return NewModel(G, classes, ckpt)
}

// NewModel wraps a generator the caller hands over (tests build one in memory), freezing its
// parameters.
func NewModel(G *model.Generator, classes []string, ckpt string) (*Model, error) {
	if G.Cfg.NumClasses > 0 && len(classes) != G.Cfg.NumClasses {
		return nil, fmt.Errorf("project: %s: the model has %d classes but %d class names", ckpt, G.Cfg.NumClasses, len(classes))
	}
	if err := torch.Try(func() {
		for _, p := range G.Store.Params() {
			p.SetRequiresGrad(false)
		}
	}); err != nil {
		return nil, err
	}
	return &Model{G: G, Classes: classes, Ckpt: ckpt}, nil
}

// Close frees the generator.
func (m *Model) Close() { m.G.Free() }

// Conditional reports whether the model takes a class label.
func (m *Model) Conditional() bool { return m.G.Cfg.NumClasses > 0 }

// ClassIndex maps a class name (case-insensitive) to its label. A name the model does not have
// is refused naming the classes it has; any name is refused for an unconditional model.
func (m *Model) ClassIndex(name string) (int, error) {
	if !m.Conditional() {
		return -1, fmt.Errorf("class %s: this model is unconditional (it has no classes); leave the class out", name)
	}
	for i, c := range m.Classes {
		if strings.EqualFold(c, name) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("class %s: the model has classes %s", name, strings.Join(m.Classes, ", "))
}

// ClassName is the name of label cls ("" for -1).
func (m *Model) ClassName(cls int) string {
	if cls < 0 || cls >= len(m.Classes) {
		return ""
	}
	return m.Classes[cls]
}
