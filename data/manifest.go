package data

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// ManifestName is the manifest file `sgan data build` writes at the top of
// a dataset.
const ManifestName = "dataset.json"

// ManifestFormat identifies the manifest's layout.
const ManifestFormat = "sgan-dataset/1"

// MaxManifestBytes bounds a manifest read back (about 200 bytes a slice).
const MaxManifestBytes = 1 << 30

// Manifest describes a dataset made by Build: where every slice came from,
// which subjects are in which split, and what was skipped and why. It is
// written as dataset.json, deterministically (sorted, no timestamps).
type Manifest struct {
	Format  string        `json:"format"`
	Options BuildSettings `json:"options"`
	Classes []string      `json:"classes"`
	// Splits lists the subjects of each split by class: split -> class ->
	// subject ids, sorted.
	Splits map[string]map[string][]string `json:"splits"`
	// Counts are the slices of each split by class.
	Counts   map[string]map[string]int `json:"slice_counts"`
	Subjects []ManifestSubject         `json:"subjects"`
	Volumes  []ManifestVolume          `json:"volumes"`
	// Skipped lists what was left out: whole subjects (no class, a class
	// not kept, conflicting classes; Source empty), sources that could not
	// be read, and series that could not be assembled or sliced.
	Skipped []ManifestSkip  `json:"skipped"`
	Slices  []ManifestSlice `json:"slices"`
}

// BuildSettings are the options a dataset was built with.
type BuildSettings struct {
	Root          string            `json:"root"`
	CSV           string            `json:"csv,omitempty"`
	IDCol         string            `json:"id_col,omitempty"`
	ClassCol      string            `json:"class_col,omitempty"`
	Class         string            `json:"class,omitempty"`
	Classes       []string          `json:"classes,omitempty"`
	Rename        map[string]string `json:"rename,omitempty"`
	SubjectRegex  string            `json:"subject_regex"`
	TestFrac      float64           `json:"test_frac"`
	Seed          uint64            `json:"seed"`
	Plane         string            `json:"plane"`
	Slices        string            `json:"slices"`
	Size          int               `json:"size"`
	Bits          int               `json:"bits"`
	LowPct        float64           `json:"low_pct"`
	HighPct       float64           `json:"high_pct"`
	MinForeground float64           `json:"min_fg"`
}

// ManifestSubject is one subject of the dataset.
type ManifestSubject struct {
	ID      string `json:"id"`
	Class   string `json:"class"`
	Split   string `json:"split"`
	Volumes int    `json:"volumes"`
	Slices  int    `json:"slices"`
}

// ManifestVolume is one volume sliced into the dataset.
type ManifestVolume struct {
	Subject string `json:"subject"`
	Source  string `json:"source"` // relative to the root, slash-separated: a NIfTI file or a DICOM folder
	Format  string `json:"format"` // "nifti" or "dicom"
	Series  string `json:"series,omitempty"`
	Class   string `json:"class"`
	Split   string `json:"split"`
	// Shape and Spacing are the canonical (RAS) volume's size in voxels
	// and voxel size in mm along R, A, S.
	Shape   [3]int     `json:"shape"`
	Spacing [3]float64 `json:"spacing_mm"`
	Reorientation
	Window [2]float64 `json:"window"` // intensities mapped to black and white
	Slices int        `json:"slices"`
}

// ManifestSkip is one thing left out of the dataset.
type ManifestSkip struct {
	Subject string `json:"subject,omitempty"`
	Source  string `json:"source,omitempty"`
	Series  string `json:"series,omitempty"`
	Reason  string `json:"reason"`
}

// ManifestSlice is one image file of the dataset.
type ManifestSlice struct {
	File    string `json:"file"` // relative to the dataset root: SPLIT/CLASS/NAME.png
	Subject string `json:"subject"`
	Source  string `json:"source"`
	Series  string `json:"series,omitempty"`
	Plane   string `json:"plane"`
	Index   int    `json:"index"` // along the plane's axis in the canonical RAS volume
	Class   string `json:"class"`
	Split   string `json:"split"`
}

// ReadManifest reads root/dataset.json. The error wraps fs.ErrNotExist when
// there is none.
func ReadManifest(root string) (*Manifest, error) {
	p := filepath.Join(root, ManifestName)
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	m, err := DecodeManifest(f)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", p, err)
	}
	return m, nil
}

// DecodeManifest reads a manifest (at most MaxManifestBytes).
func DecodeManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(io.LimitReader(r, MaxManifestBytes))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a dataset manifest: %s", oneLine(err.Error()))
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("manifest format %q, want %q (made by another tool or version)", oneLine(m.Format), ManifestFormat)
	}
	return &m, nil
}

// SubjectsInBothSplits are the subjects the manifest lists under both train
// and test, sorted.
func (m *Manifest) SubjectsInBothSplits() []string {
	in := func(split string) map[string]bool {
		s := map[string]bool{}
		for _, ids := range m.Splits[split] {
			for _, id := range ids {
				s[id] = true
			}
		}
		return s
	}
	tr, te := in("train"), in("test")
	var both []string
	for id := range tr {
		if te[id] {
			both = append(both, id)
		}
	}
	slices.Sort(both)
	return both
}

// SubjectLeaks checks a dataset against its manifest for subjects with
// images in both root/train and root/test, where they are now (files moved
// by hand count where they lie; files the manifest does not know are
// ignored), plus any the manifest itself lists in both splits. found is
// false, and nothing is checked, when root has no dataset.json.
func SubjectLeaks(root string) (leaks []string, found bool, err error) {
	if root == "" || root == "demo" {
		return nil, false, nil
	}
	m, err := ReadManifest(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, false, nil
		}
		return nil, true, err
	}
	subject := map[string]string{}
	for _, s := range m.Slices {
		subject[path.Base(s.File)] = s.Subject
	}
	where := map[string]map[string]bool{} // split -> subjects
	for _, split := range []string{"train", "test"} {
		where[split] = map[string]bool{}
		dir := filepath.Join(root, split)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == dir {
					return fs.SkipDir
				}
				return err
			}
			if !d.IsDir() && IsImageFile(d.Name()) {
				if id, ok := subject[d.Name()]; ok {
					where[split][id] = true
				}
			}
			return nil
		})
		if err != nil {
			return nil, true, fmt.Errorf("data: reading %s: %w", dir, err)
		}
	}
	set := map[string]bool{}
	for id := range where["train"] {
		if where["test"][id] {
			set[id] = true
		}
	}
	for _, id := range m.SubjectsInBothSplits() {
		set[id] = true
	}
	for id := range set {
		leaks = append(leaks, id)
	}
	slices.Sort(leaks)
	return leaks, true, nil
}

// LeakWarning is the one-line warning for subjects in both splits ("" when
// there are none).
func LeakWarning(root string, leaks []string) string {
	if len(leaks) == 0 {
		return ""
	}
	shown := leaks
	if len(shown) > 5 {
		shown = shown[:5]
	}
	more := ""
	if len(leaks) > len(shown) {
		more = fmt.Sprintf(" and %d more", len(leaks)-len(shown))
	}
	return fmt.Sprintf("%d subjects have slices in both train and test of %s (%s%s): test-split numbers are inflated; rebuild with sgan data build, whose split is by subject",
		len(leaks), root, oneLine(strings.Join(shown, ", ")), more)
}
