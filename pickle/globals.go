package pickle

import (
	"errors"
	"fmt"
	"maps"
	"unsafe"
)

// Globals is an allow-list: the module-level names a pickle may use, each with the Func that
// stands for calling it. A name with a nil Func may be named (passed as a value, such as
// torch.FloatStorage) but not called. Every name absent from the map is refused with a
// *ForbiddenError the moment the pickle names it: this is how the reader never runs code.
type Globals map[Global]Func

// Func builds the value of one call of an allow-listed global. It runs Go code of this package or
// the caller, never anything from the file; it must check its arguments (they come from the
// file), do work proportional to them (Call.Charge what it iterates, Call.Cache what it would
// otherwise redo for shared arguments), and return an error for anything it does not expect.
type Func func(c *Call) (any, error)

// Call is one call of an allow-listed global: REDUCE (f(*Args)), NEWOBJ (cls.__new__(cls,
// *Args)) or NEWOBJ_EX (with Kwargs).
type Call struct {
	Global Global
	Args   Tuple
	Kwargs *Dict // NEWOBJ_EX only
	New    bool  // NEWOBJ or NEWOBJ_EX rather than REDUCE
	m      *machine
}

// Charge counts n items against the unpickling's MaxItems budget.
func (c *Call) Charge(n int) error { return c.m.charge(n) }

// Cache returns the value stored under key during this unpickling, computing and storing it
// with f the first time. A pickle can pass one shared argument to many calls for a few bytes
// each; a Func whose work grows with its argument caches on the argument's identity (see
// identity) so that the total work stays linear in the file.
func (c *Call) Cache(key any, f func() (any, error)) (any, error) {
	if v, ok := c.m.cache[key]; ok {
		return v, nil
	}
	v, err := f()
	if err != nil {
		return nil, err
	}
	if c.m.cache == nil {
		c.m.cache = map[any]any{}
	}
	c.m.cache[key] = v
	return v, nil
}

// identity is a cache key for the memory behind a string or []byte: equal only for the very same
// bytes (one pickle object referenced many times through the memo).
type identity struct {
	tag string
	p   *byte
	n   int
}

func stringIdentity(tag, s string) identity { return identity{tag, unsafe.StringData(s), len(s)} }
func bytesIdentity(tag string, b []byte) identity {
	return identity{tag, unsafe.SliceData(b), len(b)}
}

// Opaque is the Func of a class whose instances are kept as *Object: its arguments and the state
// BUILD gives it, for the caller to read, nothing more.
func Opaque(c *Call) (any, error) {
	return &Object{Class: c.Global, Args: c.Args, Kwargs: c.Kwargs}, nil
}

// emptyDict is the Func of dict classes (collections.OrderedDict, dnnlib.util.EasyDict): pickles
// create them empty and fill them with SETITEMS.
func emptyDict(c *Call) (any, error) {
	if len(c.Args) != 0 || (c.Kwargs != nil && c.Kwargs.Len() != 0) {
		return nil, errors.New("called with arguments; pickles create dicts empty and then set their items")
	}
	return NewDict(), nil
}

// setOf is builtins.set and builtins.frozenset as protocol 2 pickles them: set(list).
func setOf(c *Call) (any, error) {
	s := &Set{Frozen: c.Global.Name == "frozenset"}
	if len(c.Args) == 0 {
		return s, nil
	}
	var items []any
	switch a := c.Args[0].(type) {
	case *List:
		items = a.Items
	case Tuple:
		items = a
	default:
		return nil, fmt.Errorf("called with a %s", TypeName(c.Args[0]))
	}
	if len(c.Args) != 1 {
		return nil, errors.New("called with more than one argument")
	}
	if err := c.Charge(len(items)); err != nil {
		return nil, err
	}
	for _, x := range items {
		if err := s.Add(x); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// bytearray is builtins.bytearray(bytes) as protocols 2-4 pickle a bytearray: the bytes (never
// modified here, so not copied).
func bytearray(c *Call) (any, error) {
	switch {
	case len(c.Args) == 0:
		return []byte{}, nil
	case len(c.Args) == 1:
		if b, ok := c.Args[0].([]byte); ok {
			return b, nil
		}
	}
	return nil, errors.New("called without one bytes argument")
}

// codecsEncode is _codecs.encode(str, 'latin1'): how protocol 2 pickles bytes.
func codecsEncode(c *Call) (any, error) {
	if len(c.Args) != 2 {
		return nil, fmt.Errorf("called with %d arguments, not a str and an encoding", len(c.Args))
	}
	s, ok1 := c.Args[0].(string)
	enc, ok2 := c.Args[1].(string)
	if !ok1 || !ok2 {
		return nil, errors.New("called without a str and an encoding")
	}
	if enc != "latin1" && enc != "latin-1" && enc != "iso-8859-1" {
		return nil, fmt.Errorf("encoding %s is not read (pickles use latin1)", cleanName(enc))
	}
	return c.Cache(stringIdentity("latin1", s), func() (any, error) {
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return nil, errors.New("a latin1 str holds a character above U+00FF")
			}
			b = append(b, byte(r))
		}
		return b, nil
	})
}

