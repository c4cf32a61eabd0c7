package figure

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLevel(t *testing.T) {
	nan := float32(math.NaN())
	for _, tc := range []struct {
		x    float32
		want uint8
	}{
		{-1, 0},
		{1, 255},
		{0, 128},   // 127.5 rounds half away from zero
		{-2, 0},    // clamped
		{3.5, 255}, // clamped
		{float32(math.Inf(1)), 255},
		{float32(math.Inf(-1)), 0},
		{nan, 0},
		{0.5, 191},  // 191.25
		{-0.5, 64},  // 63.75
		{0.99, 254}, // 253.7
	} {
		if got := Level(tc.x); got != tc.want {
			t.Errorf("Level(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
}

func TestToImage(t *testing.T) {
	// Batch of 2 gray 2x3 images: image 1 holds the interesting values.
	gray := []float32{
		9, 9, 9, 9, 9, 9,
		-1, 0, 1,
		-5, 5, 0.5,
	}
	m, ok := ToImage(gray, 2, 1, 2, 3, 1).(*image.Gray)
	if !ok {
		t.Fatalf("C=1 gives %T, want *image.Gray", m)
	}
	if m.Bounds() != image.Rect(0, 0, 3, 2) {
		t.Fatalf("bounds %v", m.Bounds())
	}
	for _, tc := range []struct {
		x, y int
		want uint8
	}{{0, 0, 0}, {1, 0, 128}, {2, 0, 255}, {0, 1, 0}, {1, 1, 255}, {2, 1, 191}} {
		if got := m.GrayAt(tc.x, tc.y).Y; got != tc.want {
			t.Errorf("gray (%d,%d) = %d, want %d", tc.x, tc.y, got, tc.want)
		}
	}

	// One RGB 1x2 image: planes R, G, B.
	rgb := []float32{-1, 1, 0, 1, 1, -1}
	c, ok := ToImage(rgb, 1, 3, 1, 2, 0).(*image.RGBA)
	if !ok {
		t.Fatalf("C=3 gives %T, want *image.RGBA", c)
	}
	for _, tc := range []struct {
		x    int
		want color.RGBA
	}{{0, color.RGBA{0, 128, 255, 255}}, {1, color.RGBA{255, 255, 0, 255}}} {
		if got := c.RGBAAt(tc.x, 0); got != tc.want {
			t.Errorf("rgb (%d,0) = %v, want %v", tc.x, got, tc.want)
		}
	}
}

func TestToImagePanics(t *testing.T) {
	pix := make([]float32, 2*1*4*4)
	for _, tc := range []struct {
		name          string
		n, c, h, w, i int
	}{
		{"channels", 2, 2, 4, 4, 0},
		{"short", 3, 1, 4, 4, 0},
		{"index", 2, 1, 4, 4, 2},
		{"negative index", 2, 1, 4, 4, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if r == nil || !strings.HasPrefix(r.(string), "figure: ") {
					t.Errorf("recover() = %v, want figure: panic", r)
				}
			}()
			ToImage(pix, tc.n, tc.c, tc.h, tc.w, tc.i)
		})
	}
}

func grays(n, w, h int, y uint8) []image.Image {
	imgs := make([]image.Image, n)
	for i := range imgs {
		m := image.NewGray(image.Rect(0, 0, w, h))
		for k := range m.Pix {
			m.Pix[k] = y
		}
		imgs[i] = m
	}
	return imgs
}

func TestGridSize(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, size      int
		cols, pad    int
		wantW, wantH int
	}{
		{"10 in 4 cols", 10, 64, 4, 2, 4*64 + 5*2, 3*64 + 4*2},
		{"exact rows", 8, 64, 4, 2, 4*64 + 5*2, 2*64 + 3*2},
		{"no pad", 6, 8, 3, 0, 24, 16},
		{"one", 1, 8, 4, 1, 10, 10},
		{"cols<=0 one row", 5, 8, 0, 1, 5*8 + 6, 10},
		{"cols > n", 3, 8, 10, 1, 3*8 + 4, 10},
		{"empty", 0, 8, 4, 2, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := Grid(grays(tc.n, tc.size, tc.size, 0), tc.cols, tc.pad, color.White)
			if s := g.Bounds().Size(); s != image.Pt(tc.wantW, tc.wantH) {
				t.Errorf("size %v, want %dx%d", s, tc.wantW, tc.wantH)
			}
			if g.Bounds().Min != (image.Point{}) {
				t.Errorf("origin %v", g.Bounds().Min)
			}
		})
	}
}

