package pickle

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// nvlabs is where the fixtures written by NVlabs' own code live (scripts/make-nvlabs-fixtures):
// network-snapshot-*.pkl pickles G, D, G_ema (G's parameters times 0.9) and augment_pipe=None,
// and G and D are the networks whose state dicts res32_*.pt hold under G/ and D/.
const nvlabs = "../model/testdata/nvlabs/"

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestNVlabsSnapshot(t *testing.T) {
	tests := []struct {
		pkl, pt string
	}{
		{"network-snapshot-res32.pkl", "res32_gray_map2.pt"},
		{"network-snapshot-res32-rgb-cond.pkl", "res32_rgb_map8_cond3.pt"},
	}
	for _, tc := range tests {
		t.Run(tc.pkl, func(t *testing.T) {
			s, err := ReadNetworkSnapshot(readFile(t, nvlabs+tc.pkl))
			if err != nil {
				t.Fatal(err)
			}
			ref, err := readFlat(readFile(t, nvlabs+tc.pt))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]map[string]*Tensor{"G": {}, "D": {}}
			order := map[string][]string{}
			meta := map[string]any{}
			for _, l := range ref {
				net, name, _ := strings.Cut(l.Key, "/")
				if m, ok := want[net]; ok {
					m[name] = l.Value.(*Tensor)
					order[net] = append(order[net], name)
				}
				if net == "meta" {
					meta[name] = l.Value
				}
			}
			for net, got := range map[string]*Network{"G": s.G, "D": s.D} {
				if !slices.Equal(got.Names, order[net]) {
					t.Errorf("%s state dict names\n got %v\nwant %v", net, got.Names, order[net])
				}
				for name, w := range want[net] {
					g := got.State[name]
					gb, err1 := g.Bytes()
					wb, err2 := w.Bytes()
					if err1 != nil || err2 != nil || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(gb, wb) {
						t.Errorf("%s %s differs from %s (%v %v)", net, name, tc.pt, err1, err2)
					}
				}
			}
			// G_ema: G's parameters times 0.9 (in float32, as PyTorch's mul_), G's buffers.
			if !slices.Equal(s.GEma.Names, s.G.Names) {
				t.Fatalf("G_ema names differ from G's")
			}
			params := 0
			for _, name := range s.G.Names {
				g, e := s.G.State[name], s.GEma.State[name]
				gb, _ := g.Bytes()
				eb, _ := e.Bytes()
				if !e.Parameter {
					if !bytes.Equal(gb, eb) {
						t.Errorf("G_ema buffer %s differs from G's", name)
					}
					continue
				}
				params++
				for i := 0; i < len(gb); i += 4 {
					want := math.Float32frombits(binary.LittleEndian.Uint32(gb[i:])) * float32(0.9)
					if got := math.Float32frombits(binary.LittleEndian.Uint32(eb[i:])); got != want {
						t.Fatalf("G_ema %s[%d] = %v, want %v", name, i/4, got, want)
					}
				}
			}
			if params < 10 {
				t.Errorf("only %d G_ema parameters", params)
			}
			// The constructor arguments give sgan's configuration.
			gk, dk := s.G.InitKwargs, s.D.InitKwargs
			sub := func(m map[string]any, k, k2 string) any { return m[k].(map[string]any)[k2] }
			clamp := any(nil)
			if c := meta["conv_clamp"].(float64); c != 0 {
				clamp = c
			}
			checks := []struct {
				name      string
				got, want any
			}{
				{"G z_dim", gk["z_dim"], meta["z_dim"]},
				{"G w_dim", gk["w_dim"], meta["w_dim"]},
				{"G c_dim", gk["c_dim"], meta["num_classes"]},
				{"G img_resolution", gk["img_resolution"], meta["resolution"]},
				{"G img_channels", gk["img_channels"], meta["channels"]},
				{"G mapping_kwargs.num_layers", sub(gk, "mapping_kwargs", "num_layers"), meta["mapping_layers"]},
				{"G synthesis_kwargs.channel_base", sub(gk, "synthesis_kwargs", "channel_base"), meta["channel_base"]},
				{"G synthesis_kwargs.channel_max", sub(gk, "synthesis_kwargs", "channel_max"), meta["channel_max"]},
				{"G synthesis_kwargs.conv_clamp", sub(gk, "synthesis_kwargs", "conv_clamp"), clamp},
				{"D c_dim", dk["c_dim"], meta["num_classes"]},
				{"D channel_base", dk["channel_base"], meta["channel_base"]},
				{"D mapping_kwargs.num_layers", sub(dk, "mapping_kwargs", "num_layers"), meta["critic_mapping_layers"]},
				{"D epilogue_kwargs.mbstd_group_size", sub(dk, "epilogue_kwargs", "mbstd_group_size"), meta["mbstd_group"]},
				{"G_ema kwargs", reflect.DeepEqual(s.GEma.InitKwargs, gk), true},
				{"G class", s.G.ClassName, "Generator"},
				{"D class", s.D.ClassName, "Discriminator"},
				{"version", s.G.Version, int64(6)},
				{"G num_ws attribute", s.G.Attrs["num_ws"], meta["num_ws"]},
				{"training set resolution", s.TrainingSetKwargs["resolution"], meta["resolution"]},
				{"training set labels", s.TrainingSetKwargs["use_labels"], meta["num_classes"] != int64(0)},
				{"no augment_pipe", s.AugmentPipe == nil && len(s.Warnings) == 0, true},
				{"source kept as text (the fixtures carry a placeholder)", strings.Contains(s.G.ModuleSrc, "source omitted"), true},
			}
			for _, c := range checks {
				if !reflect.DeepEqual(c.got, c.want) {
					t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
				}
			}
		})
	}
}

