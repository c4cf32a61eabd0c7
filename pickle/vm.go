package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
)

// Options configure Unpickle.
type Options struct {
	// Globals is the allow-list: the only module-level names the pickle may use, and what calling
	// each yields. Any other name (os.system, builtins.eval, ...) is refused with a
	// *ForbiddenError before anything else happens. Nil refuses every name.
	Globals Globals
	// Persistent resolves a persistent id (BINPERSID, PERSID): torch.save's storages. Nil refuses
	// persistent ids.
	Persistent func(pid any) (any, error)
}

// ForbiddenError reports a pickle that uses a global which is not on the allow-list.
type ForbiddenError struct{ Global Global }

func (e *ForbiddenError) Error() string {
	return "the pickle calls " + cleanName(e.Global.Module) + "." + cleanName(e.Global.Name) + "; sgan never runs code from files"
}

// Unpickle decodes one pickle (protocols 2 to 5, and the binary opcodes of protocol 1) into the
// values described at Tuple, resolving globals through o.Globals only: nothing in the data is ever
// run. Bytes after the STOP opcode are ignored, as Python ignores them. The returned []byte values
// alias data.
//
// The work and memory are linear in len(data) and bounded by MaxStack, MaxMemo, MaxItems and
// MaxKeyBytes; errors name the byte offset and opcode.
func Unpickle(data []byte, o Options) (any, error) {
	v, _, err := UnpickleStream(data, o)
	return v, err
}

// UnpickleStream is Unpickle that also returns how many bytes the pickle took, up to and
// including its STOP opcode: for formats that write several pickles back to back.
func UnpickleStream(data []byte, o Options) (any, int, error) {
	m := &machine{data: data, opts: o}
	v, err := m.run()
	if err != nil {
		return nil, 0, err
	}
	return v, m.pos, nil
}

type machine struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  []any // indexed by memo key; memoHole where unset
	nmemo int   // set entries
	items int64
	opts  Options
	proto int
	cache map[any]any
}

var (
	errTruncated = errors.New("the pickle ends early")
	errUnderflow = errors.New("stack underflow (a malformed pickle)")
	errNoMark    = errors.New("no MARK to match (a malformed pickle)")
)

func (m *machine) read(n uint64) ([]byte, error) {
	if n > uint64(len(m.data)-m.pos) {
		return nil, errTruncated
	}
	end := m.pos + int(n)
	b := m.data[m.pos:end:end]
	m.pos = end
	return b, nil
}

func (m *machine) u8() (int, error) {
	b, err := m.read(1)
	if err != nil {
		return 0, err
	}
	return int(b[0]), nil
}

