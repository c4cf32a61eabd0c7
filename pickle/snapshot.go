package pickle

import (
	"errors"
	"fmt"
	"strings"
)

// Snapshot is an NVlabs network pickle (network-snapshot-NNNNNN.pkl as stylegan2-ada-pytorch's
// and stylegan3's training loops write it): the networks and the dataset options.
type Snapshot struct {
	// G, D and GEma (G_ema) are nil where the snapshot has None or lacks them; at least one is set.
	G, D, GEma *Network
	// AugmentPipe is nil when the snapshot has none (None), or when it could not be read (then
	// Warnings says why): sgan never needs it.
	AugmentPipe *Network
	// TrainingSetKwargs is the dataset's options (class_name, path, resolution, use_labels, ...),
	// or nil.
	TrainingSetKwargs map[string]any
	Warnings          []string
}

// Network is one torch_utils.persistence network of a snapshot, described by data only: its
// class, its constructor's arguments and its state dict. Its Python source is kept as text and
// never run.
type Network struct {
	ClassName  string         // e.g. "Generator", "Discriminator", "AugmentPipe"
	Version    int64          // torch_utils.persistence's format version (6 today)
	ModuleSrc  string         // the Python source of the network's module, as text
	InitArgs   []any          // positional constructor arguments (plain values, see ToPlain)
	InitKwargs map[string]any // keyword constructor arguments, e.g. "z_dim", "mapping_kwargs"
	// Attrs are the module's own other attributes that are plain values (z_dim, num_ws,
	// img_resolution, ...), numpy scalars decoded.
	Attrs map[string]any
	// Names lists the state dict in module.state_dict() order; State holds its tensors. The names
	// are PyTorch's: parameters, then persistent buffers, then each submodule's under
	// "<submodule>.", e.g. "mapping.fc0.weight", "synthesis.b4.resample_filter".
	Names []string
	State map[string]*Tensor
}

// Persistent is a torch_utils.persistence object as a pickle carries it:
// _reconstruct_persistent_obj(meta), its meta described here. State is the object's __dict__.
type Persistent struct {
	ClassName string
	Version   int64
	ModuleSrc string
	State     any
}

func reconstructPersistent(c *Call) (any, error) {
	if len(c.Args) != 1 {
		return nil, fmt.Errorf("called with %d arguments, not a meta dict", len(c.Args))
	}
	meta, ok := c.Args[0].(*Dict)
	if !ok {
		return nil, fmt.Errorf("called with a %s, not a meta dict", TypeName(c.Args[0]))
	}
	str := func(k string) (string, error) {
		v, _ := meta.Get(k)
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("meta %s is a %s, not a str", k, TypeName(v))
		}
		return s, nil
	}
	typ, err := str("type")
	if err != nil {
		return nil, err
	}
	if typ != "class" {
		return nil, fmt.Errorf("meta type %s is not read (only 'class')", cleanName(typ))
	}
	p := &Persistent{}
	if p.ClassName, err = str("class_name"); err != nil {
		return nil, err
	}
	if p.ModuleSrc, err = str("module_src"); err != nil {
		return nil, err
	}
	v, _ := meta.Get("version")
	if p.Version, ok = v.(int64); !ok {
		return nil, fmt.Errorf("meta version is a %s, not an int", TypeName(v))
	}
	p.State, _ = meta.Get("state")
	return p, nil
}