func TestGridPlacementAndModel(t *testing.T) {
	g, ok := Grid(grays(3, 2, 2, 7), 2, 1, color.White).(*image.Gray)
	if !ok {
		t.Fatalf("gray inputs on white give %T, want *image.Gray", g)
	}
	// Row 0: pad, img, img, pad, img, img, pad. Row 2 of cells: empty second cell.
	for _, tc := range []struct {
		x, y int
		want uint8
	}{{0, 0, 255}, {1, 1, 7}, {2, 2, 7}, {3, 1, 255}, {4, 1, 7}, {5, 2, 7}, {6, 1, 255}, {1, 4, 7}, {4, 4, 255}} {
		if got := g.GrayAt(tc.x, tc.y).Y; got != tc.want {
			t.Errorf("(%d,%d) = %d, want %d", tc.x, tc.y, got, tc.want)
		}
	}
	// Colored background or color inputs give RGBA.
	if _, ok := Grid(grays(2, 2, 2, 7), 2, 1, color.RGBA{255, 0, 0, 255}).(*image.RGBA); !ok {
		t.Error("red background should give *image.RGBA")
	}
	mixed := append(grays(1, 2, 2, 7), image.NewRGBA(image.Rect(0, 0, 3, 1)))
	m := Grid(mixed, 2, 0, color.Black)
	if _, ok := m.(*image.RGBA); !ok {
		t.Errorf("mixed inputs give %T, want *image.RGBA", m)
	}
	if s := m.Bounds().Size(); s != image.Pt(6, 2) {
		t.Errorf("cells as large as the largest image: size %v, want 6x2", s)
	}
}

func TestGridFromBatch(t *testing.T) {
	pix := make([]float32, 5*1*4*6)
	g := GridFromBatch(pix, 5, 1, 4, 6, 2)
	if s := g.Bounds().Size(); s != image.Pt(2*6+3*DefaultPad, 3*4+4*DefaultPad) {
		t.Errorf("size %v", s)
	}
	if _, ok := g.(*image.Gray); !ok {
		t.Errorf("gray batch gives %T", g)
	}
	if got := g.(*image.Gray).GrayAt(DefaultPad, DefaultPad).Y; got != 128 {
		t.Errorf("pixel = %d, want 128", got)
	}
}

func TestStyleMix(t *testing.T) {
	for _, tc := range []struct {
		name       string
		rows, cols int
		size, pad  int
	}{
		{"paper 3x5", 3, 5, 16, 2},
		{"1x1", 1, 1, 8, 0},
		{"2x4", 2, 4, 8, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mixed := make([][]image.Image, tc.rows)
			for r := range mixed {
				mixed[r] = grays(tc.cols, tc.size, tc.size, 50)
			}
			m := StyleMix(grays(tc.rows, tc.size, tc.size, 10), grays(tc.cols, tc.size, tc.size, 20), mixed, tc.pad)
			wantW := (tc.cols+1)*tc.size + (tc.cols+2)*tc.pad
			wantH := (tc.rows+1)*tc.size + (tc.rows+2)*tc.pad
			if s := m.Bounds().Size(); s != image.Pt(wantW, wantH) {
				t.Fatalf("size %v, want %dx%d", s, wantW, wantH)
			}
			g := m.(*image.Gray)
			at := func(r, c int) uint8 {
				return g.GrayAt(tc.pad+c*(tc.size+tc.pad), tc.pad+r*(tc.size+tc.pad)).Y
			}
			if at(0, 0) != 255 || at(0, 1) != 20 || at(1, 0) != 10 || at(1, 1) != 50 {
				t.Errorf("cells: corner %d, dst %d, src %d, mixed %d", at(0, 0), at(0, 1), at(1, 0), at(1, 1))
			}
		})
	}
}

func TestStyleMixPanicsOnRaggedMixed(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	StyleMix(grays(2, 4, 4, 0), grays(3, 4, 4, 0), [][]image.Image{grays(3, 4, 4, 0), grays(2, 4, 4, 0)}, 1)
}

func TestLabeled(t *testing.T) {
	img := grays(1, 100, 20, 0)[0]
	l := Labeled(img, "d=0.123")
	g, ok := l.(*image.Gray)
	if !ok {
		t.Fatalf("gray input gives %T", l)
	}
	b := g.Bounds()
	if b.Dx() != 100 || b.Dy() <= 20 {
		t.Fatalf("bounds %v", b)
	}
	strip := b.Dy() - 20
	dark := 0
	for y := 0; y < strip; y++ {
		for x := 0; x < b.Dx(); x++ {
			if g.GrayAt(x, y).Y < 128 {
				dark++
			}
		}
	}
	if dark == 0 {
		t.Error("no text drawn in the caption strip")
	}
	if g.GrayAt(50, strip+10).Y != 0 {
		t.Error("image not below the strip")
	}
	// Text wider than the image widens the figure; two lines make it taller.
	wide := Labeled(grays(1, 4, 4, 0)[0], "a long caption\nline two")
	if wide.Bounds().Dx() <= 4*7 || wide.Bounds().Dy() < 4+2*13 {
		t.Errorf("wide/multiline bounds %v", wide.Bounds())
	}
	if _, ok := Labeled(image.NewRGBA(image.Rect(0, 0, 4, 4)), "x").(*image.RGBA); !ok {
		t.Error("RGBA input should give *image.RGBA")
	}
}

