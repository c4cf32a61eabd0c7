package pickle

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
)

// python is Debian's python3 with python3-torch, the reference of these tests (run with -I: the
// repository's torch/ folder must not pass for the module).
const python = "/usr/bin/python3"

// pyWriter writes, into sys.argv[1], files of every kind this package reads, and manifest.json
// with what each tensor holds: dtype, shape and its elements' bytes in row-major order
// (little-endian, as numpy gives them on this machine).
const pyWriter = `
import collections, io, json, os, pickle, sys, zipfile
import torch

out = sys.argv[1]
torch.manual_seed(0)
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
tensors = {
    'f32': torch.randn(3, 4), 'f64': torch.randn(2, 3, dtype=torch.float64),
    'f16': torch.randn(5).half(), 'bf16': torch.randn(5).bfloat16(),
    'i64': torch.arange(-3, 3), 'i32': torch.arange(6, dtype=torch.int32).reshape(2, 3),
    'i16': torch.tensor([-2, 7], dtype=torch.int16), 'i8': torch.tensor([-128, 127], dtype=torch.int8),
    'u8': torch.tensor([0, 255], dtype=torch.uint8), 'bool': torch.tensor([True, False, True]),
    'c64': torch.randn(3, dtype=torch.complex64), 'scalar': torch.tensor(2.5), 'empty': torch.zeros(0, 3),
    'transposed': base.t(), 'slice': base[1:3, ::2], 'row': base[2], 'column': base[:, 1:2],
    'channels_last': torch.randn(2, 3, 4, 5).to(memory_format=torch.channels_last),
    'base': base,
}
m = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
obj = {'tensors': tensors, 'state': m.state_dict(), 'nested': {'a': {'b': torch.ones(2)}},
       'n': -5, 'big': 2**40, 'x': 0.25, 'flag': True, 'name': 'ok', 'skip': [1, 2], 'none': None}

def raw(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes().hex()

manifest = {}
def walk(o, prefix):
    for k, v in o.items():
        key = prefix + str(k)
        if isinstance(v, dict):
            walk(v, key + '/')
        elif isinstance(v, torch.Tensor):
            manifest[key] = {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'hex': raw(v)}
walk(obj, '')
json.dump(manifest, open(os.path.join(out, 'manifest.json'), 'w'))

torch.save(obj, os.path.join(out, 'zip.pt'))
torch.save(obj, os.path.join(out, 'legacy.pt'), _use_new_zipfile_serialization=False)
torch.save(m.state_dict(), os.path.join(out, 'ordered.pt'))

# Big-endian files: one dtype each, every storage entry byte-swapped and byteorder 'big'.
for name, t, unit in [('f32', tensors['f32'], 4), ('f64', tensors['f64'], 8), ('i16', tensors['i16'], 2),
                      ('c64', tensors['c64'], 4), ('transposed', tensors['transposed'], 4)]:
    buf = io.BytesIO()
    torch.save({name: t}, buf)
    zin = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    with zipfile.ZipFile(os.path.join(out, 'big_' + name + '.pt'), 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if '/data/' in info.filename:
                data = b''.join(data[i:i + unit][::-1] for i in range(0, len(data), unit))
            if info.filename.endswith('/byteorder'):
                data = b'big'
            zout.writestr(info.filename, data)
        if not any(n.endswith('/byteorder') for n in zin.namelist()):
            zout.writestr(zin.namelist()[0].split('/')[0] + '/byteorder', b'big')

# Deflated entries (torch.save stores them; other zip tools may not).
zin = zipfile.ZipFile(os.path.join(out, 'zip.pt'))
with zipfile.ZipFile(os.path.join(out, 'deflated.pt'), 'w', zipfile.ZIP_DEFLATED) as zout:
    for info in zin.infolist():
        zout.writestr(info.filename, zin.read(info.filename))

# Plain pickles of tensors, parameters and a state dict, every protocol.
p = torch.nn.Parameter(torch.randn(2, 2))
plain = {'t': tensors['f32'], 'view': tensors['transposed'], 'param': p, 'state': m.state_dict(), 'f16': tensors['f16']}
for proto in (2, 3, 4, 5):
    with open(os.path.join(out, 'plain%d.pkl' % proto), 'wb') as f:
        pickle.dump(plain, f, protocol=proto)

# Plain Python values, every protocol.
values = {'none': None, 'ints': [0, -1, 255, 65535, -2**31, 2**40, -2**63, 2**63 - 1], 'float': 0.1,
          'str': 'h\u00e9llo \u4e16', 'bytes': b'\x00\xff', 'bytearray': bytearray(b'ab'),
          'tuple': (1, (2, 3)), 'set': {1}, 'frozenset': frozenset({2}), 'nested': {'a': [{'b': None}]},
          'true': True, 'empty': ((), [], {}), 'shared': [[7]] * 2}
for proto in (2, 3, 4, 5):
    with open(os.path.join(out, 'values%d.pkl' % proto), 'wb') as f:
        pickle.dump(values, f, protocol=proto)
with open(os.path.join(out, 'special.pkl'), 'wb') as f:
    pickle.dump({'huge': 2**64, 'tuplekey': {(1, 'a'): 2, (1, 'b'): 3}}, f, protocol=4)
`

