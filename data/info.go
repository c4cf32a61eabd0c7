package data

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Info describes a dataset for `sgan data info`: what it is and, per split, its classes and
// counts, image sizes and colour modes, and unreadable files.
type Info struct {
	Origin string      // the root, or what it is ("demo (embedded Colin27 slices)")
	Kind   string      // "folders" or "CIFAR-10 binary release, 32x32 RGB"
	Splits []SplitInfo // in Splits order; one unnamed split for a folder without split folders
	root   string      // the folder, when it is one (its dataset.json is described too)
}

// SplitInfo is one split of a dataset.
type SplitInfo struct {
	Name     string // "" when the dataset has no split folders
	Err      error  // the split could not be opened
	Classes  []string
	Empty    []string            // class folders without images (left out of Classes)
	Counts   []int               // images per class
	Sizes    map[image.Point]int // images per size (folders only)
	Modes    map[string]int      // images per colour mode: gray, rgb, rgba, paletted, other
	Bad      int                 // files that could not be read
	FirstBad error
}

// Total is the number of images in the split.
func (s SplitInfo) Total() int {
	n := 0
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Inspect reads every image header of the dataset at root (a folder dataset, a CIFAR-10 binary
// folder, or "" / "demo" for the embedded data).
func Inspect(root string) (*Info, error) {
	if root != "" && root != "demo" && IsCIFAR10Dir(root) {
		info := &Info{Origin: root, Kind: "CIFAR-10 binary release, 32x32 RGB"}
		for _, split := range []string{"train", "test"} {
			si := SplitInfo{Name: split}
			ds, err := OpenCIFAR10(root, split == "train")
			if err != nil {
				si.Err = err
			} else {
				si.Classes = ds.Classes()
				si.Counts = make([]int, len(si.Classes))
				for i := 0; i < ds.Len(); i++ {
					si.Counts[ds.Label(i)]++
				}
			}
			info.Splits = append(info.Splits, si)
		}
		return info, nil
	}
	var fsys fs.FS
	info := &Info{Origin: root, Kind: "folders"}
	if root == "" || root == "demo" {
		fsys, info.Origin = Demo(), "demo (embedded Colin27 slices)"
	} else {
		st, err := os.Stat(root)
		if err != nil || !st.IsDir() {
			_, err := OpenDir(root, "")
			return nil, err
		}
		fsys = os.DirFS(root)
		info.root = root
	}
	splits := FolderSplits(fsys, ".")
	if len(splits) == 0 {
		splits = []string{""}
	}
	for _, split := range splits {
		si := SplitInfo{Name: split, Sizes: map[image.Point]int{}, Modes: map[string]int{}}
		f, err := OpenFolder(fsys, ".", split)
		if err != nil {
			si.Err = err
			info.Splits = append(info.Splits, si)
			continue
		}
		si.Classes = f.Classes()
		si.Empty = f.EmptyClasses()
		si.Counts = make([]int, len(si.Classes))
		for i := 0; i < f.Len(); i++ {
			si.Counts[f.Label(i)]++
			cfg, err := f.Config(i)
			if err != nil {
				if si.Bad == 0 {
					si.FirstBad = err
				}
				si.Bad++
				continue
			}
			si.Sizes[image.Pt(cfg.Width, cfg.Height)]++
			si.Modes[colorMode(cfg.ColorModel)]++
		}
		info.Splits = append(info.Splits, si)
	}
	return info, nil
}

// Write prints the description as `sgan data info` shows it.
func (info *Info) Write(w io.Writer) error {
	if info.Kind == "folders" {
		fmt.Fprintf(w, "%s\n", info.Origin)
	} else {
		fmt.Fprintf(w, "%s: %s\n", info.Origin, info.Kind)
	}
	for _, s := range info.Splits {
		name := s.Name
		if name == "" {
			name = "(no split folders)"
		}
		if s.Err != nil {
			fmt.Fprintf(w, "  %s: %v\n", name, s.Err)
			continue
		}
		if s.FirstBad != nil {
			fmt.Fprintf(w, "  bad file: %v\n", s.FirstBad)
		}
		fmt.Fprintf(w, "  %s: %d images, %d classes\n", name, s.Total(), len(s.Classes))
		for i, cl := range s.Classes {
			if cl == "" {
				cl = "(unnamed)"
			}
			fmt.Fprintf(w, "    %-12s %d\n", cl, s.Counts[i])
		}
		for _, e := range s.Empty {
			fmt.Fprintf(w, "    empty class folder (ignored; refused with data.conditional): %s\n", e)
		}
		if s.Sizes == nil {
			continue
		}
		fmt.Fprintf(w, "    sizes: %s\n", describeSizes(s.Sizes))
		fmt.Fprintf(w, "    colour: %s\n", describeModes(s.Modes))
		if s.Bad > 0 {
			fmt.Fprintf(w, "    %d files could not be read\n", s.Bad)
		}
	}
	if info.Kind == "folders" && info.root != "" {
		writeManifestInfo(w, info.root)
	}
	return nil
}

// WriteSplits prints subjects and slices per split and class.
func (m *Manifest) WriteSplits(w io.Writer) {
	for _, split := range []string{"train", "test"} {
		byClass := m.Splits[split]
		if byClass == nil {
			continue
		}
		var parts []string
		n := 0
		for _, cl := range m.Classes {
			if ids := byClass[cl]; len(ids) > 0 {
				parts = append(parts, fmt.Sprintf("%s %d (%d slices)", cl, len(ids), m.Counts[split][cl]))
				n += len(ids)
			}
		}
		fmt.Fprintf(w, "  %-5s %d subjects: %s\n", split+":", n, strings.Join(parts, ", "))
	}
}

// writeManifestInfo adds what a dataset.json says (sgan data build) to `sgan data info`:
// subjects per split, and whether a subject has slices in both train and test.
func writeManifestInfo(w io.Writer, root string) {
	m, err := ReadManifest(root)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(w, "  %v\n", err)
		}
		return
	}
	o := m.Options
	fmt.Fprintf(w, "  %s: built from %s (%s slices, %s, test fraction %g, seed %d)\n", ManifestName, o.Root, o.Plane, o.Slices, o.TestFrac, o.Seed)
	m.WriteSplits(w)
	if len(m.Skipped) > 0 {
		fmt.Fprintf(w, "  skipped when built: %d subjects or sources (see \"skipped\" in %s)\n", len(m.Skipped), ManifestName)
	}
	leaks, _, err := SubjectLeaks(root)
	switch {
	case err != nil:
		fmt.Fprintf(w, "  %v\n", err)
	case len(leaks) > 0:
		fmt.Fprintf(w, "  WARNING: %s\n", LeakWarning(root, leaks))
	default:
		n := 0
		for _, byClass := range m.Splits {
			for _, ids := range byClass {
				n += len(ids)
			}
		}
		if len(m.Splits["test"]) == 0 {
			fmt.Fprintf(w, "  %d subjects, no test split\n", n)
		} else {
			fmt.Fprintf(w, "  no subject has slices in both train and test\n")
		}
	}
}

