package pickle

import (
	"testing"
)

// The fuzz targets feed arbitrary bytes to each reader, and then walk whatever it returns the way
// sgan does (ToPlain, Flatten, every tensor's bytes). Nothing may panic, and whatever is handed
// out must stay within the limits. The seeds in testdata/fuzz/<target> run as ordinary tests;
// scripts/fuzz runs the targets with a memory watchdog.

// exercise walks a decoded value as a consumer would and checks the budgets held.
func exercise(t *testing.T, v any) {
	ToPlain(v)
	leaves, err := Flatten(v, "/")
	if err != nil {
		return
	}
	if len(leaves) > MaxItems {
		t.Fatalf("Flatten returned %d leaves", len(leaves))
	}
	var total int64
	for _, l := range leaves {
		if x, ok := l.Value.(*Tensor); ok {
			b, err := x.Bytes()
			if err != nil {
				t.Fatalf("%s: Flatten handed out a tensor that Bytes refuses: %v", l.Key, err)
			}
			total += int64(len(b))
		}
	}
	if total > ViewSlack+MaxViewRatio*(1<<30) {
		t.Fatalf("tensors of %d bytes", total)
	}
}

func FuzzUnpickle(f *testing.F) {
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x05u."))
	f.Add([]byte("\x80\x02}X\x01\x00\x00\x00bJ\xff\xff\xff\xffs."))
	f.Add(selfDict)
	f.Add(sharedDAG(8))
	f.Add(deepTuple(50))
	f.Add(asm(0x80, 4, 0x8c, 11, "collections", 0x8c, 11, "OrderedDict", 0x93, ")R(", str("k"), "K", 1, "u."))
	f.Add(asm(0x8f, "(K", 1, "K", 1, "K", 2, 0x90, "(K", 3, 0x91, 0x86, "."))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := Unpickle(b, Options{Globals: SnapshotGlobals()})
		if err != nil {
			return
		}
		exercise(t, v)
	})
}

func FuzzReadTorchZip(f *testing.F) {
	w := asm(0x80, 2, "}", str("w"), tensorPickle("0", 2, 0, []int64{2}, []int64{1}), "s.")
	f.Add(torchZip(f, w, map[string][]byte{"data/0": f32s(1, 2)}))
	f.Add(torchZip(f, w, map[string][]byte{"data/0": f32s(1, 2)}, "data.pkl", "data/0"))
	f.Add(torchZip(f, w, map[string][]byte{"data/0": f32s(1, 2), "byteorder": []byte("big")}))
	f.Add(torchZip(f, selfDict, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ReadTorchZip(b, nil)
		if err != nil {
			return
		}
		exercise(t, v)
	})
}

func FuzzReadTorchLegacy(f *testing.F) {
	obj := asm("}", str("w"), global("torch._utils", "_rebuild_tensor_v2"), "(", legacyPID("k", 4, nil), "K", 0, ints(2, 2), ints(2, 1), 0x89, "N", "tR", "s")
	f.Add(legacyFile(obj, []string{"k"}, map[string][]byte{"k": f32s(1, 2, 3, 4)}, 4))
	f.Add(legacyStorage(f, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ReadTorchLegacy(b, nil)
		if err != nil {
			return
		}
		exercise(t, v)
	})
}

func FuzzReadNetworkSnapshot(f *testing.F) {
	f.Add(asm(0x80, 2, "}", str("G"), global("torch_utils.persistence", "_reconstruct_persistent_obj"), "}(",
		str("type"), str("class"), str("version"), "K", 6, str("module_src"), str(""), str("class_name"), str("G"),
		str("state"), "}", str("_parameters"), "}", str("w"), global("torch._utils", "_rebuild_tensor_v2"), "(",
		global("torch.storage", "_load_from_bytes"), "B", le32(uint32(len(legacyStorage(f, 2)))), legacyStorage(f, 2), 0x85, "R",
		"K", 0, ints(2), ints(1), 0x89, "N", "tR", "ss", "u", 0x85, "R", "s."))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadNetworkSnapshot(b)
		if err != nil {
			return
		}
		for _, n := range []*Network{s.G, s.D, s.GEma, s.AugmentPipe} {
			if n == nil {
				continue
			}
			if len(n.Names) != len(n.State) {
				t.Fatalf("%d names for %d tensors", len(n.Names), len(n.State))
			}
			for _, name := range n.Names {
				if _, err := n.State[name].Bytes(); err != nil {
					t.Fatalf("%s: a checked tensor fails Bytes: %v", name, err)
				}
			}
		}
	})
}
