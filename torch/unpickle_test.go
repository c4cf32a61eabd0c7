package torch

import (
	"strings"
	"testing"
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

func FuzzUnpickle(f *testing.F) {
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01K\x05u."))
	f.Add([]byte("\x80\x02}X\x01\x00\x00\x00bJ\xff\xff\xff\xffs."))
	f.Fuzz(func(t *testing.T, b []byte) {
		unpickle(b) // must not panic
	})
}