func colorMode(m color.Model) string {
	switch m {
	case color.GrayModel, color.Gray16Model:
		return "gray"
	case color.YCbCrModel, color.RGBAModel, color.RGBA64Model, color.CMYKModel:
		return "rgb"
	case color.NRGBAModel, color.NRGBA64Model:
		return "rgba"
	}
	if _, ok := m.(color.Palette); ok {
		return "paletted"
	}
	return "other"
}

func describeSizes(sizes map[image.Point]int) string {
	if len(sizes) == 0 {
		return "none readable"
	}
	pts := make([]image.Point, 0, len(sizes))
	for p := range sizes {
		pts = append(pts, p)
	}
	slices.SortFunc(pts, func(a, b image.Point) int { return sizes[b] - sizes[a] })
	if len(pts) <= 5 {
		var parts []string
		for _, p := range pts {
			parts = append(parts, fmt.Sprintf("%dx%d (%d)", p.X, p.Y, sizes[p]))
		}
		return strings.Join(parts, ", ")
	}
	minW, minH, maxW, maxH := pts[0].X, pts[0].Y, pts[0].X, pts[0].Y
	for _, p := range pts {
		minW, minH, maxW, maxH = min(minW, p.X), min(minH, p.Y), max(maxW, p.X), max(maxH, p.Y)
	}
	return fmt.Sprintf("%d distinct, width %d-%d, height %d-%d", len(pts), minW, maxW, minH, maxH)
}

func describeModes(modes map[string]int) string {
	var parts []string
	for _, m := range []string{"gray", "rgb", "rgba", "paletted", "other"} {
		if modes[m] > 0 {
			parts = append(parts, fmt.Sprintf("%s (%d)", m, modes[m]))
		}
	}
	if len(parts) == 0 {
		return "none readable"
	}
	return strings.Join(parts, ", ") + "; gray is loaded as is, colour is converted to the configured channel count"
}
