package pickle

import (
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"
)

func TestUnpickleOpcodes(t *testing.T) {
	big1, _ := new(big.Int).SetString("-170141183460469231731687303715884105728", 10) // -2^127
	tests := []struct {
		name string
		pkl  []byte
		want any // compared after ToPlain
	}{
		{"none", asm(0x80, 2, "N."), nil},
		{"bools", asm(0x80, 2, 0x88, 0x89, 0x86, "."), []any{true, false}},
		{"small ints", asm("K", 7, "M", "\x01\x02", "J", le32(0xffffffff), 0x87, "."), []any{int64(7), int64(0x0201), int64(-1)}},
		{"long1", asm(0x8a, 2, "\x00\x80", "."), int64(-32768)},
		{"long1 empty", asm(0x8a, 0, "."), int64(0)},
		{"float", asm("G", "\x3f\xd0\x00\x00\x00\x00\x00\x00", "."), 0.25},
		{"strings", asm("(", 0x8c, 2, "ab", "X", le32(1), "c", 0x8d, le64(1), "d", "U", 1, "e", "T", le32(1), "f", "t."),
			[]any{"ab", "c", "d", "e", "f"}},
		{"bytes", asm("(C", 2, "hi", "B", le32(1), "x", 0x8e, le64(0), 0x96, le64(1), "z", "t."),
			[]any{[]byte("hi"), []byte("x"), []byte{}, []byte("z")}},
		{"dict setitem(s) and memo", asm(0x80, 4, 0x95, le64(20), "}", 0x94, "(", str("a"), "K", 1, str("b"), "h", 0, "u",
			str("c"), "K", 3, "s", "."), nil},
		{"list appends", asm("]q", 1, "K", 1, "a(K", 2, "K", 3, "e."), []any{int64(1), int64(2), int64(3)}},
		{"set and frozenset", asm(0x8f, "(K", 1, "K", 1, "K", 2, 0x90, "(K", 3, 0x91, 0x86, "."), []any{[]any{int64(1), int64(2)}, []any{int64(3)}}},
		{"pop, pop_mark, dup", asm("K", 1, "K", 2, "0", "(K", 5, "1", "2", 0x86, "."), []any{int64(1), int64(1)}},
		{"pop of an empty mark", asm("K", 9, "(0", "."), int64(9)},
		{"stack global", asm(0x80, 4, 0x8c, 11, "collections", 0x8c, 11, "OrderedDict", 0x93, ")R(", str("k"), "K", 1, "u."),
			map[string]any{"k": int64(1)}},
		{"ordered dict build", asm(global("collections", "OrderedDict"), ")R", str("k"), "N", "s", "}b."), map[string]any{"k": nil}},
		{"easydict newobj", asm(0x80, 4, 0x8c, 11, "dnnlib.util", 0x8c, 8, "EasyDict", 0x93, ")", 0x81, str("z_dim"), "K", 8, "s."),
			map[string]any{"z_dim": int64(8)}},
		{"py2 builtins set", asm(0x80, 2, global("__builtin__", "set"), "](K", 4, "e", 0x85, "R."), []any{int64(4)}},
		{"codecs bytes", asm(0x80, 2, global("_codecs", "encode"), str("\u00ff\u0001"), str("latin1"), 0x86, "R."), []byte{0xff, 1}},
		{"trailing bytes ignored", asm("N.garbage"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Unpickle(tc.pkl, Options{Globals: SnapshotGlobals()})
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "dict setitem(s) and memo" {
				d := v.(*Dict)
				a, _ := d.Get("a")
				b, _ := d.Get("b")
				c, _ := d.Get("c")
				if d.Len() != 3 || a != int64(1) || b != d || c != int64(3) {
					t.Errorf("got %v entries: a=%v b is the dict itself: %v c=%v", d.Len(), a, b == d, c)
				}
				return
			}
			got, err := ToPlain(v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
	v, err := Unpickle(asm(0x8a, 16, make([]byte, 15), 0x80, "."), Options{})
	if err != nil || v.(*big.Int).Cmp(big1) != 0 {
		t.Errorf("LONG1 of 16 bytes: %v, %v", v, err)
	}
}

func TestUnpickleStreamLength(t *testing.T) {
	_, n, err := UnpickleStream(asm("K", 1, ".N."), Options{})
	if err != nil || n != 3 {
		t.Errorf("consumed %d, %v; want 3", n, err)
	}
}

func TestUnpickleMalformed(t *testing.T) {
	tests := []struct {
		name string
		pkl  []byte
		want string
	}{
		{"empty", nil, "no STOP"},
		{"no stop", asm("N"), "no STOP"},
		{"stop on empty stack", asm("."), "stack underflow"},
		{"pop below a mark", asm("K", 1, "(", 0x85, "."), "stack underflow"},
		{"setitems odd", asm("}(K", 1, "u."), "key and no value"},
		{"appends without mark", asm("]e."), "no MARK"},
		{"append to a dict", asm("}K", 1, "a."), "appends to a dict"},
		{"setitem on a list", asm("]K", 1, "K", 2, "s."), "sets an item of a list"},
		{"memo get missing", asm("h", 3, "."), "memo entry 3"},
		{"memoize empty", asm(0x94, "."), "stack underflow"},
		{"unhashable key", asm("}]K", 1, "s."), "a list cannot be a dict key"},
		{"dict as key of itself", asm("}q", 0, "h", 0, "K", 1, "s."), "a dict cannot be a dict key"},
		{"truncated string", asm("X", le32(1000), "abc"), "ends early"},
		{"huge string", asm(0x8d, le64(1<<62), "."), "ends early"},
		{"negative binstring", asm("T", le32(0xffffffff), "."), "negative length"},
		{"protocol 6", asm(0x80, 6, "N."), "protocol 6"},
		{"frame past end", asm(0x95, le64(100), "N."), "ends early"},
		{"next buffer", asm(0x80, 5, 0x97, "."), "out-of-band"},
		{"ext1", asm(0x82, 1, "."), "extension registry"},
		{"text int", asm("I1\n."), "protocol 0"},
		{"unknown opcode", asm(0xff, "."), "unknown opcode 0xff"},
		{"reduce non-tuple", asm(global("collections", "OrderedDict"), "NR."), "not a tuple"},
		{"reduce of a value", asm("K", 1, ")R."), "calls a int"},
		{"call a name-only global", asm(global("torch", "FloatStorage"), ")R."), "may only name"},
		{"ordered dict with args", asm(global("collections", "OrderedDict"), "K", 1, 0x85, "R."), "called with arguments"},
		{"build on a list", asm("]N", "b."), "sets the state of a list"},
		{"persistent without loader", asm("NQ."), "persistent objects"},
		{"stack global of ints", asm("K", 1, "K", 2, 0x93, "."), "not a str"},
		{"long name", asm("c", strings.Repeat("a", 2000), "\nb\n."), "MaxNameBytes"},
		{"long4 too big", asm(0x8b, le32(1<<20), "."), "MaxLongBytes"},
		{"key too big", asm("}", str(strings.Repeat("k", MaxKeyBytes+1)), "Ns."), "MaxKeyBytes"},
		{"latin1 above ff", asm(global("_codecs", "encode"), str("\u0100"), str("latin1"), 0x86, "R."), "above U+00FF"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpickle(tc.pkl, Options{Globals: SnapshotGlobals()})
			wantErr(t, err, tc.want)
		})
	}
}

// TestRefusesCode: a pickle that names anything off the allow-list is refused before it is
// called, whatever the opcode that names it.
func TestRefusesCode(t *testing.T) {
	tests := []struct {
		name string
		pkl  []byte
		want string
	}{
		{"os.system by GLOBAL", asm(0x80, 2, global("os", "system"), str("touch /tmp/pwned"), 0x85, "R."), "os.system"},
		{"posix.system", asm(global("posix", "system"), str("id"), 0x85, "R."), "posix.system"},
		{"builtins.eval by STACK_GLOBAL", asm(0x80, 4, 0x8c, 8, "builtins", 0x8c, 4, "eval", 0x93, str("1"), 0x85, "R."), "builtins.eval"},
		{"py2 __builtin__.exec", asm(0x80, 2, global("__builtin__", "exec"), str("1"), 0x85, "R."), "builtins.exec"},
		{"subprocess.Popen via NEWOBJ", asm(global("subprocess", "Popen"), "(", str("sh"), "t", 0x81, "."), "subprocess.Popen"},
		{"named only, never called", asm(global("os", "system"), "."), "os.system"},
		{"dotted name spelling", asm(0x80, 4, 0x8c, 5, "torch", 0x8c, 25, "_utils._rebuild_tensor_v2", 0x93, "."), "torch._utils._rebuild_tensor_v2"},
		{"newline in a name", asm(0x80, 4, 0x8c, 2, "o\n", 0x8c, 1, "s", 0x93, "."), `"o\n".s`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpickle(tc.pkl, Options{Globals: SnapshotGlobals()})
			wantErr(t, err, "the pickle calls "+tc.want+"; sgan never runs code from files")
			var fe *ForbiddenError
			if !errors.As(err, &fe) {
				t.Errorf("%v is not a *ForbiddenError", err)
			}
		})
	}
	// With no allow-list at all, even OrderedDict is refused.
	_, err := Unpickle(asm(global("collections", "OrderedDict"), ")R."), Options{})
	wantErr(t, err, "collections.OrderedDict")
}