func (m *machine) u32() (uint32, error) {
	b, err := m.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (m *machine) u64() (uint64, error) {
	b, err := m.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// line reads up to a newline, at most MaxNameBytes.
func (m *machine) line() (string, error) {
	for i := m.pos; i < len(m.data) && i-m.pos <= MaxNameBytes; i++ {
		if m.data[i] == '\n' {
			s := string(m.data[m.pos:i])
			m.pos = i + 1
			return s, nil
		}
	}
	if len(m.data)-m.pos > MaxNameBytes {
		return "", limitErr("a name in the pickle", "MaxNameBytes", MaxNameBytes)
	}
	return "", errTruncated
}

func (m *machine) push(v any) error {
	if len(m.stack)+len(m.marks) >= MaxStack {
		return limitErr("the pickle's stack", "MaxStack", MaxStack)
	}
	m.stack = append(m.stack, v)
	return nil
}

// base is where the stack above the innermost mark starts; pops may not go below it.
func (m *machine) base() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

func (m *machine) pop() (any, error) {
	if len(m.stack) <= m.base() {
		return nil, errUnderflow
	}
	v := m.stack[len(m.stack)-1]
	m.stack[len(m.stack)-1] = nil
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *machine) top() (any, error) {
	if len(m.stack) <= m.base() {
		return nil, errUnderflow
	}
	return m.stack[len(m.stack)-1], nil
}

func (m *machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, errNoMark
	}
	b := m.marks[len(m.marks)-1]
	m.marks = m.marks[:len(m.marks)-1]
	items := append([]any(nil), m.stack[b:]...)
	clear(m.stack[b:])
	m.stack = m.stack[:b]
	return items, nil
}

// charge counts n items put into containers against MaxItems.
func (m *machine) charge(n int) error {
	m.items += int64(n)
	if m.items > MaxItems {
		return limitErr("the items of the pickle's containers", "MaxItems", MaxItems)
	}
	return nil
}

// memoHole marks an unset memo slot.
type memoHole struct{}

func isHole(v any) bool {
	_, ok := v.(memoHole)
	return ok
}

func (m *machine) memoize(idx uint32) error {
	v, err := m.top()
	if err != nil {
		return err
	}
	if idx >= MaxMemo {
		return limitErr(fmt.Sprintf("memo key %d", idx), "MaxMemo", MaxMemo)
	}
	for uint32(len(m.memo)) <= idx {
		m.memo = append(m.memo, memoHole{})
	}
	if isHole(m.memo[idx]) {
		m.nmemo++
	}
	m.memo[idx] = v
	return nil
}

func (m *machine) get(idx uint32) error {
	if idx < uint32(len(m.memo)) {
		if v := m.memo[idx]; !isHole(v) {
			return m.push(v)
		}
	}
	return fmt.Errorf("memo entry %d is read before it is written (a malformed pickle)", idx)
}

// py2Modules are the Python 2 module names that protocol 0-2 pickles use for Python 3's (the
// renames Python's unpickler applies with fix_imports).
var py2Modules = map[string]string{"__builtin__": "builtins", "copy_reg": "copyreg"}

func (m *machine) global(module, name string) error {
	if m.proto < 3 {
		if mod, ok := py2Modules[module]; ok {
			module = mod
		}
	}
	g := Global{module, name}
	if _, ok := m.opts.Globals[g]; !ok {
		return &ForbiddenError{g}
	}
	return m.push(g)
}

func (m *machine) call(fn any, c *Call) error {
	g, ok := fn.(Global)
	if !ok {
		return fmt.Errorf("the pickle calls a %s, not a named function or class", TypeName(fn))
	}
	f, ok := m.opts.Globals[g]
	if !ok {
		return &ForbiddenError{g}
	}
	if f == nil {
		return fmt.Errorf("the pickle calls %s, which it may only name", g)
	}
	c.Global, c.m = g, m
	if err := m.charge(len(c.Args)); err != nil {
		return err
	}
	v, err := f(c)
	if err != nil {
		return fmt.Errorf("%s: %w", g, err)
	}
	return m.push(v)
}

func (m *machine) addToList(target any, items []any) error {
	if err := m.charge(len(items)); err != nil {
		return err
	}
	switch l := target.(type) {
	case *List:
		l.Items = append(l.Items, items...)
	case *Object:
		l.List = append(l.List, items...)
	default:
		return fmt.Errorf("the pickle appends to a %s", TypeName(target))
	}
	return nil
}

func (m *machine) setItems(target any, kv []any) error {
	if len(kv)%2 != 0 {
		return errors.New("SETITEMS with a key and no value (a malformed pickle)")
	}
	if err := m.charge(len(kv) / 2); err != nil {
		return err
	}
	var d *Dict
	switch t := target.(type) {
	case *Dict:
		d = t
	case *Object:
		if t.Items == nil {
			t.Items = NewDict()
		}
		d = t.Items
	default:
		return fmt.Errorf("the pickle sets an item of a %s", TypeName(target))
	}
	for i := 0; i < len(kv); i += 2 {
		if err := d.Set(kv[i], kv[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (m *machine) tuple(items []any) error {
	if err := m.charge(len(items)); err != nil {
		return err
	}
	return m.push(Tuple(items))
}

// popN pops n values, the deepest first.
func (m *machine) popN(n int) ([]any, error) {
	if len(m.stack)-m.base() < n {
		return nil, errUnderflow
	}
	items := append([]any(nil), m.stack[len(m.stack)-n:]...)
	clear(m.stack[len(m.stack)-n:])
	m.stack = m.stack[:len(m.stack)-n]
	return items, nil
}

func (m *machine) run() (any, error) {
	for {
		at := m.pos
		op, err := m.u8()
		if err != nil {
			return nil, errors.New("pickle: no STOP opcode (the data ends early)")
		}
		if op == '.' {
			v, err := m.pop()
			if err != nil {
				return nil, fmt.Errorf("pickle: byte %d (STOP): %w", at, err)
			}
			return v, nil
		}
		if err := m.step(byte(op)); err != nil {
			return nil, fmt.Errorf("pickle: byte %d (%s): %w", at, opName(byte(op)), err)
		}
	}
}

func (m *machine) step(op byte) error {
	switch op {
	case 0x80: // PROTO
		p, err := m.u8()
		if err != nil {
			return err
		}
		if p > 5 {
			return fmt.Errorf("pickle protocol %d is newer than 5", p)
		}
		m.proto = p
	case 0x95: // FRAME: a hint for buffering; only its length is checked
		n, err := m.u64()
		if err != nil {
			return err
		}
		if n > uint64(len(m.data)-m.pos) {
			return errTruncated
		}
	case '(': // MARK
		if len(m.stack)+len(m.marks) >= MaxStack {
			return limitErr("the pickle's stack", "MaxStack", MaxStack)
		}
		m.marks = append(m.marks, len(m.stack))
	case '}':
		return m.push(NewDict())
	case ']':
		return m.push(&List{})
	case ')':
		return m.push(Tuple{})
	case 0x8f: // EMPTY_SET
		return m.push(&Set{})
	case 'N':
		return m.push(nil)
	case 0x88:
		return m.push(true)
	case 0x89:
		return m.push(false)
	case 'K':
		v, err := m.u8()
		if err != nil {
			return err
		}
		return m.push(int64(v))
	case 'M':
		b, err := m.read(2)
		if err != nil {
			return err
		}
		return m.push(int64(binary.LittleEndian.Uint16(b)))
	case 'J':
		v, err := m.u32()
		if err != nil {
			return err
		}
		return m.push(int64(int32(v)))
	case 0x8a, 0x8b: // LONG1, LONG4
		var n uint64
		if op == 0x8a {
			v, err := m.u8()
			if err != nil {
				return err
			}
			n = uint64(v)
		} else {
			v, err := m.u32()
			if err != nil {
				return err
			}
			n = uint64(v)
		}
		if n > MaxLongBytes {
			return limitErr(fmt.Sprintf("an integer of %d bytes", n), "MaxLongBytes", MaxLongBytes)
		}
		b, err := m.read(n)
		if err != nil {
			return err
		}
		return m.push(decodeLong(b))
	case 'G':
		b, err := m.read(8)
		if err != nil {
			return err
		}
		return m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'X', 0x8c, 0x8d, 'T', 'U': // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8, BINSTRING, SHORT_BINSTRING
		b, err := m.sized(op)
		if err != nil {
			return err
		}
		return m.push(string(b))
	case 'B', 'C', 0x8e: // BINBYTES, SHORT_BINBYTES, BINBYTES8
		b, err := m.sized(op)
		if err != nil {
			return err
		}
		return m.push(b)
	case 0x96: // BYTEARRAY8: a mutable copy
		b, err := m.sized(op)
		if err != nil {
			return err
		}
		return m.push(append([]byte{}, b...))
	case 0x97, 0x98:
		return errors.New("the pickle uses out-of-band buffers (protocol 5 NEXT_BUFFER), which files cannot carry")
	case 'q':
		i, err := m.u8()
		if err != nil {
			return err
		}
		return m.memoize(uint32(i))
	case 'r':
		i, err := m.u32()
		if err != nil {
			return err
		}
		return m.memoize(i)
	case 0x94: // MEMOIZE: the next key is the number of entries, as in Python
		return m.memoize(uint32(m.nmemo))
	case 'h':
		i, err := m.u8()
		if err != nil {
			return err
		}
		return m.get(uint32(i))
	case 'j':
		i, err := m.u32()
		if err != nil {
			return err
		}
		return m.get(i)
	case 'c': // GLOBAL
		mod, err := m.line()
		if err != nil {
			return err
		}
		name, err := m.line()
		if err != nil {
			return err
		}
		return m.global(mod, name)
	case 0x93: // STACK_GLOBAL
		vs, err := m.popN(2)
		if err != nil {
			return err
		}
		mod, ok1 := vs[0].(string)
		name, ok2 := vs[1].(string)
		if !ok1 || !ok2 {
			return errors.New("STACK_GLOBAL of a module or name that is not a str")
		}
		if len(mod) > MaxNameBytes || len(name) > MaxNameBytes {
			return limitErr("a name in the pickle", "MaxNameBytes", MaxNameBytes)
		}
		return m.global(mod, name)
	case 't':
		items, err := m.popMark()
		if err != nil {
			return err
		}
		return m.tuple(items)
	case 0x85, 0x86, 0x87: // TUPLE1..3
		items, err := m.popN(int(op-0x85) + 1)
		if err != nil {
			return err
		}
		return m.tuple(items)
	case 'a':
		v, err := m.pop()
		if err != nil {
			return err
		}
		l, err := m.top()
		if err != nil {
			return err
		}
		return m.addToList(l, []any{v})
	case 'e':
		items, err := m.popMark()
		if err != nil {
			return err
		}
		l, err := m.top()
		if err != nil {
			return err
		}
		return m.addToList(l, items)
	case 's':
		kv, err := m.popN(2)
		if err != nil {
			return err
		}
		d, err := m.top()
		if err != nil {
			return err
		}
		return m.setItems(d, kv)
	case 'u':
		kv, err := m.popMark()
		if err != nil {
			return err
		}
		d, err := m.top()
		if err != nil {
			return err
		}
		return m.setItems(d, kv)
	case 0x90: // ADDITEMS
		items, err := m.popMark()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		s, ok := t.(*Set)
		if !ok || s.Frozen {
			return fmt.Errorf("the pickle adds items to a %s", TypeName(t))
		}
		if err := m.charge(len(items)); err != nil {
			return err
		}
		for _, x := range items {
			if err := s.Add(x); err != nil {
				return err
			}
		}
	case 0x91: // FROZENSET
		items, err := m.popMark()
		if err != nil {
			return err
		}
		if err := m.charge(len(items)); err != nil {
			return err
		}
		s := &Set{Frozen: true}
		for _, x := range items {
			if err := s.Add(x); err != nil {
				return err
			}
		}
		return m.push(s)
	case 'b': // BUILD
		state, err := m.pop()
		if err != nil {
			return err
		}
		t, err := m.top()
		if err != nil {
			return err
		}
		b, ok := t.(Builder)
		if !ok {
			return fmt.Errorf("the pickle sets the state of a %s", TypeName(t))
		}
		return b.Build(state)
	case 'Q': // BINPERSID
		pid, err := m.pop()
		if err != nil {
			return err
		}
		return m.persistent(pid)
	case 'P': // PERSID
		pid, err := m.line()
		if err != nil {
			return err
		}
		return m.persistent(pid)
	case 'R': // REDUCE
		vs, err := m.popN(2)
		if err != nil {
			return err
		}
		args, ok := vs[1].(Tuple)
		if !ok {
			return fmt.Errorf("REDUCE with %s arguments, not a tuple", TypeName(vs[1]))
		}
		return m.call(vs[0], &Call{Args: args})
	case 0x81: // NEWOBJ
		vs, err := m.popN(2)
		if err != nil {
			return err
		}
		args, ok := vs[1].(Tuple)
		if !ok {
			return fmt.Errorf("NEWOBJ with %s arguments, not a tuple", TypeName(vs[1]))
		}
		return m.call(vs[0], &Call{Args: args, New: true})
	case 0x92: // NEWOBJ_EX
		vs, err := m.popN(3)
		if err != nil {
			return err
		}
		args, ok1 := vs[1].(Tuple)
		kw, ok2 := vs[2].(*Dict)
		if !ok1 || !ok2 {
			return errors.New("NEWOBJ_EX without a tuple and a dict of arguments")
		}
		if err := m.charge(kw.Len()); err != nil {
			return err
		}
		return m.call(vs[0], &Call{Args: args, Kwargs: kw, New: true})
	case '0': // POP: the top item, or the innermost mark when nothing is above it
		if len(m.stack) > m.base() {
			_, err := m.pop()
			return err
		}
		_, err := m.popMark()
		return err
	case '1': // POP_MARK
		_, err := m.popMark()
		return err
	case '2': // DUP
		v, err := m.top()
		if err != nil {
			return err
		}
		return m.push(v)
	case 0x82, 0x83, 0x84:
		return errors.New("the pickle uses the copyreg extension registry, which sgan does not read")
	default:
		if name, ok := textOps[op]; ok {
			return fmt.Errorf("opcode %s of pickle protocol 0 is not read (write the file with protocol 2 or later)", name)
		}
		return fmt.Errorf("unknown opcode 0x%02x (not a pickle, or a damaged one)", op)
	}
	return nil
}

// sized reads the payload of a length-prefixed string or bytes opcode.
func (m *machine) sized(op byte) ([]byte, error) {
	var n uint64
	switch op {
	case 'U', 'C', 0x8c:
		v, err := m.u8()
		if err != nil {
			return nil, err
		}
		n = uint64(v)
	case 'T':
		v, err := m.u32()
		if err != nil {
			return nil, err
		}
		if int32(v) < 0 {
			return nil, errors.New("BINSTRING of negative length")
		}
		n = uint64(v)
	case 'X', 'B':
		v, err := m.u32()
		if err != nil {
			return nil, err
		}
		n = uint64(v)
	default: // 8-byte lengths
		v, err := m.u64()
		if err != nil {
			return nil, err
		}
		n = v
	}
	return m.read(n)
}

func (m *machine) persistent(pid any) error {
	if m.opts.Persistent == nil {
		return errors.New("the pickle refers to persistent objects, which only torch.save files have")
	}
	v, err := m.opts.Persistent(pid)
	if err != nil {
		return err
	}
	return m.push(v)
}

// decodeLong decodes a little-endian two's complement integer.
func decodeLong(b []byte) any {
	if len(b) == 0 {
		return int64(0)
	}
	if len(b) <= 8 {
		var u uint64
		for i := len(b) - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := 64 - 8*uint(len(b))
		return int64(u<<shift) >> shift
	}
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
	return v
}

var textOps = map[byte]string{
	'I': "INT", 'L': "LONG", 'F': "FLOAT", 'S': "STRING", 'V': "UNICODE", 'g': "GET", 'p': "PUT",
	'd': "DICT", 'l': "LIST", 'i': "INST", 'o': "OBJ",
}

var opNames = map[byte]string{
	0x80: "PROTO", 0x95: "FRAME", '(': "MARK", '}': "EMPTY_DICT", ']': "EMPTY_LIST", ')': "EMPTY_TUPLE",
	0x8f: "EMPTY_SET", 'N': "NONE", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 'K': "BININT1", 'M': "BININT2",
	'J': "BININT", 0x8a: "LONG1", 0x8b: "LONG4", 'G': "BINFLOAT", 'X': "BINUNICODE",
	0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 'T': "BINSTRING", 'U': "SHORT_BINSTRING",
	'B': "BINBYTES", 'C': "SHORT_BINBYTES", 0x8e: "BINBYTES8", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER",
	0x98: "READONLY_BUFFER", 'q': "BINPUT", 'r': "LONG_BINPUT", 0x94: "MEMOIZE", 'h': "BINGET",
	'j': "LONG_BINGET", 'c': "GLOBAL", 0x93: "STACK_GLOBAL", 't': "TUPLE", 0x85: "TUPLE1", 0x86: "TUPLE2",
	0x87: "TUPLE3", 'a': "APPEND", 'e': "APPENDS", 's': "SETITEM", 'u': "SETITEMS", 0x90: "ADDITEMS",
	0x91: "FROZENSET", 'b': "BUILD", 'Q': "BINPERSID", 'P': "PERSID", 'R': "REDUCE", 0x81: "NEWOBJ",
	0x92: "NEWOBJ_EX", '0': "POP", '1': "POP_MARK", '2': "DUP", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4",
	'.': "STOP",
}

func opName(op byte) string {
	if n, ok := opNames[op]; ok {
		return n
	}
	if n, ok := textOps[op]; ok {
		return n
	}
	return fmt.Sprintf("opcode 0x%02x", op)
}
