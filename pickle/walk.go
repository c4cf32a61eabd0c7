package pickle

import (
	"errors"
	"fmt"
	"math/big"
	"unsafe"
)

// walker bounds one traversal of a value graph: its depth (MaxDepth), the entries it visits
// (MaxItems, counting a shared value once per reference), cycles (an error, not an endless walk)
// and the bytes of the tensors it hands out (MaxViewRatio, ViewSlack).
type walker struct {
	items        int64
	pathBytes    int64
	done         map[any]any // ToPlain's results for shared containers
	depth        int
	onPath       map[any]struct{}
	storages     map[*Storage]struct{}
	storageBytes int64
	viewBytes    int64
}

var errCycle = errors.New("the value contains itself (a cycle of references)")

func (w *walker) enter(v any) error {
	w.depth++
	if w.depth > MaxDepth {
		return limitErr("the nesting of containers", "MaxDepth", MaxDepth)
	}
	if id := identityOf(v); id != nil {
		if _, ok := w.onPath[id]; ok {
			return errCycle
		}
		if w.onPath == nil {
			w.onPath = map[any]struct{}{}
		}
		w.onPath[id] = struct{}{}
	}
	return nil
}

func (w *walker) leave(v any) {
	w.depth--
	if id := identityOf(v); id != nil {
		delete(w.onPath, id)
	}
}

// identityOf is a comparable identity for a container: the pointer, or a tuple's backing array
// (the memo shares a tuple as the same slice); nil for other values.
func identityOf(v any) any {
	switch x := v.(type) {
	case *Dict, *List, *Set, *Object, *Persistent:
		return v
	case Tuple:
		return sliceID{unsafe.SliceData(x), len(x)}
	}
	return nil
}

func (w *walker) count(n int) error {
	w.items += int64(n)
	if w.items > MaxItems {
		return limitErr("the entries visited in the value (shared values count once per reference)", "MaxItems", MaxItems)
	}
	return nil
}

// tensor checks a tensor that the walk hands out and counts its bytes.
func (w *walker) tensor(t *Tensor) error {
	if err := t.Check(); err != nil {
		return err
	}
	if _, ok := w.storages[t.Storage]; !ok {
		if w.storages == nil {
			w.storages = map[*Storage]struct{}{}
		}
		w.storages[t.Storage] = struct{}{}
		w.storageBytes += int64(len(t.Storage.Data))
	}
	w.viewBytes += t.Numel() * int64(t.DType.Size())
	if w.viewBytes > MaxViewRatio*w.storageBytes+ViewSlack {
		return fmt.Errorf("the tensors view %d bytes of storages of %d bytes: %w", w.viewBytes, w.storageBytes,
			limitErr("that ratio", "MaxViewRatio", MaxViewRatio))
	}
	return nil
}

// PathError names where in a value an error was found.
type PathError struct {
	Path string
	Err  error
}

