package data

import (
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInspect(t *testing.T) {
	info, err := Inspect("demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Splits) != 2 || info.Splits[0].Name != "train" || info.Splits[1].Name != "test" {
		t.Fatalf("splits %+v", info.Splits)
	}
	tr := info.Splits[0]
	if tr.Total() != 402 || tr.Sizes[image.Pt(64, 64)] != 402 || tr.Modes["gray"] != 402 || tr.Bad != 0 {
		t.Errorf("demo train split: %d images, sizes %v, modes %v, %d bad", tr.Total(), tr.Sizes, tr.Modes, tr.Bad)
	}
	var b strings.Builder
	info.Write(&b)
	if !strings.Contains(b.String(), "train: 402 images") || !strings.Contains(b.String(), "sizes: 64x64 (402)") {
		t.Errorf("report:\n%s", b.String())
	}

	// A flat folder with one unreadable file: counted, the first one named.
	dir := t.TempDir()
	src, _ := filepath.Glob(filepath.Join("demo", "train", "*", "*"))
	for _, p := range src[:3] {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(dir, filepath.Base(p)), b, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("not a png"), 0o644)
	info, err = Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := info.Splits[0]
	if s.Name != "" || s.Total() != 4 || s.Bad != 1 || s.FirstBad == nil || !strings.Contains(s.FirstBad.Error(), "broken.png") {
		t.Errorf("flat folder: %+v", s)
	}
	if _, err := Inspect(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing folder accepted")
	}
}
