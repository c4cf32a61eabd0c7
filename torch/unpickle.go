package torch

// #include "shim.h"
import "C"

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"unsafe"
)

// Reading torch.save files is done here, in Go, rather than by libtorch's C++ unpickler, which
// (in 1.13) lacks pickle's SETITEM opcode (any one-entry dict) and turns an OrderedDict (every
// model.state_dict()) into None. The format: a zip whose "<name>/data.pkl" is a protocol-2 pickle
// of the object, with tensors as torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
// ...) and storages as persistent ids ('storage', torch.FloatStorage, key, location, numel)
// whose bytes are the entry "<name>/data/<key>".

// pickleGlobal is a class or function named by GLOBAL.
type pickleGlobal struct{ module, name string }

// pickleDict keeps insertion order, as Python dicts do.
type pickleDict struct {
	keys []any
	vals map[any]any
}

func newPickleDict() *pickleDict { return &pickleDict{vals: map[any]any{}} }

func (d *pickleDict) set(k, v any) {
	if _, ok := d.vals[k]; !ok {
		d.keys = append(d.keys, k)
	}
	d.vals[k] = v
}

type pickleTuple []any

type pickleStorage struct {
	dtype DType
	key   string
}

type pickleTensor struct {
	storage        pickleStorage
	offset         int64
	size, stride   []int64
	storageRecords func(key string) ([]byte, error)
}

type pickleObject struct{ class pickleGlobal } // anything sgan does not read

var storageTypes = map[string]DType{
	"FloatStorage": Float32, "DoubleStorage": Float64, "LongStorage": Int64, "IntStorage": Int32,
	"ByteStorage": Uint8, "BoolStorage": Bool, "HalfStorage": Float16, "BFloat16Storage": BFloat16,
}

var dtypeSize = map[DType]int{Float32: 4, Float64: 8, Int64: 8, Int32: 4, Uint8: 1, Bool: 1, Float16: 2, BFloat16: 2}