// pySnapshot writes network pickles in NVlabs' format without NVlabs' code: stand-ins for
// torch_utils.persistence (a __reduce__ giving _reconstruct_persistent_obj(meta)) and
// dnnlib.util.EasyDict, networks with what real ones have (EasyDict kwargs, None parameters,
// non-persistent buffers, a torch.nn.ModuleList, numpy scalars, storages shared between
// tensors), and expect.json with every network's state_dict() as Python names it.
const pySnapshot = `
import json, os, pickle, sys, types
import numpy as np
import torch

out = sys.argv[1]
def module(name, **attrs):
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    sys.modules[name] = m
    return m

def _reconstruct_persistent_obj(meta):
    raise RuntimeError('a reader must not call this')
_reconstruct_persistent_obj.__module__ = 'torch_utils.persistence'
module('torch_utils.persistence', _reconstruct_persistent_obj=_reconstruct_persistent_obj)
module('torch_utils')
class EasyDict(dict):
    pass
EasyDict.__module__ = 'dnnlib.util'
module('dnnlib.util', EasyDict=EasyDict)
module('dnnlib')

SRC = 'import os\nos.system("echo this source is never run")\n'
class Persistent(torch.nn.Module):
    def __init__(self, *args, **kwargs):
        super().__init__()
        self._init_args, self._init_kwargs = args, kwargs
    def __reduce__(self):
        meta = dict(type='class', version=6, module_src=SRC, class_name=type(self).__name__, state=dict(self.__dict__))
        return (_reconstruct_persistent_obj, (meta,))

class Layer(Persistent):
    def __init__(self, i, o, bias=True):
        super().__init__(i, o, bias=bias)
        self.weight = torch.nn.Parameter(torch.randn(o, i))
        self.bias = torch.nn.Parameter(torch.randn(o)) if bias else None
        self.register_buffer('gain', torch.full([o], 2.0))
        self.register_buffer('scratch', torch.zeros(3), persistent=False)
        self.weight_gain = np.float64(0.25)
        self.f4, self.i8, self.flag = np.float32(1.5), np.int64(-3), np.bool_(True)

class Net(Persistent):
    def __init__(self, z_dim, mapping_kwargs={}, synthesis_kwargs={}):
        super().__init__(z_dim=z_dim, mapping_kwargs=mapping_kwargs, synthesis_kwargs=synthesis_kwargs)
        self.z_dim = z_dim
        self.fc0 = Layer(z_dim, 3)
        self.fc1 = Layer(3, 3, bias=False)
        self.blocks = torch.nn.ModuleList([Layer(3, 2), Layer(2, 2)])
        self.register_module('absent', None)
        self.register_buffer('w_avg', torch.zeros(3))
        self.register_buffer('view', self.fc0.weight.detach()[:, 1:].t())

class Aug(Persistent):
    def __init__(self, xflip=1):
        super().__init__(xflip=xflip)
        self.register_buffer('p', torch.tensor(0.25))

torch.manual_seed(0)
def net():
    return Net(4, mapping_kwargs=EasyDict(num_layers=2, lr_multiplier=0.01),
               synthesis_kwargs=EasyDict(channel_base=64, conv_clamp=None, architecture='skip'))
nets = dict(G=net(), D=net(), G_ema=net(), augment_pipe=Aug())
data = dict(training_set_kwargs=EasyDict(path='brains.zip', resolution=8, use_labels=False, max_size=None), **nets)
for proto in (2, 3, 4, 5):
    pickle.dump(data, open(os.path.join(out, 'snap%d.pkl' % proto), 'wb'), protocol=proto)
pickle.dump(dict(data, augment_pipe=[1]), open(os.path.join(out, 'badaug.pkl'), 'wb'), protocol=4)
pickle.dump(dict(data, G=torch.nn.Linear(2, 2)), open(os.path.join(out, 'plainG.pkl'), 'wb'), protocol=4)

class Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned',))
pickle.dump(dict(data, G=Evil()), open(os.path.join(out, 'evil.pkl'), 'wb'), protocol=4)

expect = {k: {n: t.contiguous().numpy().tobytes().hex() for n, t in m.state_dict().items()} for k, m in nets.items()}
order = {k: list(m.state_dict().keys()) for k, m in nets.items()}
json.dump(dict(values=expect, order=order), open(os.path.join(out, 'expect.json'), 'w'))
`

