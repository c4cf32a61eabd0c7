package pickle

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// asm assembles a pickle from opcodes and operands: strings and bytes are appended as they are,
// ints as one byte.
func asm(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			b = append(b, v...)
		case []byte:
			b = append(b, v...)
		case int:
			b = append(b, byte(v))
		case byte:
			b = append(b, v)
		default:
			panic("asm: bad part")
		}
	}
	return b
}

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

// str is a BINUNICODE opcode.
func str(s string) []byte { return asm("X", le32(uint32(len(s))), s) }

// global is a GLOBAL opcode.
func global(module, name string) []byte { return asm("c", module, "\n", name, "\n") }

// ints is a tuple of small ints (MARK ... TUPLE), with BININT for each.
func ints(vs ...int64) []byte {
	b := []byte{'('}
	for _, v := range vs {
		if v == int64(int32(v)) {
			b = append(b, 'J')
			b = binary.LittleEndian.AppendUint32(b, uint32(int32(v)))
		} else {
			b = append(b, 0x8a, 8)
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return append(b, 't')
}

// tensorPickle is _rebuild_tensor_v2(storage(key, n float32), offset, size, stride, False, OrderedDict()).
func tensorPickle(key string, n int64, offset int64, size, stride []int64) []byte {
	return asm(global("torch._utils", "_rebuild_tensor_v2"), "(",
		"(", str("storage"), global("torch", "FloatStorage"), str(key), str("cpu"), "J", le32(uint32(n)), "tQ",
		"J", le32(uint32(offset)), ints(size...), ints(stride...), 0x89,
		global("collections", "OrderedDict"), ")R", "tR")
}

// torchZip writes a torch.save-style zip: archive/data.pkl and the given other entries (names
// relative to archive/), all stored unless deflate names them.
func torchZip(t testing.TB, pkl []byte, entries map[string][]byte, deflate ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	names := []string{"data.pkl"}
	all := map[string][]byte{"data.pkl": pkl}
	for k, v := range entries {
		names = append(names, k)
		all[k] = v
	}
	for _, n := range names {
		m := zip.Store
		for _, d := range deflate {
			if d == n {
				m = zip.Deflate
			}
		}
		f, err := w.CreateHeader(&zip.FileHeader{Name: "archive/" + n, Method: m})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(all[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// allocated returns the bytes allocated on the Go heap while f runs.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// wantErr fails unless err is an error on one line that contains every part.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q lacks %q", msg, p)
		}
	}
}

func f32s(vs ...float32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, mathFloat32bits(v))
	}
	return b
}

func mathFloat32bits(f float32) uint32 { return math.Float32bits(f) }

// legacyMagicPickle is the first pickle of the legacy format: LONG1 of the magic number.
var legacyMagicPickle = asm(0x80, 2, 0x8a, 10, "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", ".")

// legacyFile writes the legacy torch.save format: the header pickles, obj (a pickle body that
// may use the persistent id built by legacyPID), the key list and each storage's count and data.
func legacyFile(obj []byte, keys []string, data map[string][]byte, elem int) []byte {
	b := asm(legacyMagicPickle, 0x80, 2, "M", "\xe9\x03", ".", 0x80, 2, "}", str("little_endian"), 0x88, "s.")
	b = append(b, 0x80, 2)
	b = append(b, obj...)
	b = append(b, '.')
	b = append(b, asm(0x80, 2, "]")...)
	for _, k := range keys {
		b = append(b, str(k)...)
		b = append(b, 'a')
	}
	b = append(b, '.')
	for _, k := range keys {
		b = append(b, le64(uint64(len(data[k])/elem))...)
		b = append(b, data[k]...)
	}
	return b
}

// legacyPID is ('storage', torch.FloatStorage, key, 'cpu', n, view) with view None or (key,
// offset, size).
func legacyPID(key string, n int64, view []byte) []byte {
	if view == nil {
		view = []byte{'N'}
	}
	return asm("(", str("storage"), global("torch", "FloatStorage"), str(key), str("cpu"), "J", le32(uint32(n)), view, "tQ")
}

// legacyStorage is a legacy stream of one FloatStorage of n elements (what
// torch.storage._load_from_bytes reads).
func legacyStorage(t testing.TB, n int) []byte {
	return legacyFile(legacyPID("k", int64(n), nil), []string{"k"}, map[string][]byte{"k": make([]byte, 4*n)}, 4)
}

// rawDeflatedZip is a torch.save zip of pkl (stored) and archive/data/0, given already deflated
// and declaring size bytes (of zeros, for its checksum).
func rawDeflatedZip(t testing.TB, pkl, deflated []byte, size uint64) []byte {
	t.Helper()
	crc := uint32(0)
	zero := make([]byte, 1<<20)
	for left := size; left > 0; left -= min(left, uint64(len(zero))) {
		crc = crc32.Update(crc, crc32.IEEETable, zero[:min(left, uint64(len(zero)))])
	}
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.CreateHeader(&zip.FileHeader{Name: "archive/data.pkl", Method: zip.Store})
	if err != nil {
		t.Fatal(err)
	}
	f.Write(pkl)
	f, err = w.CreateRaw(&zip.FileHeader{Name: "archive/data/0", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(deflated)), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	f.Write(deflated)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipWith is a zip of the given entries, stored, in sorted order.
func zipWith(t testing.TB, entries map[string][]byte) []byte {
	var list [][2]string
	for k, v := range entries {
		list = append(list, [2]string{k, string(v)})
	}
	slices.SortFunc(list, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return zipEntries(t, list)
}

// zipEntries is a zip of the entries (name, content) in order, duplicates allowed.
func zipEntries(t testing.TB, entries [][2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, e := range entries {
		f, err := w.CreateHeader(&zip.FileHeader{Name: e[0], Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(e[1]))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
