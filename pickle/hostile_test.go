package pickle

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// The hostile files of issue 15, each a small crafted input: every one must give a one-line error
// that names the limit or the fault, quickly and without allocating much more than its size.
// Disabling a check was seen to fail its test for: the cycle check (walk.go enter), the expanded
// view check and the view's reach (Tensor.Check), MaxViewRatio, MaxDepth of dict keys, the
// allow-list (vm_test.go), the zip CRC and the legacy element count (torchzip_test.go,
// legacy_test.go) and Flatten's duplicate paths (walk_test.go).

// selfDict is {'a': <itself>}.
var selfDict = asm(0x80, 2, "}q", 0, str("a"), "h", 0, "s.")

func TestHostileSelfContainingDict(t *testing.T) {
	v, err := Unpickle(selfDict, Options{})
	if err != nil {
		t.Fatal(err) // a safe reference, as in Python
	}
	if a, _ := v.(*Dict).Get("a"); a != v {
		t.Fatalf("d['a'] is not d")
	}
	_, err = ToPlain(v)
	wantErr(t, err, "a: the value contains itself")
	_, err = Flatten(v, "/")
	wantErr(t, err, "a: the value contains itself")
	// As a torch.save file.
	_, err = readFlat(torchZip(t, selfDict, nil))
	wantErr(t, err, "contains itself")
}

// sharedDAG is d0 = {'x': 1}, d(i+1) = {'a': di, 'b': di}: n levels give 2^n paths.
func sharedDAG(n int) []byte {
	b := asm(0x80, 2, "}", "r", le32(0), str("x"), "K", 1, "s0")
	for i := 1; i <= n; i++ {
		b = append(b, asm("}(", str("a"), "j", le32(uint32(i-1)), str("b"), "j", le32(uint32(i-1)), "u", "r", le32(uint32(i)), "0")...)
	}
	return append(b, asm("j", le32(uint32(n)), ".")...)
}

func TestHostileSharedSubDicts(t *testing.T) {
	pkl := sharedDAG(60) // 2^60 leaves when expanded; about 1.8 KB
	var err error
	start := time.Now()
	alloc := allocated(func() {
		var v any
		if v, err = Unpickle(pkl, Options{}); err != nil {
			return
		}
		// ToPlain converts each shared dict once and shares the result.
		var p any
		if p, err = ToPlain(v); err != nil {
			return
		}
		if a, b := p.(map[string]any)["a"], p.(map[string]any)["b"]; fmt.Sprintf("%p", a) != fmt.Sprintf("%p", b) {
			t.Errorf("ToPlain copied a shared dict")
		}
		// Flatten expands it: MaxPathBytes or MaxItems stops it, whichever comes first.
		_, err = readFlat(torchZip(t, pkl, nil))
	})
	wantErr(t, err, "a/a/a/a/", "exceeds the limit pickle.Max")
	if alloc > 600<<20 {
		t.Errorf("allocated %d MB", alloc>>20)
	}
	t.Logf("%d-byte pickle: refused after %v, %d MB allocated", len(pkl), time.Since(start).Round(time.Millisecond), alloc>>20)
}

// deepTuple is ((((None,),),),) nested n deep: one byte per level.
func deepTuple(n int) []byte {
	return append(append(asm(0x80, 2, "N"), bytes.Repeat([]byte{0x85}, n)...), '.')
}