func TestSyntheticSnapshots(t *testing.T) {
	dir, _ := pyFiles(t) // pySnapshot runs with pyWriter
	var expect struct {
		Values map[string]map[string]string
		Order  map[string][]string
	}
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "expect.json")), &expect); err != nil {
		t.Fatal(err)
	}
	for _, proto := range []string{"2", "3", "4", "5"} {
		t.Run("protocol "+proto, func(t *testing.T) {
			s, err := ReadNetworkSnapshot(readFile(t, filepath.Join(dir, "snap"+proto+".pkl")))
			if err != nil {
				t.Fatal(err)
			}
			for key, n := range map[string]*Network{"G": s.G, "D": s.D, "G_ema": s.GEma, "augment_pipe": s.AugmentPipe} {
				if n == nil {
					t.Fatalf("%s missing", key)
				}
				if !slices.Equal(n.Names, expect.Order[key]) {
					t.Errorf("%s names\n got %v\nwant %v", key, n.Names, expect.Order[key])
				}
				for name, h := range expect.Values[key] {
					b, err := n.State[name].Bytes()
					if err != nil || hex.EncodeToString(b) != h {
						t.Errorf("%s %s: %x, %v; want %s", key, name, b, err, h)
					}
				}
			}
			g := s.G
			want := map[string]any{
				"z_dim":            int64(4),
				"mapping_kwargs":   map[string]any{"num_layers": int64(2), "lr_multiplier": 0.01},
				"synthesis_kwargs": map[string]any{"channel_base": int64(64), "conv_clamp": nil, "architecture": "skip"},
			}
			if !reflect.DeepEqual(g.InitKwargs, want) || len(g.InitArgs) != 0 || g.ClassName != "Net" || g.Attrs["z_dim"] != int64(4) {
				t.Errorf("G: class %s args %v kwargs %#v attrs %v", g.ClassName, g.InitArgs, g.InitKwargs, g.Attrs)
			}
			if !strings.Contains(g.ModuleSrc, "never run") {
				t.Errorf("module source not kept")
			}
			if s.AugmentPipe.ClassName != "Aug" || s.AugmentPipe.InitKwargs["xflip"] != int64(1) {
				t.Errorf("augment_pipe: %+v", s.AugmentPipe)
			}
			if !reflect.DeepEqual(s.TrainingSetKwargs, map[string]any{"path": "brains.zip", "resolution": int64(8), "use_labels": false, "max_size": nil}) {
				t.Errorf("training_set_kwargs = %#v", s.TrainingSetKwargs)
			}
		})
	}
	t.Run("numpy scalars", func(t *testing.T) {
		v, err := Unpickle(readFile(t, filepath.Join(dir, "snap4.pkl")), Options{Globals: SnapshotGlobals()})
		if err != nil {
			t.Fatal(err)
		}
		g, _ := v.(*Dict).Get("G")
		mods, _ := g.(*Persistent).State.(*Dict).Get("_modules")
		fc0, _ := mods.(*Dict).Get("fc0")
		st := fc0.(*Persistent).State.(*Dict)
		for k, want := range map[string]any{"weight_gain": 0.25, "f4": 1.5, "i8": int64(-3), "flag": true} {
			x, _ := st.Get(k)
			got, err := ToPlain(x)
			if err != nil || got != want {
				t.Errorf("%s = %#v, %v; want %#v", k, got, err, want)
			}
		}
	})
	t.Run("augment_pipe not a network", func(t *testing.T) {
		s, err := ReadNetworkSnapshot(readFile(t, filepath.Join(dir, "badaug.pkl")))
		if err != nil {
			t.Fatal(err)
		}
		if s.AugmentPipe != nil || len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "augment_pipe is a list") {
			t.Errorf("augment_pipe %v, warnings %q", s.AugmentPipe, s.Warnings)
		}
	})
	t.Run("G a plain torch module", func(t *testing.T) {
		_, err := ReadNetworkSnapshot(readFile(t, filepath.Join(dir, "plainG.pkl")))
		wantErr(t, err, "the pickle calls torch.nn.modules.linear.Linear; sgan never runs code from files")
	})
	t.Run("G calls os.system", func(t *testing.T) {
		_, err := ReadNetworkSnapshot(readFile(t, filepath.Join(dir, "evil.pkl")))
		wantErr(t, err, "the pickle calls posix.system; sgan never runs code from files")
	})
}