// SnapshotGlobals returns a new copy of the allow-list of NVlabs network pickles:
// PlainTorchGlobals plus torch_utils.persistence._reconstruct_persistent_obj (a *Persistent),
// dnnlib.util.EasyDict (a *Dict), numpy scalars and dtypes (numpy.core.multiarray.scalar,
// numpy._core.multiarray.scalar, numpy.dtype) and torch.nn's container modules (opaque).
func SnapshotGlobals() Globals {
	g := PlainTorchGlobals()
	g[Global{"torch_utils.persistence", "_reconstruct_persistent_obj"}] = reconstructPersistent
	g[Global{"dnnlib.util", "EasyDict"}] = emptyDict
	g[Global{"numpy.core.multiarray", "scalar"}] = numpyScalar
	g[Global{"numpy._core.multiarray", "scalar"}] = numpyScalar
	g[Global{"numpy", "dtype"}] = numpyDType
	for _, name := range []string{"ModuleList", "ModuleDict", "Sequential", "ParameterList", "ParameterDict"} {
		g[Global{"torch.nn.modules.container", name}] = Opaque
	}
	return g
}

// ReadNetworkSnapshot reads an NVlabs network pickle: a dict of G, D, G_ema (torch_utils
// persistence objects), augment_pipe and training_set_kwargs, written by pickle.dump. Nothing in
// it is run: globals outside SnapshotGlobals are refused (*ForbiddenError), and each network is
// described by its class name, constructor arguments and state dict. Every tensor of the state
// dicts is checked (Tensor.Check) and their bytes bounded (MaxViewRatio).
func ReadNetworkSnapshot(b []byte) (*Snapshot, error) {
	v, err := Unpickle(b, Options{Globals: SnapshotGlobals()})
	if err != nil {
		var fe *ForbiddenError
		if errors.As(err, &fe) && strings.HasPrefix(fe.Global.Module, "dnnlib.tflib") {
			return nil, fmt.Errorf("a TensorFlow StyleGAN pickle, which sgan does not read (NVlabs' legacy.py converts it to a PyTorch one): %w", fe)
		}
		return nil, err
	}
	d, ok := v.(*Dict)
	if !ok {
		return nil, fmt.Errorf("not an NVlabs network snapshot: the pickle holds a %s, not a dict", TypeName(v))
	}
	s := &Snapshot{}
	for _, n := range []struct {
		key string
		dst **Network
	}{{"G", &s.G}, {"D", &s.D}, {"G_ema", &s.GEma}} {
		m, _ := d.Get(n.key)
		if m == nil {
			continue
		}
		net, err := readNetwork(m, n.key)
		if err != nil {
			return nil, err
		}
		*n.dst = net
	}
	if s.G == nil && s.D == nil && s.GEma == nil {
		return nil, errors.New("not an NVlabs network snapshot: no G, D or G_ema")
	}
	if m, _ := d.Get("augment_pipe"); m != nil {
		if net, err := readNetwork(m, "augment_pipe"); err != nil {
			s.Warnings = append(s.Warnings, "augment_pipe skipped: "+err.Error())
		} else {
			s.AugmentPipe = net
		}
	}
	if ts, _ := d.Get("training_set_kwargs"); ts != nil {
		p, err := ToPlain(ts)
		if err != nil {
			return nil, atPath("training_set_kwargs", err)
		}
		m, ok := p.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("training_set_kwargs is a %s, not a dict", TypeName(ts))
		}
		s.TrainingSetKwargs = m
	}
	return s, nil
}

// readNetwork describes one persistent network.
func readNetwork(v any, name string) (*Network, error) {
	p, ok := v.(*Persistent)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a torch_utils.persistence network", name, TypeName(v))
	}
	st, ok := p.State.(*Dict)
	if !ok {
		return nil, fmt.Errorf("%s: the network's state is a %s, not a dict", name, TypeName(p.State))
	}
	n := &Network{ClassName: p.ClassName, Version: p.Version, ModuleSrc: p.ModuleSrc, Attrs: map[string]any{}, State: map[string]*Tensor{}}
	if a, ok := st.Get("_init_args"); ok && a != nil {
		pa, err := ToPlain(a)
		if err != nil {
			return nil, atPath(name+"._init_args", err)
		}
		if n.InitArgs, ok = pa.([]any); !ok {
			return nil, fmt.Errorf("%s._init_args is a %s, not a tuple", name, TypeName(a))
		}
	}
	if k, ok := st.Get("_init_kwargs"); ok && k != nil {
		pk, err := ToPlain(k)
		if err != nil {
			return nil, atPath(name+"._init_kwargs", err)
		}
		if n.InitKwargs, ok = pk.(map[string]any); !ok {
			return nil, fmt.Errorf("%s._init_kwargs is a %s, not a dict", name, TypeName(k))
		}
	}
	for _, e := range st.Entries() {
		k, ok := e.Key.(string)
		if !ok || strings.HasPrefix(k, "_") || k == "training" {
			continue
		}
		if pv, err := ToPlain(e.Value); err == nil {
			n.Attrs[k] = pv
		}
	}
	var w walker
	if err := w.module(v, "", n); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return n, nil
}