// restoreTypeTag is torch.jit._pickle.restore_type_tag(value, type_str): TorchScript's pickler
// (sgan's own checkpoints) tags dicts with their static type; the value is all that matters.
func restoreTypeTag(c *Call) (any, error) {
	if len(c.Args) < 1 {
		return nil, errors.New("called without a value")
	}
	return c.Args[0], nil
}

// strSubclass is a str subclass (torch.torch_version.TorchVersion, which torch.save writes for
// torch.__version__): the str.
func strSubclass(c *Call) (any, error) {
	if len(c.Args) != 1 {
		return nil, fmt.Errorf("called with %d arguments, not a str", len(c.Args))
	}
	s, ok := c.Args[0].(string)
	if !ok {
		return nil, fmt.Errorf("called with a %s, not a str", TypeName(c.Args[0]))
	}
	return s, nil
}

var torchGlobals = Globals{
	{"collections", "OrderedDict"}:                    emptyDict,
	{"builtins", "set"}:                               setOf,
	{"builtins", "frozenset"}:                         setOf,
	{"builtins", "bytearray"}:                         bytearray,
	{"_codecs", "encode"}:                             codecsEncode,
	{"torch._utils", "_rebuild_tensor_v2"}:            rebuildTensor,
	{"torch._utils", "_rebuild_tensor"}:               rebuildTensor,
	{"torch._utils", "_rebuild_parameter"}:            rebuildParameter,
	{"torch._utils", "_rebuild_parameter_with_state"}: rebuildParameter,
	{"torch.jit._pickle", "restore_type_tag"}:         restoreTypeTag,
	{"torch", "Size"}:                                 torchSize,
	{"torch", "device"}:                               Opaque,
	{"torch.torch_version", "TorchVersion"}:           strSubclass,
}

func init() {
	for name := range storageTypes {
		torchGlobals[Global{"torch", name}] = nil
	}
	for name := range torchDTypes {
		torchGlobals[Global{"torch", name}] = nil
	}
}

// TorchGlobals returns a new copy of the allow-list of torch.save files: OrderedDict, tensors
// and parameters (torch._utils._rebuild_tensor_v2, _rebuild_tensor, _rebuild_parameter,
// _rebuild_parameter_with_state), the storage classes (torch.FloatStorage, ...) and dtypes
// (torch.float32, ...) as names, torch.Size, torch.device (opaque), torch.__version__'s
// TorchVersion (a str), TorchScript's
// restore_type_tag, and what protocols 2-4 use for bytes, bytearrays and sets (_codecs.encode,
// builtins.bytearray, builtins.set, builtins.frozenset).
func TorchGlobals() Globals { return maps.Clone(torchGlobals) }

// PlainTorchGlobals returns a new copy of the allow-list of plain pickles of tensors
// (pickle.dump of torch objects): TorchGlobals plus torch.storage._load_from_bytes, whose bytes are
// read by ReadTorchLegacy.
func PlainTorchGlobals() Globals {
	g := TorchGlobals()
	g[Global{"torch.storage", "_load_from_bytes"}] = loadFromBytes
	return g
}
