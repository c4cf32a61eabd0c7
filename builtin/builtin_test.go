package builtin

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sgan/run"
	"sgan/sample"
	"sgan/torch"
	"sgan/train"
)

// tinyCheckpoint writes an untrained tiny-preset checkpoint (with its EMA generator) to dir.
func tinyCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := run.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Run.Dir = filepath.Join(dir, "run")
	tr, err := train.Open(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	p := filepath.Join(dir, "ck.pt")
	if err := tr.SaveCheckpoint(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExtractHalvesTheFileAndKeepsTheImages(t *testing.T) {
	dir := t.TempDir()
	src := tinyCheckpoint(t, dir)
	f32, err := Extract(src, filepath.Join(dir, "f32.pt"), torch.Float32)
	if err != nil {
		t.Fatal(err)
	}
	f16, err := Extract(src, filepath.Join(dir, "f16.pt"), torch.Float16)
	if err != nil {
		t.Fatal(err)
	}
	if f32.Precision != "float32" || f16.Precision != "float16" || f16.Resolution != 32 {
		t.Errorf("infos %+v %+v", f32, f16)
	}
	full, _ := os.Stat(src)
	if f16.Bytes >= f32.Bytes*6/10 || int64(f32.Bytes) >= full.Size() {
		t.Errorf("sizes: checkpoint %d, float32 generator %d, float16 %d bytes", full.Size(), f32.Bytes, f16.Bytes)
	}
	ck, err := run.LoadCheckpoint(filepath.Join(dir, "f16.pt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Critic) != 0 || len(ck.OptimG) != 0 || len(ck.GeneratorEMA) != 0 || len(ck.Generator) == 0 {
		t.Errorf("the extract holds critic %d, optimizer %d, EMA %d, generator %d tensors: want only the generator",
			len(ck.Critic), len(ck.OptimG), len(ck.GeneratorEMA), len(ck.Generator))
	}
	ck.Free()

	seeds := []uint64{0, 1, 2, 3}
	render := func(path string) [][]byte {
		s, err := sample.Open(path, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		imgs, err := s.Render(seeds, 1, -1)
		if err != nil {
			t.Fatal(err)
		}
		var pix [][]byte
		for _, m := range imgs {
			g, ok := m.(*image.Gray)
			if !ok {
				t.Fatalf("image %T, want grayscale", m)
			}
			pix = append(pix, g.Pix)
		}
		return pix
	}
	a, b, c := render(src), render(filepath.Join(dir, "f32.pt")), render(filepath.Join(dir, "f16.pt"))
	maxd, differ := 0, 0
	for i := range a {
		if string(a[i]) != string(b[i]) {
			t.Errorf("seed %d: the float32 extract draws another image than the checkpoint's EMA generator", i)
		}
		for j := range a[i] {
			d := int(a[i][j]) - int(c[i][j])
			if d < 0 {
				d = -d
			}
			maxd = max(maxd, d)
			if d > 0 {
				differ++
			}
		}
	}
	if maxd > 4 {
		t.Errorf("float16 weights move pixels by up to %d levels", maxd)
	}
	t.Logf("float16: %d bytes vs %d; %d pixels differ, by at most %d levels", f16.Bytes, f32.Bytes, differ, maxd)
}

func TestExtractRefuses(t *testing.T) {
	dir := t.TempDir()
	if _, err := Extract(filepath.Join(dir, "none.pt"), filepath.Join(dir, "out.pt"), torch.Float16); err == nil {
		t.Error("a missing checkpoint was accepted")
	}
	if _, err := Extract(filepath.Join(dir, "none.pt"), filepath.Join(dir, "out.pt"), torch.Float64); err == nil || !strings.Contains(err.Error(), "float32 or float16") {
		t.Errorf("float64: %v", err)
	}
	bad := filepath.Join(dir, "bad.pt")
	os.WriteFile(bad, []byte("junk"), 0o644)
	if _, err := Extract(bad, filepath.Join(dir, "out.pt"), torch.Float16); err == nil {
		t.Error("a junk file was accepted")
	}
}

func TestPathWritesTheModelOnce(t *testing.T) {
	saved := demo
	defer func() { demo = saved }()

	demo = nil
	if _, err := Path(); err == nil || !strings.Contains(err.Error(), "--ckpt") {
		t.Errorf("without a built-in model: %v", err)
	}

	demo = []byte("model bytes")
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("HOME", cache)
	p, err := Path()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, cache) {
		t.Errorf("path %s is not under the cache folder %s", p, cache)
	}
	if b, _ := os.ReadFile(p); string(b) != "model bytes" {
		t.Errorf("file holds %q", b)
	}
	os.WriteFile(p, []byte("tampered!!!"), 0o644) // same size, other content
	if p2, err := Path(); err != nil || p2 != p {
		t.Fatalf("second call: %s %v", p2, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "model bytes" {
		t.Errorf("a changed file was not rewritten: %q", b)
	}

	// An unwritable cache folder falls back to a private temporary folder.
	notDir := filepath.Join(cache, "file")
	os.WriteFile(notDir, nil, 0o644)
	t.Setenv("XDG_CACHE_HOME", notDir)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	p, err = Path()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p, tmp) {
		t.Errorf("fallback path %s is not under TMPDIR %s", p, tmp)
	}
	st, _ := os.Stat(filepath.Dir(p))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("fallback folder mode %v, want 0700", st.Mode().Perm())
	}
	os.Chmod(filepath.Dir(p), 0o777)
	if _, err := Path(); err == nil || !strings.Contains(err.Error(), "not a private folder") {
		t.Errorf("a world-writable fallback folder: %v", err)
	}
}