type pyTensor struct {
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
	Hex   string  `json:"hex"`
}

var py struct {
	once     sync.Once
	dir      string
	manifest map[string]pyTensor
	err      error
}

// TestMain removes pyFiles' folder.
func TestMain(m *testing.M) {
	code := m.Run()
	if py.dir != "" {
		os.RemoveAll(py.dir)
	}
	os.Exit(code)
}

// pyFiles runs pyWriter and pySnapshot once per test binary (Python takes seconds to import
// torch) and returns their folder and pyWriter's manifest.
func pyFiles(t *testing.T) (string, map[string]pyTensor) {
	t.Helper()
	py.once.Do(func() {
		if _, py.err = os.Stat(python); py.err != nil {
			py.err = fmt.Errorf("%s not found: install python3-torch (scripts/setup does)", python)
			return
		}
		if py.dir, py.err = os.MkdirTemp("", "pickle-py-"); py.err != nil {
			return
		}
		if b, err := exec.Command(python, "-I", "-c", pyWriter+pySnapshot, py.dir).CombinedOutput(); err != nil {
			py.err = fmt.Errorf("python: %v\n%s", err, b)
			return
		}
		b, err := os.ReadFile(filepath.Join(py.dir, "manifest.json"))
		if err == nil {
			err = json.Unmarshal(b, &py.manifest)
		}
		py.err = err
	})
	if py.err != nil {
		t.Fatal(py.err)
	}
	return py.dir, py.manifest
}

// checkTensor compares a tensor with what Python says it holds, byte for byte.
func checkTensor(t *testing.T, key string, v any, want pyTensor) {
	t.Helper()
	x, ok := v.(*Tensor)
	if !ok {
		t.Errorf("%s: a %s, not a tensor", key, TypeName(v))
		return
	}
	got, err := x.Bytes()
	if err != nil {
		t.Errorf("%s: %v", key, err)
		return
	}
	if x.DType.String() != want.DType || !slices.Equal(x.Shape, want.Shape) || hex.EncodeToString(got) != want.Hex {
		t.Errorf("%s: %v %v %x, want %s %v %s", key, x.DType, x.Shape, got, want.DType, want.Shape, want.Hex)
	}
}

func TestPythonTorchSave(t *testing.T) {
	dir, manifest := pyFiles(t)
	for _, name := range []string{"zip.pt", "legacy.pt", "deflated.pt"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			v, err := ReadTorch(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			leaves, err := Flatten(v, "/")
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, l := range leaves {
				got[l.Key] = l.Value
			}
			for key, want := range manifest {
				checkTensor(t, key, got[key], want)
			}
			if len(manifest) < 25 {
				t.Errorf("manifest has only %d tensors", len(manifest))
			}
			want := map[string]any{"n": int64(-5), "big": int64(1 << 40), "x": 0.25, "flag": true, "name": "ok", "none": nil}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %v, want %v", k, got[k], w)
				}
			}
			if l, ok := got["skip"].(*List); !ok || len(l.Items) != 2 {
				t.Errorf("skip = %v", got["skip"])
			}
			// The state dict keeps PyTorch's order and its _metadata (BUILD state).
			st, _ := v.(*Dict).Get("state")
			var keys []string
			for _, e := range st.(*Dict).Entries() {
				keys = append(keys, e.Key.(string))
			}
			if want := []string{"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"}; !slices.Equal(keys, want) {
				t.Errorf("state dict keys %v, want %v", keys, want)
			}
			if st.(*Dict).State == nil {
				t.Errorf("state dict lost its _metadata")
			}
		})
	}
	for _, name := range []string{"f32", "f64", "i16", "c64", "transposed"} {
		t.Run("big-endian "+name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "big_"+name+".pt"))
			if err != nil {
				t.Fatal(err)
			}
			leaves, err := readFlat(b)
			if err != nil {
				t.Fatal(err)
			}
			if len(leaves) != 1 {
				t.Fatalf("%d leaves", len(leaves))
			}
			checkTensor(t, name, leaves[0].Value, manifest["tensors/"+name])
		})
	}
	t.Run("ordered dict root", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(dir, "ordered.pt"))
		leaves, err := readFlat(b)
		if err != nil || len(leaves) != 7 || leaves[0].Key != "0.weight" {
			t.Errorf("%v, %v", leaves, err)
		}
	})
}

