package project

import (
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeImage(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, nil)
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func uniform(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

// TestLoadTargets covers the target reader: folders are searched recursively and sorted, a
// file of another size is resized (and says so through Resized), colour becomes gray, pixels
// map to [-1, 1], and bad paths are one-line errors naming them.
func TestLoadTargets(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "scans", "NC", "b.png"), uniform(16, 16, 255))
	writeImage(t, filepath.Join(dir, "scans", "AD", "a.png"), uniform(16, 16, 0))
	rgb := image.NewRGBA(image.Rect(0, 0, 40, 24))
	for y := 0; y < 24; y++ {
		for x := 0; x < 40; x++ {
			rgb.Set(x, y, color.RGBA{128, 128, 128, 255})
		}
	}
	writeImage(t, filepath.Join(dir, "scans", "AD", "c.jpg"), rgb)
	os.WriteFile(filepath.Join(dir, "notes.png"), []byte("not an image"), 0o644)
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	os.WriteFile(filepath.Join(dir, "empty", "readme.txt"), []byte("x"), 0o644)

	ts, err := LoadTargets([]string{filepath.Join(dir, "scans")}, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tg := range ts {
		names = append(names, tg.Dir+"/"+filepath.Base(tg.Name))
	}
	if got := strings.Join(names, " "); got != "AD/a.png AD/c.jpg NC/b.png" {
		t.Errorf("targets %s", got)
	}
	if ts[0].Resized(16) || !ts[1].Resized(16) || ts[1].W != 40 || ts[1].H != 24 {
		t.Errorf("resized flags: %v %v (%dx%d)", ts[0].Resized(16), ts[1].Resized(16), ts[1].W, ts[1].H)
	}
	for _, tc := range []struct {
		i    int
		want float32
		tol  float32
	}{{0, -1, 0}, {2, 1, 0}, {1, 0, 0.03}} { // black, white, mid-gray after JPEG
		for _, v := range ts[tc.i].Pix {
			if v < tc.want-tc.tol || v > tc.want+tc.tol {
				t.Errorf("%s: pixel %g, want %g", ts[tc.i].Name, v, tc.want)
				break
			}
		}
		if len(ts[tc.i].Pix) != 256 || ts[tc.i].Class != -1 {
			t.Errorf("%s: %d values, class %d", ts[tc.i].Name, len(ts[tc.i].Pix), ts[tc.i].Class)
		}
	}
	for _, tc := range []struct {
		path string
		want string
	}{
		{filepath.Join(dir, "notes.png"), "notes.png: not a PNG or JPEG image"},
		{filepath.Join(dir, "missing.png"), "missing.png: no such file or folder"},
		{filepath.Join(dir, "empty"), "empty: no PNG or JPEG images"},
	} {
		_, err := LoadTargets([]string{tc.path}, 16, 1)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: want one line containing %q, got %v", tc.path, tc.want, err)
		}
	}
	mean := MeanImage(ts[:1])
	if mean[0] != -1 || len(MeanImage(nil)) != 0 {
		t.Errorf("mean image %v", mean[:2])
	}
	if m := MeanImage([]Target{ts[0], ts[2]}); m[5] != 0 {
		t.Errorf("mean of black and white is %g, want 0", m[5])
	}
}