// unpickle runs the pickle VM over data; persistent ids become pickleStorage values.
func unpickle(data []byte) (any, error) {
	r := bytes.NewReader(data)
	var stack []any
	var marks []int
	memo := map[uint32]any{}
	pop := func() any {
		if len(stack) == 0 {
			panic(errors.New("pickle: stack underflow"))
		}
		v := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		return v
	}
	popMark := func() []any {
		if len(marks) == 0 {
			panic(errors.New("pickle: no MARK"))
		}
		m := marks[len(marks)-1]
		marks = marks[:len(marks)-1]
		items := append([]any(nil), stack[m:]...)
		stack = stack[:m]
		return items
	}
	read := func(n int) []byte {
		if n < 0 || n > r.Len() {
			panic(errors.New("pickle: truncated"))
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			panic(fmt.Errorf("pickle: truncated: %w", err))
		}
		return b
	}
	u8 := func() int { return int(read(1)[0]) }
	u32 := func() uint32 { return binary.LittleEndian.Uint32(read(4)) }
	line := func() string {
		var sb strings.Builder
		for {
			c := read(1)[0]
			if c == '\n' {
				return sb.String()
			}
			sb.WriteByte(c)
		}
	}
	var result any
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				if e, ok := r.(error); ok {
					err = e
					return
				}
				panic(r)
			}
		}()
		for {
			op, err := r.ReadByte()
			if err != nil {
				return errors.New("pickle: no STOP opcode")
			}
			switch op {
			case 0x80: // PROTO
				read(1)
			case 0x95: // FRAME
				read(8)
			case '.': // STOP
				result = pop()
				return nil
			case '(':
				marks = append(marks, len(stack))
			case '}':
				stack = append(stack, newPickleDict())
			case ']':
				stack = append(stack, []any{})
			case ')':
				stack = append(stack, pickleTuple{})
			case 'N':
				stack = append(stack, nil)
			case 0x88:
				stack = append(stack, true)
			case 0x89:
				stack = append(stack, false)
			case 'K':
				stack = append(stack, int64(u8()))
			case 'M':
				stack = append(stack, int64(binary.LittleEndian.Uint16(read(2))))
			case 'J':
				stack = append(stack, int64(int32(u32())))
			case 0x8a, 0x8b: // LONG1, LONG4
				n := u8()
				if op == 0x8b {
					n = int(u32())
				}
				stack = append(stack, decodeLong(read(n)))
			case 'G':
				stack = append(stack, math.Float64frombits(binary.BigEndian.Uint64(read(8))))
			case 'X':
				stack = append(stack, string(read(int(u32()))))
			case 0x8c:
				stack = append(stack, string(read(u8())))
			case 0x8d:
				stack = append(stack, string(read(int(binary.LittleEndian.Uint64(read(8))))))
			case 'T':
				stack = append(stack, string(read(int(u32()))))
			case 'U':
				stack = append(stack, string(read(u8())))
			case 'B':
				stack = append(stack, read(int(u32())))
			case 'C':
				stack = append(stack, read(u8()))
			case 'q':
				memo[uint32(u8())] = stack[len(stack)-1]
			case 'r':
				memo[u32()] = stack[len(stack)-1]
			case 0x94: // MEMOIZE
				memo[uint32(len(memo))] = stack[len(stack)-1]
			case 'h':
				stack = append(stack, memo[uint32(u8())])
			case 'j':
				stack = append(stack, memo[u32()])
			case 'c':
				mod := line()
				stack = append(stack, pickleGlobal{mod, line()})
			case 0x93: // STACK_GLOBAL
				name, mod := pop(), pop()
				stack = append(stack, pickleGlobal{fmt.Sprint(mod), fmt.Sprint(name)})
			case 't':
				stack = append(stack, pickleTuple(popMark()))
			case 0x85:
				stack = append(stack, pickleTuple{pop()})
			case 0x86:
				b, a := pop(), pop()
				stack = append(stack, pickleTuple{a, b})
			case 0x87:
				c, b, a := pop(), pop(), pop()
				stack = append(stack, pickleTuple{a, b, c})
			case 'a':
				v := pop()
				l, _ := stack[len(stack)-1].([]any)
				stack[len(stack)-1] = append(l, v)
			case 'e':
				items := popMark()
				l, _ := stack[len(stack)-1].([]any)
				stack[len(stack)-1] = append(l, items...)
			case 's':
				v, k := pop(), pop()
				if d, ok := stack[len(stack)-1].(*pickleDict); ok {
					d.set(hashable(k), v)
				}
			case 'u':
				items := popMark()
				if d, ok := stack[len(stack)-1].(*pickleDict); ok {
					for i := 0; i+1 < len(items); i += 2 {
						d.set(hashable(items[i]), items[i+1])
					}
				}
			case 'b': // BUILD: object state (an OrderedDict's _metadata); sgan reads none of it
				pop()
			case 'Q': // BINPERSID
				stack = append(stack, persistent(pop()))
			case 'R':
				args, _ := pop().(pickleTuple)
				fn := pop()
				stack = append(stack, reduce(fn, args))
			case 0x81: // NEWOBJ
				pop()
				cls, _ := pop().(pickleGlobal)
				stack = append(stack, pickleObject{cls})
			default:
				return fmt.Errorf("pickle: unsupported opcode 0x%02x", op)
			}
		}
	}()
	return result, err
}

// hashable makes a key usable in a Go map (tuples become their printed form).
func hashable(k any) any {
	switch k.(type) {
	case string, int64, float64, bool, nil:
		return k
	}
	return fmt.Sprint(k)
}

func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	// Little-endian two's complement.
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	f, _ := new(big.Float).SetInt(v).Float64()
	return f
}

func persistent(pid any) any {
	t, ok := pid.(pickleTuple)
	if !ok || len(t) < 3 || t[0] != "storage" {
		panic(fmt.Errorf("pickle: unknown persistent id %v", pid))
	}
	g, _ := t[1].(pickleGlobal)
	dt, ok := storageTypes[g.name]
	if !ok {
		panic(fmt.Errorf("pickle: unsupported storage type %s.%s", g.module, g.name))
	}
	return pickleStorage{dtype: dt, key: fmt.Sprint(t[2])}
}

func ints(v any) []int64 {
	t, _ := v.(pickleTuple)
	out := make([]int64, len(t))
	for i, x := range t {
		out[i], _ = x.(int64)
	}
	return out
}

func reduce(fn any, args pickleTuple) any {
	g, _ := fn.(pickleGlobal)
	switch g.module + "." + g.name {
	case "collections.OrderedDict":
		return newPickleDict()
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		if len(args) < 4 {
			panic(errors.New("pickle: short _rebuild_tensor_v2 call"))
		}
		st, ok := args[0].(pickleStorage)
		if !ok {
			panic(errors.New("pickle: tensor without storage"))
		}
		off, _ := args[1].(int64)
		return &pickleTensor{storage: st, offset: off, size: ints(args[2]), stride: ints(args[3])}
	case "torch._utils._rebuild_parameter", "torch.jit._pickle.restore_type_tag":
		if len(args) > 0 {
			return args[0]
		}
	}
	return pickleObject{g}
}

