package torch

import (
	"archive/zip"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestUnpickleSurvivesDamage feeds truncated and corrupted checkpoint bytes to the reader: every
// one must come back as an error (or a valid archive), never a crash.
func TestUnpickleSurvivesDamage(t *testing.T) {
	s := NewScope()
	defer s.Close()
	a := NewArchive()
	a.Tensors["g/w"] = Arange(0, 12, 1, Options{}).Reshape(3, 4)
	a.Strings["config"] = "x = 1"
	a.Ints["epoch"] = 3
	b, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	good, err := UnmarshalArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	if good.Ints["epoch"] != 3 || good.Strings["config"] != "x = 1" || good.Tensors["g/w"].Float32s()[11] != 11 {
		t.Fatalf("round trip lost data: %v %v", good.Ints, good.Strings)
	}
	good.Free()
	for cut := 0; cut < len(b); cut += max(1, len(b)/200) {
		if a, err := UnmarshalArchive(b[:cut]); err == nil {
			a.Free()
		}
	}
	for i := 0; i < len(b); i += max(1, len(b)/300) {
		c := append([]byte(nil), b...)
		c[i] ^= 0x5a
		if a, err := UnmarshalArchive(c); err == nil {
			a.Free()
		}
	}
	if _, err := UnmarshalArchive([]byte("PK\x03\x04 not really")); err == nil || strings.Contains(err.Error(), "\n") {
		t.Errorf("garbage zip: %v", err)
	}
}

// TestLoadArchiveRefusesCode: a checkpoint whose pickle calls os.system is refused, naming the
// file, on one line.
func TestLoadArchiveRefusesCode(t *testing.T) {
	pkl := []byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.")
	path := filepath.Join(t.TempDir(), "evil.pt")
	if err := os.WriteFile(path, zipOf(t, map[string][]byte{"archive/data.pkl": pkl}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadArchive(path)
	want := "refusing " + path + ": the pickle calls os.system; sgan never runs code from files"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestUnmarshalArchiveHostile: a stride-0 view of 2^28 floats over one float is refused before
// libtorch allocates anything.
func TestUnmarshalArchiveHostile(t *testing.T) {
	pkl := []byte("\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n" +
		"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00J\x00\x00\x00\x10\x85K\x00\x85\x89NtRs.")
	file := zipOf(t, map[string][]byte{"archive/data.pkl": pkl, "archive/data/0": {0, 0, 128, 63}})
	_, err := UnmarshalArchive(file)
	if err == nil || !strings.Contains(err.Error(), "w: tensor of shape [268435456] has 268435456 elements but its storage archive/data/0 only 1") {
		t.Errorf("got %v", err)
	}
	// One float reads.
	ok := bytes.Replace(pkl, []byte("J\x00\x00\x00\x10\x85K\x00"), []byte("J\x01\x00\x00\x00\x85K\x01"), 1)
	a, err := UnmarshalArchive(zipOf(t, map[string][]byte{"archive/data.pkl": ok, "archive/data/0": {0, 0, 128, 63}}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Free()
	if v := a.Tensors["w"].Float32s(); len(v) != 1 || v[0] != 1 {
		t.Errorf("w = %v", v)
	}
}

func TestFromBytes(t *testing.T) {
	s := NewScope()
	defer s.Close()
	tests := []struct {
		data  []byte
		dt    DType
		shape []int64
		want  string // the tensor's shape and values, or the error
	}{
		{[]byte{0, 0, 128, 63, 0, 0, 0, 64}, Float32, []int64{2, 1}, "[2 1] [1 2]"},
		{nil, Float32, []int64{4, 0}, "[4 0] []"},
		{[]byte{0, 0, 64, 64}, Float32, nil, "[] [3]"},
		{[]byte{0, 60}, Float16, []int64{1}, "[1] [1]"},
		{[]byte{1, 2, 3}, Float32, []int64{1}, "from bytes: 3 bytes are not the 1 float32 elements of shape [1]"},
		{nil, Float32, []int64{-1}, "from bytes: bad shape [-1]"},
		{nil, Float32, []int64{1 << 62, 1 << 62}, "from bytes: bad shape [4611686018427387904 4611686018427387904]"},
	}
	for _, tc := range tests {
		x, err := FromBytes(tc.data, tc.dt, tc.shape...)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = fmt.Sprint(x.Shape(), x.Float32s())
		}
		if got != tc.want {
			t.Errorf("FromBytes(%v, %v, %v) = %s, want %s", tc.data, tc.dt, tc.shape, got, tc.want)
		}
	}
}

// TestCBytesLength: C buffers of 2 GiB and more keep their length (C.GoBytes took a C.int, which
// truncated them). The 2 GiB + 5 bytes are an anonymous mapping never touched, so no memory is used.
func TestCBytesLength(t *testing.T) {
	n := 1<<31 + 5
	m, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("cannot map 2 GiB of address space: %v", err)
	}
	defer syscall.Munmap(m)
	b, err := cBytes(unsafe.Pointer(&m[0]), int64(n))
	if err != nil || len(b) != n || b[n-1] != 0 {
		t.Errorf("cBytes of %d bytes: len %d, %v", n, len(b), err)
	}
	if _, err := cBytes(nil, 3); err == nil {
		t.Error("cBytes took a nil pointer")
	}
}

func zipOf(t *testing.T, entries map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, name := range sortedKeys(entries) {
		f, err := w.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write(entries[name])
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