// module adds a module's state dict entries under prefix, as torch.nn.Module.state_dict does.
func (w *walker) module(m any, prefix string, n *Network) error {
	var state any
	switch x := m.(type) {
	case *Persistent:
		state = x.State
	case *Object:
		state = x.State
	default:
		return atPath(strings.TrimSuffix(prefix, "."), fmt.Errorf("a submodule that is a %s, not a module", TypeName(m)))
	}
	st, ok := state.(*Dict)
	if !ok {
		return atPath(strings.TrimSuffix(prefix, "."), fmt.Errorf("a module whose state is a %s, not a dict", TypeName(state)))
	}
	if err := w.enter(m); err != nil {
		return atPath(strings.TrimSuffix(prefix, "."), err)
	}
	defer w.leave(m)
	dict := func(key string) (*Dict, error) {
		v, _ := st.Get(key)
		if v == nil {
			return NewDict(), nil
		}
		d, ok := v.(*Dict)
		if !ok {
			return nil, atPath(prefix+key, fmt.Errorf("a %s, not a dict", TypeName(v)))
		}
		if err := w.count(d.Len()); err != nil {
			return nil, atPath(prefix+key, err)
		}
		return d, nil
	}
	params, err := dict("_parameters")
	if err != nil {
		return err
	}
	buffers, err := dict("_buffers")
	if err != nil {
		return err
	}
	modules, err := dict("_modules")
	if err != nil {
		return err
	}
	skip := &Set{}
	if v, _ := st.Get("_non_persistent_buffers_set"); v != nil {
		if skip, ok = v.(*Set); !ok {
			return atPath(prefix+"_non_persistent_buffers_set", fmt.Errorf("a %s, not a set", TypeName(v)))
		}
	}
	add := func(d *Dict, buffers bool) error {
		for _, e := range d.Entries() {
			name, ok := e.Key.(string)
			if !ok {
				return atPath(prefix, fmt.Errorf("a parameter or buffer named by a %s", TypeName(e.Key)))
			}
			if e.Value == nil || (buffers && skip.Has(name)) {
				continue
			}
			t, ok := e.Value.(*Tensor)
			if !ok {
				return atPath(prefix+name, fmt.Errorf("a %s, not a tensor", TypeName(e.Value)))
			}
			if err := w.tensor(t); err != nil {
				return atPath(prefix+name, err)
			}
			if _, dup := n.State[prefix+name]; dup {
				return atPath(prefix+name, errors.New("the state dict has this name twice"))
			}
			n.State[prefix+name] = t
			n.Names = append(n.Names, prefix+name)
		}
		return nil
	}
	if err := add(params, false); err != nil {
		return err
	}
	if err := add(buffers, true); err != nil {
		return err
	}
	for _, e := range modules.Entries() {
		name, ok := e.Key.(string)
		if !ok {
			return atPath(prefix, fmt.Errorf("a submodule named by a %s", TypeName(e.Key)))
		}
		if e.Value == nil {
			continue
		}
		if err := w.module(e.Value, prefix+name+".", n); err != nil {
			return err
		}
	}
	return nil
}
