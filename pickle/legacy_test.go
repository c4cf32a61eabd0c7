package pickle

import (
	"testing"
)

func TestLegacyFormat(t *testing.T) {
	data := map[string][]byte{"k": f32s(1, 2, 3, 4)}
	// {'w': tensor over k, 'v': tensor over the view k[1:3] named v}
	obj := asm("}", str("w"), global("torch._utils", "_rebuild_tensor_v2"), "(", legacyPID("k", 4, nil), "K", 0, ints(2, 2), ints(2, 1), 0x89, "N", "tR", "s",
		str("v"), global("torch._utils", "_rebuild_tensor_v2"), "(", legacyPID("k", 4, asm("(", str("v"), "K", 1, "K", 2, "t")), "K", 0, ints(2), ints(1), 0x89, "N", "tR", "s")
	v, err := ReadTorchLegacy(legacyFile(obj, []string{"k"}, data, 4), nil)
	if err != nil {
		t.Fatal(err)
	}
	leaves, err := Flatten(v, "/")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := leaves[0].Value.(*Tensor).Float64s()
	vv, _ := leaves[1].Value.(*Tensor).Float64s()
	if len(w) != 4 || w[3] != 4 || len(vv) != 2 || vv[0] != 2 || vv[1] != 3 {
		t.Errorf("w %v, view %v", w, vv)
	}

	one := asm(legacyPID("k", 4, nil))
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"not torch", asm("N."), "not a torch.save file"},
		{"empty", nil, "not a torch.save file"},
		{"tar format", make([]byte, 1024), "not a torch.save file"},
		{"bad protocol", asm(legacyMagicPickle, "K", 1, "."), "protocol version is not 1001"},
		{"data missing", legacyFile(one, nil, nil, 4), "storage k has no data in the file"},
		{"unknown key", legacyFile(asm("N"), []string{"k"}, data, 4), "storage k has data but the object does not use it"},
		{"count differs", legacyFile(legacyPID("k", 3, nil), []string{"k"}, data, 4), "storage k has 4 elements, not the 3"},
		{"truncated data", legacyFile(one, []string{"k"}, data, 4)[:len(legacyFile(one, []string{"k"}, data, 4))-1], "ends inside the data of storage k"},
		{"key twice", legacyFile(one, []string{"k", "k"}, data, 4), "storage k has data twice"},
		{"huge numel", legacyFile(legacyPID("k", 1<<30, nil), []string{"k"}, data, 4), "larger than the file"},
		{"view outside", legacyFile(legacyPID("k", 4, asm("(", str("v"), "K", 3, "K", 2, "t")), []string{"k"}, data, 4), "storage view v does not lie inside"},
		{"declared twice differently", legacyFile(asm("(", legacyPID("k", 4, nil), legacyPID("k", 2, nil), "t"), []string{"k"}, data, 4), "declared twice"},
		{"module id", legacyFile(asm("(", str("module"), "tQ"), nil, nil, 4), "whole Python module"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadTorchLegacy(tc.file, nil)
			wantErr(t, err, tc.want)
		})
	}
	// _load_from_bytes must hold a storage.
	blob := legacyFile(asm("K", 1), nil, nil, 4)
	_, err = Unpickle(asm(global("torch.storage", "_load_from_bytes"), "B", le32(uint32(len(blob))), blob, 0x85, "R."), Options{Globals: PlainTorchGlobals()})
	wantErr(t, err, "the bytes hold a int, not a storage")
}
