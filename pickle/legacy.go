package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
)

// legacyMagic opens every file of torch.save's legacy format.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// ReadTorchLegacy decodes torch.save's legacy (non-zip) format: what PyTorch before 1.6 wrote,
// what torch.save(..., _use_new_zipfile_serialization=False) writes, and what a storage inside a
// plain pickle is (torch.storage._load_from_bytes). The format is five pickles back to back (the
// magic number, the protocol version 1001, a dict of system information, the object with
// persistent ids ('storage', type, key, location, numel, view_metadata) for its storages, and
// the list of storage keys), then for each key in that list its element count (8 bytes,
// little-endian) and its elements, little-endian. Storages alias b. A nil g means TorchGlobals().
func ReadTorchLegacy(b []byte, g Globals) (any, error) {
	if g == nil {
		g = torchGlobals
	}
	pos := 0
	next := func(what string, o Options) (any, error) {
		v, n, err := UnpickleStream(b[pos:], o)
		if err != nil {
			return nil, fmt.Errorf("legacy torch.save %s: %w", what, err)
		}
		pos += n
		return v, nil
	}
	magic, err := next("magic number", Options{})
	if err != nil {
		return nil, errors.New("not a torch.save file (neither a zip nor the legacy format)")
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, errors.New("not a torch.save file (neither a zip nor the legacy format)")
	}
	proto, err := next("protocol version", Options{})
	if err != nil {
		return nil, err
	}
	if proto != int64(1001) {
		return nil, fmt.Errorf("legacy torch.save protocol version is not 1001 but a %s", TypeName(proto))
	}
	if info, err := next("system information", Options{}); err != nil {
		return nil, err
	} else if _, ok := info.(*Dict); !ok {
		return nil, fmt.Errorf("legacy torch.save system information is a %s, not a dict", TypeName(info))
	}

	type root struct {
		st    *Storage
		numel int64
		read  bool
	}
	type view struct {
		st          *Storage
		root        *root
		offset, len int64
	}
	roots := map[string]*root{}
	views := map[string]*view{}
	var viewOrder []*view
	persistent := func(pid any) (any, error) {
		t, ok := pid.(Tuple)
		if !ok || len(t) < 5 || len(t) > 6 || t[0] != "storage" {
			if ok && len(t) > 0 && t[0] == "module" {
				return nil, errors.New("the file saves a whole Python module; sgan reads state dicts")
			}
			return nil, errors.New("a persistent id that is not ('storage', type, key, location, numel[, view_metadata])")
		}
		dt, err := storageDType(t[1])
		if err != nil {
			return nil, err
		}
		key, ok1 := t[2].(string)
		loc, ok2 := t[3].(string)
		n, ok3 := t[4].(int64)
		if !ok1 || !ok2 || !ok3 || n < 0 {
			return nil, errors.New("a storage persistent id whose key, location or numel has the wrong type")
		}
		r, ok := roots[key]
		if !ok {
			if n > int64(len(b))/int64(dt.Size()) {
				return nil, fmt.Errorf("storage %s of %d elements is larger than the file", cleanName(key), n)
			}
			r = &root{st: &Storage{Key: key, DType: dt, Location: loc}, numel: n}
			roots[key] = r
		} else if r.st.DType != dt || r.numel != n {
			return nil, fmt.Errorf("storage %s is declared twice, differently", cleanName(key))
		}
		if len(t) < 6 || t[5] == nil {
			return r.st, nil
		}
		vm, ok := t[5].(Tuple)
		if !ok || len(vm) != 3 {
			return nil, errors.New("storage view metadata is not (key, offset, size)")
		}
		vkey, ok1 := vm[0].(string)
		off, ok2 := vm[1].(int64)
		size, ok3 := vm[2].(int64)
		if !ok1 || !ok2 || !ok3 || off < 0 || size < 0 || off > n || size > n-off {
			return nil, fmt.Errorf("storage view %s does not lie inside its storage %s", cleanName(fmt.Sprint(vm[0])), cleanName(key))
		}
		if v, ok := views[vkey]; ok {
			if v.root != r || v.offset != off || v.len != size {
				return nil, fmt.Errorf("storage view %s is declared twice, differently", cleanName(vkey))
			}
			return v.st, nil
		}
		v := &view{st: &Storage{Key: vkey, DType: dt, Location: loc}, root: r, offset: off, len: size}
		views[vkey] = v
		viewOrder = append(viewOrder, v)
		return v.st, nil
	}
	result, err := next("object", Options{Globals: g, Persistent: persistent})
	if err != nil {
		return nil, err
	}
	keysV, err := next("storage keys", Options{})
	if err != nil {
		return nil, err
	}
	var keys []any
	switch k := keysV.(type) {
	case *List:
		keys = k.Items
	case Tuple:
		keys = k
	default:
		return nil, fmt.Errorf("legacy torch.save storage keys are a %s, not a list", TypeName(keysV))
	}
	for _, kv := range keys {
		key, ok := kv.(string)
		if !ok {
			return nil, fmt.Errorf("a legacy torch.save storage key is a %s", TypeName(kv))
		}
		r, ok := roots[key]
		if !ok {
			return nil, fmt.Errorf("storage %s has data but the object does not use it", cleanName(key))
		}
		if r.read {
			return nil, fmt.Errorf("storage %s has data twice", cleanName(key))
		}
		if len(b)-pos < 8 {
			return nil, fmt.Errorf("the file ends before the data of storage %s", cleanName(key))
		}
		n := int64(binary.LittleEndian.Uint64(b[pos:]))
		pos += 8
		if n != r.numel {
			return nil, fmt.Errorf("storage %s has %d elements, not the %d its persistent id says", cleanName(key), n, r.numel)
		}
		nb := n * int64(r.st.DType.Size()) // n <= len(b) / size, checked when declared
		if nb > int64(len(b)-pos) {
			return nil, fmt.Errorf("the file ends inside the data of storage %s", cleanName(key))
		}
		r.st.Data = b[pos : pos+int(nb) : pos+int(nb)]
		pos += int(nb)
		r.read = true
	}
	for key, r := range roots {
		if !r.read {
			return nil, fmt.Errorf("storage %s has no data in the file", cleanName(key))
		}
	}
	for _, v := range viewOrder {
		es := int64(v.st.DType.Size())
		v.st.Data = v.root.st.Data[v.offset*es : (v.offset+v.len)*es : (v.offset+v.len)*es]
	}
	return result, nil
}

// loadFromBytes is torch.storage._load_from_bytes(b): a storage inside a plain pickle, b being a
// whole legacy torch.save stream of it.
func loadFromBytes(c *Call) (any, error) {
	if len(c.Args) != 1 {
		return nil, fmt.Errorf("called with %d arguments", len(c.Args))
	}
	b, ok := c.Args[0].([]byte)
	if !ok {
		return nil, fmt.Errorf("called with a %s, not bytes", TypeName(c.Args[0]))
	}
	return c.Cache(bytesIdentity("legacy", b), func() (any, error) {
		v, err := ReadTorchLegacy(b, torchGlobals)
		if err != nil {
			return nil, err
		}
		st, ok := v.(*Storage)
		if !ok {
			return nil, fmt.Errorf("the bytes hold a %s, not a storage", TypeName(v))
		}
		return st, nil
	})
}