func TestHostileDeepNesting(t *testing.T) {
	// 5M deep: more items than MaxItems allows the whole pickle.
	_, err := Unpickle(deepTuple(5_000_000), Options{})
	wantErr(t, err, "MaxItems")
	// 1M deep is within MaxItems; walking it stops at MaxDepth.
	pkl := deepTuple(1_000_000)
	var v any
	alloc := allocated(func() {
		if v, err = Unpickle(pkl, Options{}); err != nil {
			t.Fatal(err) // building it takes no recursion
		}
		_, err = ToPlain(v)
	})
	wantErr(t, err, "nesting", "MaxDepth = 1000")
	if alloc > 1<<30 {
		t.Errorf("allocated %d MB", alloc>>20)
	}
	// As a dict key, hashing stops at MaxDepth too.
	key := append(asm(0x80, 2, "}N"), bytes.Repeat([]byte{0x85}, 100_000)...)
	_, err = Unpickle(append(key, asm("Ns.")...), Options{})
	wantErr(t, err, "MaxDepth")
	// Dicts nested 100k deep through the memo: Flatten stops at MaxDepth.
	b := asm(0x80, 2, "}", "r", le32(0), "0")
	for i := 1; i <= 100_000; i++ {
		b = append(b, asm("}", "K", 0, "j", le32(uint32(i-1)), "s", "r", le32(uint32(i)), "0")...)
	}
	b = append(b, asm("j", le32(100_000), ".")...)
	v, err = Unpickle(b, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Flatten(v, "/")
	wantErr(t, err, "MaxDepth")
}

// TestHostileCycleThroughTuple: a tuple holding a list that holds the tuple (BUILD cannot make
// it, APPEND can) is a cycle too.
func TestHostileCycleThroughTuple(t *testing.T) {
	v, err := Unpickle(asm("]q", 0, "h", 0, 0x85, "q", 1, "a", "h", 1, "."), Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ToPlain(v)
	wantErr(t, err, "[0][0]: the value contains itself")
}

func TestHostileStrideZeroTensor(t *testing.T) {
	// A 2^28-element view of a storage of one float: 1.35 GB through the old reader.
	pkl := asm(0x80, 2, "}", str("w"), tensorPickle("0", 1, 0, []int64{1 << 28}, []int64{0}), "s.")
	file := torchZip(t, pkl, map[string][]byte{"data/0": f32s(1)})
	var err error
	alloc := allocated(func() { _, err = readFlat(file) })
	wantErr(t, err, "w: tensor of shape [268435456] has 268435456 elements but its storage archive/data/0 only 1",
		"of 1073741824 bytes", "MaxExpandedBytes = 16777216")
	if alloc > 1<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
}

func TestHostileTensorViews(t *testing.T) {
	tests := []struct {
		name        string
		n, off      int64
		size, strid []int64
		want        string
	}{
		{"past the end", 4, 0, []int64{2, 2}, []int64{3, 1}, "reaches element 4 of its storage archive/data/0, which has 4"},
		{"offset past the end", 4, 4, []int64{1}, []int64{1}, "reaches element 4"},
		{"negative stride", 4, 3, []int64{4}, []int64{-1}, "negative stride"},
		{"negative size", 4, 0, []int64{-1}, []int64{1}, "negative size"},
		{"negative offset", 4, -1, []int64{1}, []int64{1}, "negative storage offset"},
		{"overflowing shape", 4, 0, []int64{1 << 30, 1 << 30, 1 << 30}, []int64{1, 1, 1}, "more elements than an int64"},
		{"overflowing stride", 4, 0, []int64{2, 2}, []int64{1 << 62, 1 << 62}, "has 4 elements"}, // 4 elements fit; the reach does not
		{"empty past the end", 4, 9, []int64{0}, []int64{1}, "empty tensor at offset 9"},
		{"stride and size differ", 4, 0, []int64{2}, []int64{1, 1}, "has strides"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pkl := asm(0x80, 2, "}", str("w"), tensorPickle("0", tc.n, tc.off, tc.size, tc.strid), "s.")
			_, err := readFlat(torchZip(t, pkl, map[string][]byte{"data/0": f32s(1, 2, 3, 4)}))
			if tc.name == "overflowing stride" {
				// shape [2 2] has 4 elements; its stride reaches past any storage
				wantErr(t, err, "w: tensor of shape [2 2], stride")
				return
			}
			wantErr(t, err, "w: ", tc.want)
		})
	}
	// Many views of one storage: each fits, together they pass MaxViewRatio.
	var b []byte
	b = append(b, asm(0x80, 2, "}")...)
	for i := 0; i < 80; i++ {
		b = append(b, str(fmt.Sprint("w", i))...)
		b = append(b, tensorPickle("0", 1<<18, 0, []int64{1 << 18}, []int64{1})...)
		b = append(b, 's')
	}
	b = append(b, '.')
	_, err := readFlat(torchZip(t, b, map[string][]byte{"data/0": make([]byte, 4<<18)}))
	wantErr(t, err, "MaxViewRatio")
}

// zeroDeflate is a deflate stream of n zero bytes (n a multiple of 1 MiB), made in milliseconds:
// the first MiB compressed alone, then one MiB compressed against a window of zeros repeated (each
// flushed to a byte boundary, so the pieces join), then an empty final block.
func zeroDeflate(n int64) []byte {
	mib := make([]byte, 1<<20)
	piece := func(dict []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriterDict(&b, flate.BestCompression, dict)
		w.Write(mib)
		w.Flush()
		return b.Bytes()
	}
	first, rest := piece(nil), piece(make([]byte, 32<<10))
	out := append([]byte{}, first...)
	for i := int64(1); i < n>>20; i++ {
		out = append(out, rest...)
	}
	return append(out, 0x01, 0x00, 0x00, 0xff, 0xff)
}

// zipBomb is a torch.save zip whose one deflated entry inflates to n zero bytes.
func zipBomb(t testing.TB, n int64) []byte {
	pkl := asm(0x80, 2, "}", str("w"), tensorPickle("0", n/4, 0, []int64{n / 4}, []int64{1}), "s.")
	return rawDeflatedZip(t, pkl, zeroDeflate(n), uint64(n))
}

func TestHostileZipBomb(t *testing.T) {
	// The stream is sound: 32 MiB of it inflates to zeros (the 1 GiB one is the same pieces).
	if got, err := io.ReadAll(flate.NewReader(bytes.NewReader(zeroDeflate(32 << 20)))); err != nil || len(got) != 32<<20 || bytes.Count(got, []byte{0}) != len(got) {
		t.Fatalf("zeroDeflate: %d bytes, %v", len(got), err)
	}
	file := zipBomb(t, 1<<30)
	var err error
	alloc := allocated(func() { _, err = readFlat(file) })
	wantErr(t, err, "zip entry archive/data/0 inflates 1073741824 bytes", "MaxInflateRatio")
	if alloc > 64<<20 {
		t.Errorf("allocated %d MB", alloc>>20)
	}
	t.Logf("%d-byte zip inflating to 1 GiB: refused, %d KB allocated", len(file), alloc>>10)
	// The same entry lying about its size is caught by archive/zip after the size it declares.
	lie := bytes.Clone(file)
	n := bytes.Count(lie, le64(1<<30)) + bytes.Count(lie, le32(1<<30))
	lie = bytes.ReplaceAll(lie, le32(1<<30), le32(1<<20))
	if n == 0 {
		t.Fatal("size field not found")
	}
	alloc = allocated(func() { _, err = readFlat(lie) })
	if err == nil || alloc > 64<<20 {
		t.Errorf("lying zip: %v, %d MB allocated", err, alloc>>20)
	}
}

func TestHostileZipLimits(t *testing.T) {
	// More central directory headers than MaxZipEntries: refused before archive/zip parses them.
	many := bytes.Repeat([]byte("PK\x01\x02"), MaxZipEntries+1)
	_, err := ReadTorchZip(append([]byte("PK\x03\x04"), many...), nil)
	wantErr(t, err, "MaxZipEntries")
}

func TestHostileVMLimits(t *testing.T) {
	var appends []byte
	appends = append(appends, ']')
	for i := 0; i < MaxItems/1000+1; i++ {
		appends = append(appends, '(')
		appends = append(appends, bytes.Repeat([]byte{'N'}, 1000)...)
		appends = append(appends, 'e')
	}
	tests := []struct {
		name string
		pkl  []byte
		want string
	}{
		{"stack", bytes.Repeat([]byte{'N'}, MaxStack+1), "MaxStack"},
		{"marks", bytes.Repeat([]byte{'('}, MaxStack+1), "MaxStack"},
		{"memo", append([]byte{'N'}, bytes.Repeat([]byte{0x94}, MaxMemo+1)...), "MaxMemo"},
		{"items", append(appends, '.'), "MaxItems"},
		{"tuple key of shared tuples", func() []byte {
			b := asm("}", str("x"), 0x85, "r", le32(0), "0")
			for i := 1; i < 40; i++ {
				b = append(b, asm("j", le32(uint32(i-1)), "2", 0x86, "r", le32(uint32(i)), "0")...)
			}
			return append(b, asm("j", le32(39), "Ns.")...)
		}(), "MaxKeyBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := allocated(func() { _, err = Unpickle(tc.pkl, Options{}) })
			wantErr(t, err, tc.want)
			if alloc > 512<<20 {
				t.Errorf("%d-byte pickle allocated %d MB", len(tc.pkl), alloc>>20)
			}
		})
	}
}