// readTorchZip decodes a torch.save zip into nested values with tensors materialized.
func readTorchZip(b []byte) (*Archive, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("not a torch.save zip file (%v)", err)
	}
	files := map[string]*zip.File{}
	prefix := ""
	for _, f := range zr.File {
		files[f.Name] = f
		if strings.HasSuffix(f.Name, "/data.pkl") {
			prefix = strings.TrimSuffix(f.Name, "data.pkl")
		}
	}
	if prefix == "" {
		return nil, errors.New("torch.save zip without data.pkl")
	}
	readEntry := func(name string) ([]byte, error) {
		f, ok := files[name]
		if !ok {
			return nil, fmt.Errorf("missing zip entry %s", name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	pkl, err := readEntry(prefix + "data.pkl")
	if err != nil {
		return nil, err
	}
	bigEndian := false
	if bo, err := readEntry(prefix + "byteorder"); err == nil && strings.TrimSpace(string(bo)) == "big" {
		bigEndian = true
	}
	root, err := unpickle(pkl)
	if err != nil {
		return nil, err
	}
	a := NewArchive()
	storages := map[string]*Tensor{}
	defer func() {
		for _, t := range storages {
			t.Free()
		}
	}()
	var walk func(v any, key string) error
	walk = func(v any, key string) error {
		switch x := v.(type) {
		case *pickleDict:
			for _, k := range x.keys {
				ks := fmt.Sprint(k)
				if key != "" {
					ks = key + "/" + ks
				}
				if err := walk(x.vals[k], ks); err != nil {
					return err
				}
			}
		case *pickleTensor:
			st, ok := storages[x.storage.key]
			if !ok {
				raw, err := readEntry(prefix + "data/" + x.storage.key)
				if err != nil {
					return err
				}
				sz := dtypeSize[x.storage.dtype]
				if bigEndian && sz > 1 {
					for i := 0; i+sz <= len(raw); i += sz {
						for l, r := i, i+sz-1; l < r; l, r = l+1, r-1 {
							raw[l], raw[r] = raw[r], raw[l]
						}
					}
				}
				if st, err = storageTensor(raw, x.storage.dtype); err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
				storages[x.storage.key] = st
			}
			t, err := asStrided(st, x.size, x.stride, x.offset)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			a.Tensors[key] = t
		case string:
			a.Strings[key] = x
		case int64:
			a.Ints[key] = x
		case bool:
			if x {
				a.Ints[key] = 1
			} else {
				a.Ints[key] = 0
			}
		case float64:
			a.Floats[key] = x
		}
		// Lists, tuples, None and other objects carry nothing sgan reads.
		return nil
	}
	if err := walk(root, ""); err != nil {
		a.Free()
		return nil, err
	}
	if _, ok := root.(*pickleDict); !ok {
		a.Free()
		return nil, fmt.Errorf("holds a %T, not a dict", root)
	}
	return a, nil
}

// storageTensor copies raw little-endian storage bytes into a 1-D tensor.
func storageTensor(raw []byte, dt DType) (*Tensor, error) {
	sz := dtypeSize[dt]
	if sz == 0 || len(raw)%sz != 0 {
		return nil, fmt.Errorf("storage of %d bytes does not hold %v elements", len(raw), dt)
	}
	n := []int64{int64(len(raw) / sz)}
	var out C.sg_tensor
	var p unsafe.Pointer
	if len(raw) > 0 {
		p = unsafe.Pointer(&raw[0])
	}
	if err := errOf("load storage", C.sg_from_data(p, ptr64(n), 1, C.int(dt), &out)); err != nil {
		return nil, err
	}
	return (&Tensor{h: out}), nil
}

// asStrided materializes a tensor view of a storage as a contiguous, unowned tensor.
func asStrided(st *Tensor, size, stride []int64, offset int64) (*Tensor, error) {
	if len(size) != len(stride) {
		return nil, fmt.Errorf("size %v and stride %v differ in length", size, stride)
	}
	var out C.sg_tensor
	if err := errOf("load tensor", C.sg_as_strided_copy(st.handle(), ptr64(size), ptr64(stride), C.int(len(size)), C.int64_t(offset), &out), st); err != nil {
		return nil, err
	}
	return &Tensor{h: out}, nil
}
