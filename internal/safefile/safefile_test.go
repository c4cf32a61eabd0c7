package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWriteReplacesWholeOrNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.bin")
	if err := Write(p, []byte("first")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := WriteWith(p, func(w io.Writer) error {
		w.Write([]byte("half of the sec"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want it to wrap the writer's", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "first" {
		t.Fatalf("a failed write changed the file: %q", b)
	}
	if err := Write(p, []byte("second")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "second" {
		t.Fatalf("got %q", b)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", st.Mode().Perm())
	}
}

func TestCleanStaleRemovesOnlyOldTempFiles(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, ".last.pt.tmp-123")
	fresh := filepath.Join(dir, ".epoch010.pt.tmp-456")
	keep := filepath.Join(dir, "last.pt")
	for _, p := range []string{old, fresh, keep} {
		os.WriteFile(p, []byte("x"), 0o644)
	}
	past := time.Now().Add(-time.Hour)
	os.Chtimes(old, past, past)
	os.Chtimes(keep, past, past)
	removed, err := CleanStale(dir, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != ".last.pt.tmp-123" {
		t.Fatalf("removed %v", removed)
	}
	for _, p := range []string{fresh, keep} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed", p)
		}
	}
	if r, err := CleanStale(filepath.Join(dir, "missing"), time.Now()); err != nil || r != nil {
		t.Errorf("missing folder: %v %v", r, err)
	}
}