func TestPythonPlainPickles(t *testing.T) {
	dir, manifest := pyFiles(t)
	for _, proto := range []string{"2", "3", "4", "5"} {
		t.Run("tensors protocol "+proto, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "plain"+proto+".pkl"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Unpickle(b, Options{Globals: TorchGlobals()}); err == nil {
				t.Fatal("TorchGlobals read a plain pickle: _load_from_bytes should be refused")
			}
			v, err := Unpickle(b, Options{Globals: PlainTorchGlobals()})
			if err != nil {
				t.Fatal(err)
			}
			d := v.(*Dict)
			get := func(k string) any { x, _ := d.Get(k); return x }
			checkTensor(t, "t", get("t"), manifest["tensors/f32"])
			checkTensor(t, "view", get("view"), manifest["tensors/transposed"])
			checkTensor(t, "f16", get("f16"), manifest["tensors/f16"])
			if p, ok := get("param").(*Tensor); !ok || !p.Parameter || !p.RequiresGrad || !slices.Equal(p.Shape, []int64{2, 2}) {
				t.Errorf("param = %#v", get("param"))
			}
			leaves, err := Flatten(get("state"), ".")
			if err != nil || len(leaves) != 7 {
				t.Fatalf("state: %v, %v", leaves, err)
			}
		})
		t.Run("values protocol "+proto, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, "values"+proto+".pkl"))
			if err != nil {
				t.Fatal(err)
			}
			v, err := Unpickle(b, Options{Globals: TorchGlobals()})
			if err != nil {
				t.Fatal(err)
			}
			got, err := ToPlain(v)
			if err != nil {
				t.Fatal(err)
			}
			seven := []any{int64(7)}
			want := map[string]any{
				"none": nil, "ints": []any{int64(0), int64(-1), int64(255), int64(65535), int64(-1 << 31), int64(1 << 40), int64(-1 << 63), int64(1<<63 - 1)},
				"float": 0.1, "str": "h\u00e9llo \u4e16", "bytes": []byte{0, 0xff}, "bytearray": []byte("ab"),
				"tuple": []any{int64(1), []any{int64(2), int64(3)}}, "set": []any{int64(1)}, "frozenset": []any{int64(2)},
				"nested": map[string]any{"a": []any{map[string]any{"b": nil}}}, "true": true,
				"empty": []any{[]any{}, []any{}, map[string]any{}}, "shared": []any{seven, seven},
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %#v\nwant %#v", got, want)
			}
		})
	}
	b, _ := os.ReadFile(filepath.Join(dir, "special.pkl"))
	v, err := Unpickle(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	huge, _ := v.(*Dict).Get("huge")
	if want, _ := new(big.Int).SetString("18446744073709551616", 10); huge.(*big.Int).Cmp(want) != 0 {
		t.Errorf("2**64 read as %v", huge)
	}
	tk, _ := v.(*Dict).Get("tuplekey")
	if x, ok := tk.(*Dict).Get(Tuple{int64(1), "b"}); !ok || x != int64(3) {
		t.Errorf("tuple key (1, 'b') -> %v, %v", x, ok)
	}
	if _, err := ToPlain(v); err == nil {
		t.Error("ToPlain took 2**64 and tuple keys")
	}
}
