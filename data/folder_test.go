package data

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestOpenFolderLayouts(t *testing.T) {
	dir := t.TempDir()
	adni := filepath.Join(dir, "AD_NC")
	makeADNI(t, adni, 5)
	// Class folders only, with a non-image file and a hidden folder.
	classes := filepath.Join(dir, "classes")
	for _, c := range []string{"b", "a", "c"} {
		for i := 0; i < 3; i++ {
			writeImage(t, filepath.Join(classes, c, "img"+itoa(i)+".png"), testImage(16, 16, true, 100))
		}
	}
	writeFile(t, filepath.Join(classes, "a", "notes.txt"), []byte("x"))
	writeImage(t, filepath.Join(classes, "a", ".hidden", "x.png"), testImage(16, 16, true, 100))
	// Flat folder.
	flat := filepath.Join(dir, "flat")
	for i := 0; i < 4; i++ {
		writeImage(t, filepath.Join(flat, "f"+itoa(i)+".PNG"), testImage(20, 10, false, 100))
	}

	tests := []struct {
		name, root, split string
		classes           []string
		counts            []int
		wantSplit         string
	}{
		{"adni train", adni, "", []string{"AD", "NC"}, []int{5, 5}, "train"},
		{"adni test", adni, "test", []string{"AD", "NC"}, []int{5, 5}, "test"},
		{"class folders", classes, "train", []string{"a", "b", "c"}, []int{3, 3, 3}, ""},
		{"flat", flat, "train", []string{""}, []int{4}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenDir(tc.root, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(f.Classes(), ","); got != strings.Join(tc.classes, ",") {
				t.Fatalf("classes %q, want %q", got, tc.classes)
			}
			if f.Split() != tc.wantSplit {
				t.Errorf("split %q, want %q", f.Split(), tc.wantSplit)
			}
			counts := make([]int, len(f.Classes()))
			for i := 0; i < f.Len(); i++ {
				img, label, err := f.Load(i)
				if err != nil {
					t.Fatal(err)
				}
				if label != f.Label(i) {
					t.Fatalf("Load label %d != Label %d", label, f.Label(i))
				}
				if img.Bounds().Empty() {
					t.Fatal("empty image")
				}
				if cls := f.Classes()[label]; cls != "" && !strings.Contains(f.Name(i), string(filepath.Separator)+cls+string(filepath.Separator)) {
					t.Errorf("image %s labelled %s", f.Name(i), cls)
				}
				if !strings.HasPrefix(f.Name(i), tc.root) {
					t.Errorf("Name %q does not start with the root", f.Name(i))
				}
				counts[label]++
			}
			for i := range counts {
				if counts[i] != tc.counts[i] {
					t.Fatalf("counts %v, want %v", counts, tc.counts)
				}
			}
		})
	}
}

func TestOpenFolderFS(t *testing.T) {
	dir := t.TempDir()
	makeADNI(t, filepath.Join(dir, "data", "AD_NC"), 2)
	f, err := OpenFolder(os.DirFS(dir), "data/AD_NC", "test")
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != 4 || len(f.Classes()) != 2 {
		t.Fatalf("len %d classes %v", f.Len(), f.Classes())
	}
	if want := filepath.Join("data", "AD_NC", "test", "AD", "AD_00.jpeg"); f.Name(0) != want {
		t.Errorf("Name(0) = %q, want %q", f.Name(0), want)
	}
	// An in-memory fs.FS works too.
	b, _ := os.ReadFile(filepath.Join(dir, "data", "AD_NC", "train", "AD", "AD_01.png"))
	m := fstest.MapFS{"x/NC/a.png": {Data: b}, "x/NC/b.png": {Data: b}}
	g, err := OpenFolder(m, "x", "")
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 2 || g.Classes()[0] != "NC" {
		t.Fatalf("len %d classes %v", g.Len(), g.Classes())
	}
	if _, _, err := g.Load(1); err != nil {
		t.Fatal(err)
	}
}

func TestFolderErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	writeFile(t, filepath.Join(empty, "train", "AD", "readme.txt"), []byte("no images"))
	adni := filepath.Join(dir, "adni")
	makeADNI(t, adni, 1)
	file := filepath.Join(dir, "file.png")
	writeFile(t, file, []byte("x"))
	tests := []struct {
		name, root, split string
		want              []string
	}{
		{"missing root", filepath.Join(dir, "AD_NC"), "", []string{"data: ", "AD_NC: no such folder", "set data.root"}},
		{"no images", empty, "", []string{"data: ", filepath.Join(empty, "train"), "no .jpg, .jpeg or .png images"}},
		{"missing split", adni, "val", []string{"data: ", `no "val" split folder`, "found train, test"}},
		{"file root", file, "", []string{"data: ", "file.png: not a folder"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenDir(tc.root, tc.split)
			checkErr(t, err, tc.want...)
		})
	}
	// In an fs.FS.
	_, err := OpenFolder(fstest.MapFS{}, "nope", "")
	checkErr(t, err, "data: nope: no such folder")
	var _ fs.FS = Demo()
}

func TestFolderBadFile(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "NC", "a.png"), testImage(8, 8, true, 10))
	writeFile(t, filepath.Join(dir, "NC", "b.jpg"), []byte("not a jpeg"))
	f, err := OpenDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Load(1)
	checkErr(t, err, "data: ", filepath.Join(dir, "NC", "b.jpg"), "cannot decode", "skip_bad")
	if err := firstLine(err); err != "" {
		t.Errorf("multi-line error: %q", err)
	}
}

func checkErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if !strings.HasPrefix(err.Error(), "data: ") {
		t.Errorf("error %q is not prefixed with data:", err)
	}
}

// firstLine returns the part of err's message after the first newline.
func firstLine(err error) string {
	_, rest, _ := strings.Cut(err.Error(), "\n")
	return rest
}

func TestOpenFolderUncleanRoot(t *testing.T) {
	dir := t.TempDir()
	makeADNI(t, filepath.Join(dir, "x"), 1)
	for _, root := range []string{"./x", "x/", "x/../x"} {
		f, err := OpenFolder(os.DirFS(dir), root, "train")
		if err != nil || f.Len() != 2 {
			t.Fatalf("root %q: %v", root, err)
		}
	}
}