func TestPairs(t *testing.T) {
	gen, real := grays(3, 16, 16, 0), grays(3, 16, 16, 0)
	m := Pairs(gen, real, []string{"d=1", "d=2"}, 2)
	b := m.Bounds()
	if b.Dx() < 2*16+3*2 {
		t.Errorf("width %d", b.Dx())
	}
	if b.Dy() <= 3*(16+2*2) {
		t.Errorf("height %d leaves no room for captions", b.Dy())
	}
	if _, ok := m.(*image.Gray); !ok {
		t.Errorf("gray pairs give %T", m)
	}
}

func gradient(w, h int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for k := range m.Pix {
		m.Pix[k] = uint8(k * 7)
	}
	return m
}

func noTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func TestSavePNGRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		img  image.Image
	}{
		{"gray", gradient(13, 7)},
		{"rgba", ToImage([]float32{-1, 0, 1, 0.5, -0.5, 0, 1, 1, -1}, 1, 3, 1, 3, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "sub", "deeper", tc.name+".png")
			if err := SavePNG(path, tc.img); err != nil {
				t.Fatal(err)
			}
			// Overwrite works too.
			if err := SavePNG(path, tc.img); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, isGray := tc.img.(*image.Gray); isGray {
				if _, ok := got.(*image.Gray); !ok {
					t.Errorf("decoded %T, want *image.Gray", got)
				}
			}
			b := tc.img.Bounds()
			if got.Bounds() != b {
				t.Fatalf("bounds %v, want %v", got.Bounds(), b)
			}
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					r0, g0, b0, a0 := tc.img.At(x, y).RGBA()
					r1, g1, b1, a1 := got.At(x, y).RGBA()
					if r0 != r1 || g0 != g1 || b0 != b1 || a0 != a1 {
						t.Fatalf("(%d,%d) differs", x, y)
					}
				}
			}
			noTemps(t, filepath.Dir(path))
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
				t.Errorf("stat: %v %v", fi, err)
			}
		})
	}
}

func TestSaveGIF(t *testing.T) {
	dir := t.TempDir()
	rgb := image.NewRGBA(image.Rect(0, 0, 10, 6))
	for k := range rgb.Pix {
		rgb.Pix[k] = uint8(k * 13)
	}
	for _, tc := range []struct {
		name   string
		frames []image.Image
	}{
		{"gray", []image.Image{gradient(8, 8), gradient(8, 8), gradient(8, 8)}},
		{"color", []image.Image{rgb, rgb}},
		{"mixed sizes", []image.Image{gradient(4, 4), rgb, gradient(8, 8), rgb}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "anim", tc.name+".gif")
			if err := SaveGIF(path, tc.frames, 20); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			g, err := gif.DecodeAll(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Image) != len(tc.frames) {
				t.Errorf("%d frames, want %d", len(g.Image), len(tc.frames))
			}
			if g.LoopCount != 0 {
				t.Errorf("LoopCount %d, want 0 (forever)", g.LoopCount)
			}
			for k, d := range g.Delay {
				if d != 20 {
					t.Errorf("frame %d delay %d", k, d)
				}
			}
			if src, ok := tc.frames[0].(*image.Gray); ok {
				// Gray frames are exact.
				f := g.Image[0]
				for y := 0; y < src.Rect.Dy(); y++ {
					for x := 0; x < src.Rect.Dx(); x++ {
						if got := color.GrayModel.Convert(f.At(x, y)).(color.Gray).Y; got != src.GrayAt(x, y).Y {
							t.Fatalf("(%d,%d) = %d, want %d", x, y, got, src.GrayAt(x, y).Y)
						}
					}
				}
			}
			noTemps(t, filepath.Dir(path))
		})
	}
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(file, "x.png") // a folder that is a file
	for _, tc := range []struct {
		name string
		path string
		save func(string) error
	}{
		{"png unwritable", bad, func(p string) error { return SavePNG(p, gradient(2, 2)) }},
		{"gif unwritable", bad, func(p string) error { return SaveGIF(p, []image.Image{gradient(2, 2)}, 1) }},
		{"png nil", filepath.Join(dir, "nil.png"), func(p string) error { return SavePNG(p, nil) }},
		{"gif no frames", filepath.Join(dir, "none.gif"), func(p string) error { return SaveGIF(p, nil, 1) }},
		{"gif negative delay", filepath.Join(dir, "neg.gif"), func(p string) error { return SaveGIF(p, []image.Image{gradient(2, 2)}, -1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.save(tc.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q does not name %s", err, tc.path)
			}
			if _, err := os.Stat(tc.path); err == nil {
				t.Error("file written despite the error")
			}
		})
	}
	noTemps(t, dir)
}

// TestWriteAtomicCleansUp makes the encoder fail half way: no temporary
// file and no destination are left.
