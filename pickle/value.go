package pickle

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// The values Unpickle returns. Python's types map to Go as follows:
//
//	None -> nil              bool -> bool              int -> int64 (or *big.Int past int64)
//	float -> float64         str -> string             bytes, bytearray -> []byte
//	tuple -> Tuple           list -> *List             dict -> *Dict (insertion-ordered)
//	set, frozenset -> *Set   a named class or function -> Global
//
// and a call of an allow-listed global yields whatever its Func returns: *Dict for an
// OrderedDict, *Tensor for a torch tensor, *Object for an opaque instance, and so on. Lists, dicts,
// sets and objects are pointers because the pickle may share them (the memo) and even make them
// contain themselves; every walker of these values in this package bounds its depth and work
// (MaxDepth, MaxItems) and reports a cycle as an error.

// Tuple is a Python tuple.
type Tuple []any

// List is a Python list.
type List struct{ Items []any }

// Global is a module-level name, such as a class passed as a value (torch.FloatStorage).
type Global struct{ Module, Name string }

func (g Global) String() string { return g.Module + "." + g.Name }

// Object is an opaque instance of an allow-listed class (see Opaque): what it was built from,
// never run.
type Object struct {
	Class  Global
	Args   Tuple // the arguments of its call (REDUCE, NEWOBJ)
	Kwargs *Dict // NEWOBJ_EX's keyword arguments, or nil
	State  any   // what BUILD gave it (usually its __dict__), or nil
	Items  *Dict // SETITEM(S) on it (dict subclasses), or nil
	List   []any // APPEND(S) on it (list subclasses)
}

// Builder is a value that BUILD can give state to (Python's __setstate__).
type Builder interface {
	Build(state any) error
}

// Build records the object's state.
func (o *Object) Build(state any) error {
	o.State = state
	return nil
}

// DictEntry is one key and value of a Dict.
type DictEntry struct{ Key, Value any }

// Dict is a Python dict (or OrderedDict, or another allow-listed dict class): its entries in
// insertion order.
type Dict struct {
	entries []DictEntry
	index   map[any]int
	// State is what BUILD gave the dict (an OrderedDict's attributes, such as a state dict's
	// _metadata), or nil.
	State any
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{index: map[any]int{}} }

// Len is the number of entries.
func (d *Dict) Len() int { return len(d.entries) }

// Entries returns the entries in insertion order; the slice is the dict's own, not a copy.
func (d *Dict) Entries() []DictEntry { return d.entries }

