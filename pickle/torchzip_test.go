package pickle

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

func TestTorchZipMalformed(t *testing.T) {
	w := asm(0x80, 2, "}", str("w"), tensorPickle("0", 2, 0, []int64{2}, []int64{1}), "s.")
	good := map[string][]byte{"data/0": f32s(1, 2)}
	tests := []struct {
		name string
		file []byte
		want string
	}{
		{"not a zip", []byte("PK\x03\x04 not really"), "not a torch.save zip file"},
		{"no data.pkl", zipWith(t, map[string][]byte{"x/other": []byte("1")}), "not a torch.save file"},
		{"storage entry missing", torchZip(t, w, nil), "the zip entry archive/data/0 of a storage is missing"},
		{"storage too short", torchZip(t, w, map[string][]byte{"data/0": f32s(1)}), "storage archive/data/0 holds 4 bytes, not the 2 float32 elements"},
		{"storage not whole elements", torchZip(t, w, map[string][]byte{"data/0": make([]byte, 9)}), "holds 9 bytes"},
		{"bad byteorder", torchZip(t, w, map[string][]byte{"data/0": f32s(1, 2), "byteorder": []byte("middle")}), "neither little nor big"},
		{"bad persistent id", torchZip(t, asm("(", str("storage"), "tQ."), nil), "not ('storage', type, key, location, numel)"},
		{"unknown storage type", torchZip(t, asm("(", str("storage"), global("torch", "QInt8Storage"), str("0"), str("cpu"), "K", 1, "tQ."), nil),
			"the pickle calls torch.QInt8Storage"},
		{"tensor of a non-storage", torchZip(t, asm(global("torch._utils", "_rebuild_tensor_v2"), "(K", 1, "K", 0, ints(1), ints(1), "tR."), nil),
			"a tensor over a int, not a storage"},
		{"deflated entry too big for the budget", func() []byte {
			return rawDeflatedZip(t, w, zeroDeflate(64<<20), 64<<20)
		}(), "MaxInflateRatio"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readFlat(tc.file)
			wantErr(t, err, tc.want)
		})
	}
	// A damaged stored entry fails its checksum.
	file := torchZip(t, w, good)
	i := bytes.Index(file, f32s(1, 2))
	file[i] ^= 1
	_, err := readFlat(file)
	wantErr(t, err, "zip entry archive/data/0 is damaged")
	// Two data.pkl records, and the same entry twice.
	_, err = readFlat(zipWith(t, map[string][]byte{"a/data.pkl": asm("N."), "b/data.pkl": asm("N.")}))
	wantErr(t, err, "2 data.pkl records")
	twice := zipEntries(t, [][2]string{{"archive/data.pkl", string(w)}, {"archive/data/0", string(f32s(1, 2))}, {"archive/data/0", string(f32s(3, 4))}})
	_, err = readFlat(twice)
	wantErr(t, err, "the zip holds the entry archive/data/0 twice")
	// The good file reads, deflated or not.
	for _, f := range [][]byte{torchZip(t, w, good), torchZip(t, w, good, "data.pkl", "data/0")} {
		leaves, err := readFlat(f)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := leaves[0].Value.(*Tensor).Float64s()
		if len(got) != 2 || got[0] != 1 || got[1] != 2 {
			t.Errorf("read %v", got)
		}
	}
}

// TestTensorBytes checks the strided gather against index arithmetic.
func TestTensorBytes(t *testing.T) {
	data := make([]byte, 4*60)
	for i := 0; i < 60; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], uint32(i))
	}
	st := &Storage{Key: "s", DType: Int32, Data: data}
	tests := []struct {
		shape, stride []int64
		offset        int64
		want          []float64
	}{
		{[]int64{2, 3}, []int64{3, 1}, 0, []float64{0, 1, 2, 3, 4, 5}},                                                  // contiguous: aliases
		{[]int64{3, 2}, []int64{1, 3}, 0, []float64{0, 3, 1, 4, 2, 5}},                                                  // transposed
		{[]int64{2, 2}, []int64{10, 2}, 5, []float64{5, 7, 15, 17}},                                                     // strided with offset
		{[]int64{2, 1, 2}, []int64{30, 99, 1}, 1, []float64{1, 2, 31, 32}},                                              // size-1 dim, any stride
		{[]int64{}, []int64{}, 7, []float64{7}},                                                                         // scalar
		{[]int64{0, 4}, []int64{4, 1}, 60, []float64{}},                                                                 // empty at the end
		{[]int64{3}, []int64{0}, 59, []float64{59, 59, 59}},                                                             // stride 0, fits its storage
		{[]int64{2, 31}, []int64{1, 0}, 3, append(slices.Repeat([]float64{3}, 31), slices.Repeat([]float64{4}, 31)...)}, // expanded past its storage of 60, small
		{[]int64{2, 2, 2}, []int64{20, 5, 1}, 0, []float64{0, 1, 5, 6, 20, 21, 25, 26}},                                 // 3-d
	}
	for _, tc := range tests {
		x := &Tensor{DType: Int32, Shape: tc.shape, Stride: tc.stride, Offset: tc.offset, Storage: st}
		got, err := x.Float64s()
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%v/%v: %v, %v", tc.shape, tc.stride, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%v/%v/%d: %v, want %v", tc.shape, tc.stride, tc.offset, got, tc.want)
				break
			}
		}
	}
	// float16 and bfloat16 decode.
	h := &Tensor{DType: Float16, Shape: []int64{4}, Stride: []int64{1}, Storage: &Storage{DType: Float16,
		Data: []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00, 0x00, 0x7c}}}
	if got, _ := h.Float64s(); got[0] != 1 || got[1] != -2 || got[2] != 0x1p-24 || got[3] < 1e308 {
		t.Errorf("float16: %v", got)
	}
}
