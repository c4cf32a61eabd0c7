package sample

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sgan/model"
	"sgan/run"
	"sgan/torch"
	"sgan/train"
)

// tinyCheckpoint writes an untrained tiny model's checkpoint (conditional when classes > 0).
func tinyCheckpoint(t *testing.T, conditional bool) string {
	t.Helper()
	cfg, err := run.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.Run.Dir = dir
	if conditional {
		// Two class folders of the demo images, so the model learns labels AD and NC.
		root := filepath.Join(dir, "data")
		ds, err := os.ReadDir("../data/demo/train/NC")
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range ds[:40] {
			cls := []string{"AD", "NC"}[i%2]
			b, _ := os.ReadFile(filepath.Join("../data/demo/train/NC", e.Name()))
			os.MkdirAll(filepath.Join(root, "train", cls), 0o755)
			os.WriteFile(filepath.Join(root, "train", cls, e.Name()), b, 0o644)
		}
		cfg.Data.Root = root
		cfg.Data.Conditional = true
	}
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

func pixels(img image.Image) []uint8 {
	g, ok := img.(*image.Gray)
	if !ok {
		panic("not gray")
	}
	return g.Pix
}

func same(a, b image.Image) bool { return string(pixels(a)) == string(pixels(b)) }

func TestRenderIsDeterministicAndTruncates(t *testing.T) {
	s, err := Open(tinyCheckpoint(t, false), torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.Render([]uint64{1, 2, 3}, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	// Same seed, other batch composition and order: same image.
	b, err := s.Render([]uint64{3, 1}, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !same(a[0], b[1]) || !same(a[2], b[0]) {
		t.Error("a seed's image depends on its batch")
	}
	if same(a[0], a[1]) {
		t.Error("different seeds gave the same image")
	}
	if r := a[0].Bounds(); r.Dx() != 32 || r.Dy() != 32 {
		t.Errorf("image size %v, want 32x32", r)
	}
	// psi = 0: every seed gives the average image.
	z, _ := s.Render([]uint64{1, 2, 3}, 0, -1)
	if !same(z[0], z[1]) || !same(z[1], z[2]) {
		t.Error("psi 0 images differ")
	}
	if _, err := s.Render([]uint64{1}, 1.5, -1); err == nil || !strings.Contains(err.Error(), "psi") {
		t.Errorf("psi 1.5: %v", err)
	}
}

func TestFiguresHaveTheRightSize(t *testing.T) {
	s, err := Open(tinyCheckpoint(t, false), torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, layers := range []string{"coarse", "middle", "fine"} {
		fig, err := s.StyleMix([]uint64{1, 2}, []uint64{3, 4, 5}, 1, -1, layers)
		if err != nil {
			t.Fatal(err)
		}
		// 4 columns (source + 3 destinations), 3 rows (header + 2 sources), 32 px cells, pad 2.
		if r := fig.Bounds(); r.Dx() != 4*32+5*2 || r.Dy() != 3*32+4*2 {
			t.Errorf("%s style-mix figure is %v", layers, r)
		}
	}
	if _, err := s.StyleMix([]uint64{1}, []uint64{2}, 1, -1, "all"); err == nil {
		t.Error("unknown layer range accepted")
	}
	frames, err := s.Interpolate([]uint64{1, 2, 3}, 4, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 12 {
		t.Errorf("%d frames, want 3 legs x 4", len(frames))
	}
	first, _ := s.Render([]uint64{1}, 1, -1)
	if !same(frames[0], first[0]) {
		t.Error("interpolation does not start at the first seed's image")
	}
}

func TestExportLayoutAndManifest(t *testing.T) {
	ck := tinyCheckpoint(t, true)
	s, err := Open(ck, torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if strings.Join(s.Classes, ",") != "AD,NC" {
		t.Fatalf("classes %v", s.Classes)
	}
	if _, err := s.ClassIndex("MCI"); err == nil || !strings.Contains(err.Error(), "AD, NC") {
		t.Errorf("unknown class: %v", err)
	}
	root := filepath.Join(t.TempDir(), "synth")
	if err := s.Export(ExportOptions{Root: root, Count: 3, PerClass: true, Psi: 0.8}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(root, "manifest.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []ManifestRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r ManifestRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 6 {
		t.Fatalf("manifest has %d rows, want 3 per class", len(rows))
	}
	seen := map[uint64]bool{}
	for _, r := range rows {
		if _, err := os.Stat(filepath.Join(root, r.File)); err != nil {
			t.Errorf("manifest names missing %s", r.File)
		}
		if !strings.HasPrefix(r.File, "train/"+r.Class+"/") || r.Psi != 0.8 || len(r.Hash) != 64 || r.Ckpt != ck {
			t.Errorf("bad row %+v", r)
		}
		if seen[r.Seed] {
			t.Errorf("seed %d used twice", r.Seed)
		}
		seen[r.Seed] = true
	}
	// An exported image is the image of its seed.
	img, _ := s.Render([]uint64{rows[4].Seed}, 0.8, 1)
	fr, _ := os.Open(filepath.Join(root, rows[4].File))
	defer fr.Close()
	dec, _, err := image.Decode(fr)
	if err != nil {
		t.Fatal(err)
	}
	if !same(dec, img[0]) {
		t.Error("exported image differs from its seed's render")
	}
}

func TestBadInput(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.pt"), torch.CPU); err == nil {
		t.Error("missing checkpoint opened")
	}
	bogus := filepath.Join(t.TempDir(), "bogus.pt")
	os.WriteFile(bogus, []byte("not a checkpoint"), 0o644)
	if _, err := Open(bogus, torch.CPU); err == nil || !strings.Contains(err.Error(), bogus) {
		t.Errorf("bogus checkpoint: %v", err)
	}
	for _, bad := range []string{"", "x", "5-2", "1-"} {
		if _, err := ParseSeeds(bad); err == nil {
			t.Errorf("seeds %q accepted", bad)
		}
	}
	got, err := ParseSeeds("1-3, 7")
	if err != nil || len(got) != 4 || got[3] != 7 {
		t.Errorf("ParseSeeds: %v %v", got, err)
	}
}

// --noise none drops the noise inputs: with nonzero noise strengths the images change, and they
// stay a deterministic function of the seed; unknown modes are rejected.
func TestNoiseModes(t *testing.T) {
	s, err := Open(tinyCheckpoint(t, false), torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Noise != model.NoiseConst {
		t.Fatalf("default noise mode %v, want const", s.Noise)
	}
	// The untrained model's noise strengths are 0; give them weight so the modes differ.
	torch.NoGrad(func() {
		for _, name := range s.G.Store.Names() {
			if strings.HasSuffix(name, "noise_strength") {
				s.G.Store.Get(name).Fill(0.5)
			}
		}
	})
	withNoise, err := s.Render([]uint64{1, 2}, 1, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"none", "const"} {
		m, err := ParseNoise(name)
		if err != nil || NoiseName(m) != name {
			t.Fatalf("ParseNoise(%q) = %v, %v", name, m, err)
		}
	}
	s.Noise, _ = ParseNoise("none")
	a, _ := s.Render([]uint64{1, 2}, 1, -1)
	b, _ := s.Render([]uint64{2}, 1, -1)
	if same(a[0], withNoise[0]) {
		t.Error("noise none gave the const-noise image")
	}
	if !same(a[1], b[0]) {
		t.Error("without noise a seed's image depends on its batch")
	}
	if _, err := ParseNoise("random"); err == nil || !strings.Contains(err.Error(), "const or none") {
		t.Errorf("ParseNoise(random): %v", err)
	}
}

// TestExportRefusesHostileClassNames: a checkpoint whose class names are paths ("../../../x")
// or otherwise not one plain folder name is refused by Export with one line naming the class
// and the checkpoint, before anything is written anywhere.
func TestExportRefusesHostileClassNames(t *testing.T) {
	good := tinyCheckpoint(t, true)
	for _, tc := range []struct {
		classes []string
		export  ExportOptions
		bad     string // the class refused
		ok      bool   // the export succeeds
	}{
		{[]string{"../../../x", "NC"}, ExportOptions{PerClass: true}, "../../../x", false},
		{[]string{"AD", "a/../../b"}, ExportOptions{PerClass: true}, "a/../../b", false},
		{[]string{"/etc", "NC"}, ExportOptions{Class: 0}, "/etc", false},
		{[]string{`..\..\x`, "NC"}, ExportOptions{Class: 0}, `..\..\x`, false},
		{[]string{".hidden", "NC"}, ExportOptions{PerClass: true}, ".hidden", false},
		{[]string{"..", "NC"}, ExportOptions{PerClass: true}, "..", false},
		// (An empty name or a NUL cannot be stored through the checkpoint writer, which joins the
		// names with newlines into a C string; data.CheckClassFolder's own test covers them.)
		{[]string{"../../../x", "NC"}, ExportOptions{Class: 1}, "", true}, // only NC becomes a folder
	} {
		ck, err := run.LoadCheckpoint(good)
		if err != nil {
			t.Fatal(err)
		}
		ck.Classes = tc.classes
		hostile := filepath.Join(t.TempDir(), "hostile.pt")
		err = ck.Save(hostile)
		ck.Free()
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(hostile, torch.CPU)
		if err != nil {
			t.Fatal(err)
		}
		base := t.TempDir()
		o := tc.export
		o.Root, o.Count = filepath.Join(base, "a", "b", "c", "synth"), 2
		err = s.Export(o)
		s.Close()
		var written []string
		filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				written = append(written, strings.TrimPrefix(p, base))
			}
			return nil
		})
		if tc.ok {
			if err != nil || len(written) != 3 || !strings.HasPrefix(written[0], "/a/b/c/synth/") {
				t.Errorf("classes %q: %v; wrote %v", tc.classes, err, written)
			}
			continue
		}
		if err == nil || strings.ContainsAny(err.Error(), "\n\r") || !strings.Contains(err.Error(), fmt.Sprintf("class name %q is not a plain folder name", tc.bad)) ||
			!strings.Contains(err.Error(), hostile) {
			t.Errorf("classes %q: error %v, want one line naming %q and %s", tc.classes, err, tc.bad, hostile)
		}
		if len(written) > 0 {
			t.Errorf("classes %q: wrote %v", tc.classes, written)
		}
	}
}