// Get returns the value under key (a string, int64, ...), and whether there is one.
func (d *Dict) Get(key any) (any, bool) {
	h, err := hashKey(key)
	if err != nil {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.entries[i].Value, true
}

// Set puts value under key, keeping the key's first position as Python does. It fails for keys
// Python cannot hash (lists, dicts, sets) and for keys larger than MaxKeyBytes.
func (d *Dict) Set(key, value any) error {
	h, err := hashKey(key)
	if err != nil {
		return err
	}
	if d.index == nil {
		d.index = map[any]int{}
	}
	if i, ok := d.index[h]; ok {
		d.entries[i].Value = value
		return nil
	}
	d.index[h] = len(d.entries)
	d.entries = append(d.entries, DictEntry{key, value})
	return nil
}

// Build records BUILD's state.
func (d *Dict) Build(state any) error {
	d.State = state
	return nil
}

// Set is a Python set or frozenset.
type Set struct {
	Items  []any
	Frozen bool
	index  map[any]struct{}
}

// Add adds an item unless an equal one is there.
func (s *Set) Add(item any) error {
	h, err := hashKey(item)
	if err != nil {
		return err
	}
	if s.index == nil {
		s.index = map[any]struct{}{}
	}
	if _, ok := s.index[h]; ok {
		return nil
	}
	s.index[h] = struct{}{}
	s.Items = append(s.Items, item)
	return nil
}

// Has reports whether the set holds item.
func (s *Set) Has(item any) bool {
	h, err := hashKey(item)
	if err != nil {
		return false
	}
	_, ok := s.index[h]
	return ok
}

// Dict keys are Go map keys: strings, numbers, bools, nil and Globals stand for themselves;
// the rest get these wrappers so that, say, the bytes b"a" and the str "a" stay apart.
type (
	bytesKey string
	bigKey   string
	tupleKey [2]uint64
)

// tupleSeeds key the hash of tuple keys: random per process, so a file cannot be crafted to make
// two different tuple keys collide.
var tupleSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

func hashKey(k any) (any, error) {
	switch v := k.(type) {
	case nil, bool, int64, float64, Global:
		return k, nil
	case string:
		if len(v) > MaxKeyBytes {
			return nil, limitErr(fmt.Sprintf("a dict key of %d bytes", len(v)), "MaxKeyBytes", MaxKeyBytes)
		}
		return v, nil
	case []byte:
		if len(v) > MaxKeyBytes {
			return nil, limitErr(fmt.Sprintf("a dict key of %d bytes", len(v)), "MaxKeyBytes", MaxKeyBytes)
		}
		return bytesKey(v), nil
	case *big.Int:
		return bigKey(v.String()), nil
	case Tuple:
		var e keyEncoder
		if err := e.encode(v, 0); err != nil {
			return nil, err
		}
		return tupleKey{maphash.Bytes(tupleSeeds[0], e.b), maphash.Bytes(tupleSeeds[1], e.b)}, nil
	case *Object:
		return v, nil // Python hashes instances by identity
	}
	return nil, fmt.Errorf("a %s cannot be a dict key or set item (Python cannot hash it)", TypeName(k))
}

// keyEncoder writes a tuple key as bytes, at most MaxKeyBytes of them.
type keyEncoder struct{ b []byte }

func (e *keyEncoder) put(p ...byte) error {
	if len(e.b)+len(p) > MaxKeyBytes {
		return limitErr("a tuple dict key", "MaxKeyBytes", MaxKeyBytes)
	}
	e.b = append(e.b, p...)
	return nil
}

func (e *keyEncoder) str(tag byte, s string) error {
	if len(e.b)+9+len(s) > MaxKeyBytes {
		return limitErr("a tuple dict key", "MaxKeyBytes", MaxKeyBytes)
	}
	e.b = append(e.b, tag)
	e.b = binary.LittleEndian.AppendUint64(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
	return nil
}

func (e *keyEncoder) encode(k any, depth int) error {
	if depth > MaxDepth {
		return limitErr("the nesting of a tuple dict key", "MaxDepth", MaxDepth)
	}
	switch v := k.(type) {
	case nil:
		return e.put('N')
	case bool:
		if v {
			return e.put('T')
		}
		return e.put('F')
	case int64:
		return e.put(binary.LittleEndian.AppendUint64([]byte{'i'}, uint64(v))...)
	case float64:
		return e.put(binary.LittleEndian.AppendUint64([]byte{'f'}, math.Float64bits(v))...)
	case string:
		return e.str('s', v)
	case []byte:
		return e.str('b', string(v))
	case *big.Int:
		return e.str('L', v.String())
	case Global:
		return e.str('g', v.Module+"\x00"+v.Name)
	case *Object:
		return e.str('o', fmt.Sprintf("%p", v))
	case Tuple:
		if err := e.put('('); err != nil {
			return err
		}
		for _, x := range v {
			if err := e.encode(x, depth+1); err != nil {
				return err
			}
		}
		return e.put(')')
	}
	return fmt.Errorf("a tuple holding a %s cannot be a dict key (Python cannot hash it)", TypeName(k))
}

// TypeName names a value's Python type for messages, without looking inside it.
func TypeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case *Set:
		if x.Frozen {
			return "frozenset"
		}
		return "set"
	case Global:
		return "global " + x.String()
	case *Object:
		return x.Class.String() + " object"
	case *Tensor:
		return "tensor"
	case *Storage:
		return "storage"
	case *Persistent:
		return x.ClassName + " network"
	case *NumpyScalar:
		return "numpy scalar"
	case *NumpyDType:
		return "numpy dtype"
	}
	return fmt.Sprintf("%T", v)
}

// describeKey renders a dict key for a path in a message, briefly and without recursion into
// containers.
func describeKey(k any) string {
	switch v := k.(type) {
	case string:
		return cleanName(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case nil:
		return "None"
	case *big.Int:
		s := v.String()
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return s
	case Tuple:
		parts := make([]string, 0, len(v))
		for i, x := range v {
			if i == 8 {
				parts = append(parts, "...")
				break
			}
			switch x.(type) {
			case Tuple:
				parts = append(parts, "(...)")
			default:
				parts = append(parts, describeKey(x))
			}
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return "<" + TypeName(k) + ">"
}

// cleanName makes a name from a file safe for a one-line message: at most 200 bytes, quoted when
// it holds anything but printable ASCII.
func cleanName(s string) string {
	cut := false
	if len(s) > 200 {
		s, cut = s[:200], true
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f || s[i] == '"' {
			s = strconv.QuoteToASCII(s)
			break
		}
	}
	if cut {
		s += "..."
	}
	return s
}