func (e *PathError) Error() string { return cleanName(e.Path) + ": " + e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

func atPath(path string, err error) error {
	var pe *PathError
	if errors.As(err, &pe) {
		return err
	}
	if path == "" {
		return err
	}
	return &PathError{Path: path, Err: err}
}

func join(prefix, sep, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + sep + name
}

// ToPlain converts a value to plain Go values: map[string]any (dicts, including OrderedDict and
// EasyDict, with str keys), []any (lists, tuples, sets), string, []byte, int64, float64, bool and
// nil; numpy scalars become their value. Anything else (a tensor, an object, an int beyond int64,
// a dict key that is not a str) is an error naming its path. A container the pickle shares is
// converted once and shared in the result (so shared sub-dicts cost nothing extra); a cycle, and
// nesting deeper than MaxDepth, are errors.
func ToPlain(v any) (any, error) {
	var w walker
	return w.plain(v, "")
}

func (w *walker) plain(v any, path string) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string, []byte:
		return v, nil
	case *big.Int:
		return nil, atPath(path, fmt.Errorf("the integer %s does not fit an int64", describeKey(x)))
	case *NumpyScalar:
		val, err := x.Value()
		if err != nil {
			return nil, atPath(path, err)
		}
		return val, nil
	case Tuple, *List, *Set:
		var items []any
		switch y := x.(type) {
		case Tuple:
			items = y
		case *List:
			items = y.Items
		case *Set:
			items = y.Items
		}
		if err := w.enter(v); err != nil {
			return nil, atPath(path, err)
		}
		defer w.leave(v)
		id := identityOf(v)
		if out, ok := w.done[id]; ok {
			return out, nil
		}
		if err := w.count(len(items)); err != nil {
			return nil, atPath(path, err)
		}
		out := make([]any, len(items))
		w.remember(id, out)
		for i, it := range items {
			p, err := w.plain(it, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return nil, err
			}
			out[i] = p
		}
		return out, nil
	case *Dict:
		if err := w.enter(v); err != nil {
			return nil, atPath(path, err)
		}
		defer w.leave(v)
		if out, ok := w.done[x]; ok {
			return out, nil
		}
		if err := w.count(x.Len()); err != nil {
			return nil, atPath(path, err)
		}
		out := make(map[string]any, x.Len())
		w.remember(x, out)
		for _, e := range x.Entries() {
			k, ok := e.Key.(string)
			if !ok {
				return nil, atPath(path, fmt.Errorf("a dict key of type %s (%s); only str keys are plain", TypeName(e.Key), describeKey(e.Key)))
			}
			p, err := w.plain(e.Value, join(path, ".", k))
			if err != nil {
				return nil, err
			}
			out[k] = p
		}
		return out, nil
	}
	return nil, atPath(path, fmt.Errorf("a %s is not a plain value", TypeName(v)))
}

// sliceID identifies a tuple by its backing array: the memo shares tuples as the same slice.
type sliceID struct {
	p *any
	n int
}

// remember records ToPlain's result for a container. It is recorded before the container's
// items are converted, but a cycle back to it is caught first (enter, before done is looked at),
// so a half-filled result is never returned.
func (w *walker) remember(id, out any) {
	if w.done == nil {
		w.done = map[any]any{}
	}
	w.done[id] = out
}

// Leaf is one value that Flatten found: its key path and the value.
type Leaf struct {
	Key   string
	Value any
}

// Flatten walks nested dicts from root (a dict) and returns every value that is not a dict,
// in order, keyed by the path of dict keys joined with sep ({"G": {"w": t}} gives "G/w" for sep
// "/"). str keys are used as they are, int and bool keys in decimal. Lists, tuples and other
// values are leaves, not walked. Each *Tensor leaf is checked (Tensor.Check), and the bytes of
// all of them are bounded by MaxViewRatio and ViewSlack. Two paths that come out the same, a
// cycle, and excess depth or size are errors.
func Flatten(root any, sep string) ([]Leaf, error) {
	d, ok := root.(*Dict)
	if !ok {
		return nil, fmt.Errorf("the file holds a %s, not a dict", TypeName(root))
	}
	var w walker
	var out []Leaf
	seen := map[string]struct{}{}
	var walk func(d *Dict, prefix string) error
	walk = func(d *Dict, prefix string) error {
		if err := w.enter(d); err != nil {
			return atPath(prefix, err)
		}
		defer w.leave(d)
		if err := w.count(d.Len()); err != nil {
			return atPath(prefix, err)
		}
		for _, e := range d.Entries() {
			var name string
			switch k := e.Key.(type) {
			case string:
				name = k
			case int64, bool:
				name = describeKey(k)
			default:
				return atPath(prefix, fmt.Errorf("a dict key of type %s", TypeName(e.Key)))
			}
			key := join(prefix, sep, name)
			w.pathBytes += int64(len(key))
			if w.pathBytes > MaxPathBytes {
				return atPath(prefix, limitErr("the bytes of the key paths", "MaxPathBytes", MaxPathBytes))
			}
			if sub, ok := e.Value.(*Dict); ok {
				if err := walk(sub, key); err != nil {
					return err
				}
				continue
			}
			if t, ok := e.Value.(*Tensor); ok {
				if err := w.tensor(t); err != nil {
					return atPath(key, err)
				}
			}
			if _, dup := seen[key]; dup {
				return fmt.Errorf("the key %s appears twice", cleanName(key))
			}
			seen[key] = struct{}{}
			out = append(out, Leaf{key, e.Value})
		}
		return nil
	}
	if err := walk(d, ""); err != nil {
		return nil, err
	}
	return out, nil
}