func TestSnapshotMalformed(t *testing.T) {
	meta := func(state any) []byte {
		return asm(global("torch_utils.persistence", "_reconstruct_persistent_obj"), "}(",
			str("type"), str("class"), str("version"), "K", 6, str("module_src"), str(""),
			str("class_name"), str("G"), str("state"), state, "u", 0x85, "R")
	}
	snap := func(g []byte) []byte { return asm(0x80, 2, "}", str("G"), g, "s.") }
	tests := []struct {
		name string
		pkl  []byte
		want string
	}{
		{"not a dict", asm(0x80, 2, "N."), "not an NVlabs network snapshot: the pickle holds a None"},
		{"no networks", asm(0x80, 2, "}."), "no G, D or G_ema"},
		{"G not persistent", snap(asm("K", 1)), "G is a int, not a torch_utils.persistence network"},
		{"state not a dict", snap(meta("N")), "G: the network's state is a None"},
		{"module contains itself", snap(asm(meta(asm("}q", 9)), "q", 10, "h", 9, str("_modules"), "}", str("me"), "h", 10, "ss0")),
			"G: me: the value contains itself"},
		{"parameter not a tensor", snap(meta(asm("}", str("_parameters"), "}", str("w"), "K", 1, "ss"))), "G: w: a int, not a tensor"},
		{"kwargs with a tensor key", snap(meta(asm("}", str("_init_kwargs"), "}K", 1, "K", 1, "ss"))), "G._init_kwargs: a dict key of type int"},
		{"meta type not class", asm(0x80, 2, "}", str("G"), global("torch_utils.persistence", "_reconstruct_persistent_obj"), "}",
			str("type"), str("module"), "s", 0x85, "R", "s."), "meta type module is not read"},
		{"tensorflow pickle", asm(0x80, 2, global("dnnlib.tflib.network", "Network"), ")R."), "a TensorFlow StyleGAN pickle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadNetworkSnapshot(tc.pkl)
			wantErr(t, err, tc.want)
		})
	}
}
