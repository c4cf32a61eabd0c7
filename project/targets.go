package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"sgan/data"
)

// Target is one image to project.
type Target struct {
	Name  string    // the file, as found
	Dir   string    // the name of its folder (a class folder in the ADNI layout)
	Class int       // label to project with, -1 for none (set by the caller)
	Pix   []float32 // C*R*R values in [-1, 1], CHW
	W, H  int       // the file's size before resizing
}

// Resized reports whether the file had to be resized to side.
func (t Target) Resized(side int) bool { return t.W != side || t.H != side }

// TargetFiles expands paths into image files: a file stands for itself (whatever its
// extension: decoding decides), a folder for every PNG and JPEG under it, recursively, sorted.
// A missing path or a folder without images is an error naming it.
func TargetFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("project: %s: no such file or folder", p)
			}
			return nil, fmt.Errorf("project: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && data.IsImageFile(q) {
				found = append(found, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("project: %s: %w", p, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("project: %s: no PNG or JPEG images in this folder", p)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// LoadTarget decodes an image file and converts it as the training loader does: resized to
// side x side (Catmull-Rom; a non-square image is stretched), converted to ch channels, scaled
// to [-1, 1]. A file that is not a PNG or JPEG is a one-line error naming it.
func LoadTarget(path string, side, ch int) (Target, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Target{}, fmt.Errorf("project: %s: no such file", path)
		}
		return Target{}, fmt.Errorf("project: %w", err)
	}
	defer f.Close()
	img, _, err := data.DecodeImage(f)
	if err != nil {
		var le *data.LimitError
		if errors.As(err, &le) {
			return Target{}, fmt.Errorf("project: %s: %w", path, err)
		}
		return Target{}, fmt.Errorf("project: %s: not a PNG or JPEG image (%v)", path, err)
	}
	b := img.Bounds()
	t := Target{Name: path, Dir: filepath.Base(filepath.Dir(path)), Class: -1, W: b.Dx(), H: b.Dy(), Pix: make([]float32, ch*side*side)}
	data.Transform(t.Pix, data.ToPlanes(img, side, ch), side, ch, false, data.Augment{}, nil)
	return t, nil
}

// LoadTargets loads every file of TargetFiles(paths).
func LoadTargets(paths []string, side, ch int) ([]Target, error) {
	files, err := TargetFiles(paths)
	if err != nil {
		return nil, err
	}
	ts := make([]Target, len(files))
	for i, p := range files {
		if ts[i], err = LoadTarget(p, side, ch); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// MeanImage is the pixel-wise mean of the targets: the trivial baseline a reconstruction is
// compared with (the mean training image).
func MeanImage(ts []Target) []float32 {
	if len(ts) == 0 {
		return nil
	}
	out := make([]float32, len(ts[0].Pix))
	for _, t := range ts {
		for i, v := range t.Pix {
			out[i] += v
		}
	}
	for i := range out {
		out[i] /= float32(len(ts))
	}
	return out
}