// TestHostileSharedArguments: one big argument shared through the memo by many calls costs its
// work once (Call.Cache), not once per call.
func TestHostileSharedArguments(t *testing.T) {
	blob := legacyStorage(t, 1<<18) // a legacy stream of a 1 MiB storage
	calls := 200_000
	b := asm(0x80, 2, "(", global("torch.storage", "_load_from_bytes"), "r", le32(0), "B", le32(uint32(len(blob))), blob, "r", le32(1), "0")
	for i := 0; i < calls; i++ {
		b = append(b, asm("j", le32(0), "j", le32(1), 0x85, "R0")...)
	}
	b = append(b, asm("N.")...)
	var err error
	start := time.Now()
	alloc := allocated(func() { _, err = Unpickle(b, Options{Globals: PlainTorchGlobals()}) })
	if err != nil {
		t.Fatal(err)
	}
	if alloc > 64<<20 || time.Since(start) > 20*time.Second {
		t.Errorf("%d calls on one %d-byte stream: %d MB allocated in %v", calls, len(blob), alloc>>20, time.Since(start))
	}
	s := strings.Repeat("\u00e9", 1<<19)
	b = asm(0x80, 2, "(", global("_codecs", "encode"), "r", le32(0), str(s), str("latin1"), 0x86, "r", le32(1), "0")
	for i := 0; i < calls; i++ {
		b = append(b, asm("j", le32(0), "j", le32(1), "R0")...)
	}
	b = append(b, asm("N.")...)
	alloc = allocated(func() { _, err = Unpickle(b, Options{Globals: TorchGlobals()}) })
	if err != nil || alloc > 64<<20 {
		t.Errorf("%d latin1 encodes of one str: %v, %d MB allocated", calls, err, alloc>>20)
	}
}

// readFlat is what torch.UnmarshalArchive does before libtorch: decode, flatten, and take every
// tensor's bytes.
func readFlat(file []byte) ([]Leaf, error) {
	v, err := ReadTorch(file, nil)
	if err != nil {
		return nil, err
	}
	leaves, err := Flatten(v, "/")
	if err != nil {
		return nil, err
	}
	for _, l := range leaves {
		if t, ok := l.Value.(*Tensor); ok {
			if _, err := t.Bytes(); err != nil {
				return nil, fmt.Errorf("%s: %w", l.Key, err)
			}
		}
	}
	return leaves, nil
}

var _ = errors.New
