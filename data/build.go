package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// DefaultSubjectRegex finds ADNI subject ids (site_S_number, e.g.
// 002_S_0295) anywhere in a path.
const DefaultSubjectRegex = `\d{3}_S_\d{4}`

// BuildOptions configure Build. Zero values take the defaults noted.
type BuildOptions struct {
	Root string // folder of subjects: DICOM series folders and/or .nii/.nii.gz files, at any depth
	Out  string // dataset folder to write (must be new or empty, unless Overwrite)

	// CSV is the diagnosis table ("" = none: every subject gets Class).
	// IDCol and ClassCol name its columns ("" = IDColumns, ClassColumns).
	CSV, IDCol, ClassCol string
	Class                string            // class of every subject when there is no CSV
	Classes              []string          // keep only these classes (after Rename); nil = all
	Rename               map[string]string // class values to rename, e.g. CN -> NC
	// SubjectRegex finds a subject id in a source's path relative to Root
	// (its first group if it has one). Default DefaultSubjectRegex; a path
	// it does not match belongs to the subject named by its first folder
	// (or, for a file directly in Root, by the file's name).
	SubjectRegex string

	TestFrac float64 // fraction of each class's subjects in the test split (default 0: train only)
	Seed     uint64  // of the split

	Plane         Plane
	Slices        SliceSelect // zero value: all
	Size          int         // output side in pixels (0: native)
	Bits          int         // 8 (default) or 16
	LowPct        float64     // window percentiles of the nonzero voxels (defaults 0.5, 99.5)
	HighPct       float64
	MinForeground float64 // default 0.05; negative keeps every slice

	Workers   int       // volumes decoded at once (default GOMAXPROCS); the output does not depend on it
	Overwrite bool      // replace Out's train/, test/ and dataset.json
	Progress  io.Writer // progress bar over volumes (nil: none)
}

func (o BuildOptions) withDefaults() BuildOptions {
	if o.SubjectRegex == "" {
		o.SubjectRegex = DefaultSubjectRegex
	}
	if o.Slices.Mode == "" {
		o.Slices.Mode = "all"
	}
	if o.Bits == 0 {
		o.Bits = 8
	}
	if o.LowPct == 0 && o.HighPct == 0 {
		o.LowPct, o.HighPct = 0.5, 99.5
	}
	if o.MinForeground == 0 {
		o.MinForeground = 0.05
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// buildSource is a NIfTI file or a folder of DICOM files.
type buildSource struct {
	rel     string   // relative to Root, slash-separated ("." for Root itself)
	format  string   // "nifti" or "dicom"
	files   []string // the DICOM files (paths on disk)
	subject string
	class   string
	tag     string // unique file-name stem of its slices
}

// volumeOut is one volume of a source, sliced.
type volumeOut struct {
	series string
	vol    ManifestVolume
	slices []sliceOut
	err    string // the volume was skipped
}

type sliceOut struct {
	index int
	name  string // file name
}

// sourceOut is what became of a source.
type sourceOut struct {
	err     string // the source could not be read at all
	volumes []volumeOut
}

const stagingDir = ".sgan-build-tmp"

// Build turns a folder of subjects into a slice dataset in the ADNI layout,
// Out/{train,test}/CLASS/*.png, with a subject-disjoint split and a manifest
// (Out/dataset.json, see Manifest):
//
//  1. Sources are found under Root: .nii/.nii.gz files, and folders holding
//     DICOM files (DICM marker, or a .dcm/.dicom/.ima name). Each belongs to
//     the subject SubjectRegex finds in its path.
//  2. Each subject gets its class from the CSV (or Class). Subjects with no
//     class, several classes, or a class not in Classes are skipped and
//     listed in the manifest.
//  3. Every volume (a NIfTI file, or a DICOM series) is read, turned to
//     canonical RAS (Canonical), windowed by percentiles of its nonzero
//     voxels, and the chosen slices of Plane are written as PNGs named
//     SOURCE_zKKK.png (axial; _yKKK coronal, _xKKK sagittal, KKK along the
//     canonical axis). A volume or source that cannot be read is skipped
//     and listed with its reason; the build goes on.
//  4. The subjects with at least one slice are split per class: sorted,
//     shuffled by Seed, round(TestFrac x n) to test (at least one when
//     TestFrac > 0 and the class has two subjects or more). All volumes of a
//     subject go to its split, so no subject is in both.
//
// The output is the same for the same inputs and options, whatever Workers.
func Build(opt BuildOptions) (*Manifest, error) {
	opt = opt.withDefaults()
	re, err := opt.validate()
	if err != nil {
		return nil, err
	}
	var diag *Diagnoses
	if opt.CSV != "" {
		if diag, err = ReadDiagnosesFile(opt.CSV, opt.IDCol, opt.ClassCol, opt.Rename); err != nil {
			return nil, err
		}
	}
	sources, err := findSources(opt.Root, opt.Out)
	if err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, fmt.Errorf("data: %s: no NIfTI (.nii, .nii.gz) or DICOM files found (give the folder of downloaded scans, e.g. the ADNI folder)", opt.Root)
	}
	m := &Manifest{Format: ManifestFormat, Options: opt.settings(diag), Classes: []string{}, Subjects: []ManifestSubject{},
		Volumes: []ManifestVolume{}, Skipped: []ManifestSkip{}, Slices: []ManifestSlice{}}
	// Subjects and classes.
	skippedSubject := map[string]bool{}
	var kept []*buildSource
	for _, s := range sources {
		s.subject = subjectOf(re, s, opt.Root)
		reason := ""
		switch {
		case diag == nil:
			s.class = opt.Class
		case diag.Conflict[s.subject] != nil:
			reason = fmt.Sprintf("the CSV gives several classes (%s) in column %s (use a per-subject column such as DX_bl, or --rename to merge them)", strings.Join(diag.Conflict[s.subject], ", "), diag.ClassCol)
		case diag.Class[s.subject] == "":
			reason = fmt.Sprintf("no class in the CSV (no row with %s %q and a value in %s)", diag.IDCol, s.subject, diag.ClassCol)
		default:
			s.class = diag.Class[s.subject]
		}
		if reason == "" && !ValidClassName(s.class) {
			reason = fmt.Sprintf("class %q cannot be a folder name (map it to one with --rename)", oneLine(s.class))
		}
		if reason == "" && opt.Classes != nil && !slices.Contains(opt.Classes, s.class) {
			reason = fmt.Sprintf("class %s is not in --classes", s.class)
		}
		if reason != "" {
			if !skippedSubject[s.subject] {
				skippedSubject[s.subject] = true
				m.Skipped = append(m.Skipped, ManifestSkip{Subject: s.subject, Reason: oneLine(reason)})
			}
			continue
		}
		kept = append(kept, s)
	}
	slices.SortFunc(kept, func(a, b *buildSource) int {
		if c := strings.Compare(a.subject, b.subject); c != 0 {
			return c
		}
		return strings.Compare(a.rel, b.rel)
	})
	assignTags(kept)
	if err := prepareOut(opt); err != nil {
		return nil, err
	}
	stage := filepath.Join(opt.Out, stagingDir)
	if err := os.MkdirAll(stage, 0o755); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}

	// Decode and slice, in parallel; results by source index.
	outs := make([]sourceOut, len(kept))
	bar := newProgressBar(opt.Progress, "build", "volumes", len(kept))
	var wg sync.WaitGroup
	next := make(chan int)
	var fatalMu sync.Mutex
	var fatal error
	for w := 0; w < min(opt.Workers, max(1, len(kept))); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				o, err := processSourceSafe(kept[i], opt, stage)
				if err != nil {
					fatalMu.Lock()
					fatal = firstErr(fatal, err)
					fatalMu.Unlock()
				}
				outs[i] = o
				bar.add(1)
			}
		}()
	}
	for i := range kept {
		next <- i
	}
	close(next)
	wg.Wait()
	bar.finish()
	if fatal != nil {
		return nil, fatal
	}

	// Split the subjects that gave slices.
	bySubject := map[string]*ManifestSubject{}
	var subjects []string
	for i, s := range kept {
		for _, v := range outs[i].volumes {
			if v.err != "" || len(v.slices) == 0 {
				continue
			}
			ms := bySubject[s.subject]
			if ms == nil {
				ms = &ManifestSubject{ID: s.subject, Class: s.class}
				bySubject[s.subject] = ms
				subjects = append(subjects, s.subject)
			}
			ms.Volumes++
			ms.Slices += len(v.slices)
		}
	}
	split := splitSubjects(subjects, func(id string) string { return bySubject[id].Class }, opt.TestFrac, opt.Seed)
	m.Splits = map[string]map[string][]string{}
	m.Counts = map[string]map[string]int{}
	classSet := map[string]bool{}
	for _, id := range subjects {
		ms := bySubject[id]
		ms.Split = split[id]
		if m.Splits[ms.Split] == nil {
			m.Splits[ms.Split] = map[string][]string{}
			m.Counts[ms.Split] = map[string]int{}
		}
		m.Splits[ms.Split][ms.Class] = append(m.Splits[ms.Split][ms.Class], id)
		m.Counts[ms.Split][ms.Class] += ms.Slices
		classSet[ms.Class] = true
	}
	for c := range classSet {
		m.Classes = append(m.Classes, c)
	}
	slices.Sort(m.Classes)
	for _, id := range subjects {
		m.Subjects = append(m.Subjects, *bySubject[id])
	}

	// Move the slices into place and list everything.
	for i, s := range kept {
		o := outs[i]
		if o.err != "" {
			m.Skipped = append(m.Skipped, ManifestSkip{Subject: s.subject, Source: s.rel, Reason: oneLine(o.err)})
			continue
		}
		for _, v := range o.volumes {
			if v.err != "" {
				m.Skipped = append(m.Skipped, ManifestSkip{Subject: s.subject, Source: s.rel, Series: v.series, Reason: oneLine(v.err)})
				continue
			}
			if len(v.slices) == 0 {
				continue
			}
			sp := split[s.subject]
			v.vol.Split = sp
			m.Volumes = append(m.Volumes, v.vol)
			dir := filepath.Join(opt.Out, sp, s.class)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("data: %w", err)
			}
			for _, sl := range v.slices {
				if err := os.Rename(filepath.Join(stage, sl.name), filepath.Join(dir, sl.name)); err != nil {
					return nil, fmt.Errorf("data: moving a slice into place: %w", err)
				}
				m.Slices = append(m.Slices, ManifestSlice{File: path.Join(sp, s.class, sl.name), Subject: s.subject, Source: s.rel, Series: v.series,
					Plane: opt.Plane.String(), Index: sl.index, Class: s.class, Split: sp})
			}
		}
	}
	if err := os.RemoveAll(stage); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	slices.SortStableFunc(m.Skipped, func(a, b ManifestSkip) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		return strings.Compare(a.Source, b.Source)
	})
	if err := writeManifest(filepath.Join(opt.Out, ManifestName), m); err != nil {
		return nil, err
	}
	if len(m.Slices) == 0 {
		return m, fmt.Errorf("data: no slices were written (see \"skipped\" in %s for why)", filepath.Join(opt.Out, ManifestName))
	}
	return m, nil
}

// firstErr keeps the first error.
func firstErr(have, err error) error {
	if have != nil {
		return have
	}
	return err
}

// validate checks the options and compiles the subject regex.
func (o BuildOptions) validate() (*regexp.Regexp, error) {
	if o.Root == "" {
		return nil, fmt.Errorf("data: no input folder (give the folder of downloaded scans)")
	}
	st, err := os.Stat(o.Root)
	if err != nil || !st.IsDir() {
		return nil, fmt.Errorf("data: %s: no such folder (give the folder of downloaded scans, e.g. the ADNI folder)", o.Root)
	}
	if o.Out == "" {
		return nil, fmt.Errorf("data: no output folder (give --out)")
	}
	if o.CSV == "" && !ValidClassName(o.Class) {
		if o.Class == "" {
			return nil, fmt.Errorf("data: no diagnoses: give --csv with the subjects' classes, or --class NAME for all subjects")
		}
		return nil, fmt.Errorf("data: class %q cannot be a folder name (use letters, digits and ._+-)", o.Class)
	}
	for _, c := range o.Classes {
		if !ValidClassName(c) {
			return nil, fmt.Errorf("data: --classes: %q cannot be a folder name", c)
		}
	}
	if !(o.TestFrac >= 0 && o.TestFrac < 1) {
		return nil, fmt.Errorf("data: test fraction %g is out of range (give a value in [0, 1), e.g. 0.2)", o.TestFrac)
	}
	if o.Size < 0 || o.Size > MaxSliceSide {
		return nil, fmt.Errorf("data: size %d is out of range (0 = native, at most %d)", o.Size, MaxSliceSide)
	}
	if o.Bits != 8 && o.Bits != 16 {
		return nil, fmt.Errorf("data: %d bits: give 8 or 16", o.Bits)
	}
	if !(o.LowPct >= 0 && o.LowPct < o.HighPct && o.HighPct <= 100) {
		return nil, fmt.Errorf("data: need 0 <= low percentile < high percentile <= 100 (got %g, %g)", o.LowPct, o.HighPct)
	}
	if o.Plane < Axial || o.Plane > Sagittal {
		return nil, fmt.Errorf("data: unknown plane %d", o.Plane)
	}
	re, err := regexp.Compile(o.SubjectRegex)
	if err != nil {
		return nil, fmt.Errorf("data: --subject-regex: %v", err)
	}
	return re, nil
}

func (o BuildOptions) settings(d *Diagnoses) BuildSettings {
	s := BuildSettings{Root: o.Root, CSV: o.CSV, Classes: o.Classes, SubjectRegex: o.SubjectRegex, TestFrac: o.TestFrac, Seed: o.Seed,
		Plane: o.Plane.String(), Slices: o.Slices.String(), Size: o.Size, Bits: o.Bits, LowPct: o.LowPct, HighPct: o.HighPct, MinForeground: o.MinForeground}
	if len(o.Rename) > 0 {
		s.Rename = o.Rename
	}
	if d != nil {
		s.IDCol, s.ClassCol = d.IDCol, d.ClassCol
	} else {
		s.Class = o.Class
	}
	return s
}

// skipExt are file types never taken for DICOM (not even opened).
var skipExt = map[string]bool{".xml": true, ".csv": true, ".tsv": true, ".txt": true, ".json": true, ".png": true, ".jpg": true, ".jpeg": true,
	".gif": true, ".md": true, ".pdf": true, ".zip": true, ".tar": true, ".gz": true, ".hdr": true, ".img": true, ".mat": true, ".log": true,
	".html": true, ".bval": true, ".bvec": true, ".py": true, ".sh": true}

// findSources walks root (skipping hidden entries, DICOMDIR index files and
// out) for NIfTI files and folders of DICOM files, sorted by path.
func findSources(root, out string) ([]*buildSource, error) {
	absOut, _ := filepath.Abs(out)
	dicomDirs := map[string][]string{}
	var srcs []*buildSource
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if a, _ := filepath.Abs(p); a == absOut {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			// A linked file counts (linked folders are not followed).
			if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		name := strings.ToLower(d.Name())
		switch {
		case strings.HasSuffix(name, ".nii") || strings.HasSuffix(name, ".nii.gz"):
			srcs = append(srcs, &buildSource{rel: filepath.ToSlash(rel), format: "nifti"})
		case skipExt[filepath.Ext(name)] || name == "dicomdir":
		case IsDICOMFile(p):
			dir := filepath.Dir(rel)
			dicomDirs[dir] = append(dicomDirs[dir], p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("data: reading %s: %w", root, err)
	}
	for dir, files := range dicomDirs {
		slices.Sort(files)
		srcs = append(srcs, &buildSource{rel: filepath.ToSlash(dir), format: "dicom", files: files})
	}
	slices.SortFunc(srcs, func(a, b *buildSource) int { return strings.Compare(a.rel, b.rel) })
	return srcs, nil
}

// subjectOf finds the subject id of a source.
func subjectOf(re *regexp.Regexp, s *buildSource, root string) string {
	if m := re.FindStringSubmatch(s.rel); m != nil {
		for _, g := range m[1:] {
			if g != "" {
				return g
			}
		}
		if m[0] != "" {
			return m[0]
		}
	}
	first, _, nested := strings.Cut(s.rel, "/")
	switch {
	case nested:
		return first
	case s.rel == ".":
		return filepath.Base(filepath.Clean(root))
	case s.format == "nifti":
		return VolumeBase(s.rel)
	}
	return first
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// assignTags gives each source a unique file-name stem made of its path.
func assignTags(srcs []*buildSource) {
	used := map[string]bool{}
	for _, s := range srcs {
		rel := s.rel
		if s.format == "nifti" {
			rel = path.Join(path.Dir(rel), VolumeBase(rel))
		}
		if rel == "." {
			rel = s.subject
		}
		t := strings.Trim(unsafeChars.ReplaceAllString(rel, "_"), "._")
		if t == "" {
			t = "volume"
		}
		if len(t) > 150 {
			h := fnv.New32a()
			h.Write([]byte(t))
			t = fmt.Sprintf("%s_%08x", t[:140], h.Sum32())
		}
		base := t
		for n := 2; used[strings.ToLower(t)]; n++ {
			t = fmt.Sprintf("%s-%d", base, n)
		}
		used[strings.ToLower(t)] = true
		s.tag = t
	}
}

// prepareOut makes sure out can take the dataset.
func prepareOut(opt BuildOptions) error {
	absRoot, _ := filepath.Abs(opt.Root)
	absOut, _ := filepath.Abs(opt.Out)
	if rel, err := filepath.Rel(absOut, absRoot); err == nil && (rel == "." || !strings.HasPrefix(rel, "..")) {
		return fmt.Errorf("data: output folder %s holds the input %s (write the dataset to another folder)", opt.Out, opt.Root)
	}
	entries, err := os.ReadDir(opt.Out)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(opt.Out, 0o755)
	}
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !opt.Overwrite {
		return fmt.Errorf("data: %s exists and is not empty (choose a new folder, or pass --overwrite to replace its train/, test/ and %s)", opt.Out, ManifestName)
	}
	for _, n := range []string{"train", "test", ManifestName, stagingDir} {
		if err := os.RemoveAll(filepath.Join(opt.Out, n)); err != nil {
			return fmt.Errorf("data: %w", err)
		}
	}
	return nil
}

// processSourceSafe is processSource with a panic (a parser's bug on a hostile file) reported as
// the source's problem, so the source is skipped like any unreadable one: it runs on a worker
// goroutine, where nothing else could recover it.
func processSourceSafe(s *buildSource, opt BuildOptions, stage string) (o sourceOut, err error) {
	defer func() {
		if r := recover(); r != nil {
			o, err = sourceOut{err: oneLine(fmt.Sprintf("internal error while reading it: %v (please report it with this file)", r))}, nil
		}
	}()
	return processSource(s, opt, stage)
}

// processSource reads one source and writes its slices into stage. Problems
// with the data are reported in the result; the error is for failures to
// write the output.
func processSource(s *buildSource, opt BuildOptions, stage string) (sourceOut, error) {
	var o sourceOut
	abs := filepath.Join(opt.Root, filepath.FromSlash(s.rel))
	type vol struct {
		series string
		v      *Volume
		err    error
	}
	var vols []vol
	switch s.format {
	case "nifti":
		f, err := os.Open(abs)
		if err != nil {
			o.err = oneLine(err.Error())
			return o, nil
		}
		v, err := ReadNIfTI(f)
		f.Close()
		if err != nil {
			o.err = err.Error()
			return o, nil
		}
		vols = append(vols, vol{v: v})
	default:
		series, err := ReadDICOMFolder(s.files)
		if err != nil {
			o.err = err.Error()
			return o, nil
		}
		for _, sr := range series {
			vols = append(vols, vol{series: sr.UID, v: sr.Volume, err: sr.Err})
		}
	}
	for n, vl := range vols {
		vo := volumeOut{series: vl.series}
		tag := s.tag
		if len(vols) > 1 {
			tag = fmt.Sprintf("%s+s%d", tag, n+1) // '+' is never in a tag: no clash
		}
		if vl.err != nil {
			vo.err = vl.err.Error()
			o.volumes = append(o.volumes, vo)
			continue
		}
		c, ro, err := Canonical(vl.v)
		if err != nil {
			vo.err = err.Error()
			o.volumes = append(o.volumes, vo)
			continue
		}
		res, err := cutVolume(c, cutOptions{plane: opt.Plane, size: opt.Size, bits: opt.Bits, lowPct: opt.LowPct, highPct: opt.HighPct, minFg: opt.MinForeground, sel: opt.Slices})
		if err != nil {
			vo.err = err.Error()
			o.volumes = append(o.volumes, vo)
			continue
		}
		if len(res.slices) == 0 {
			vo.err = fmt.Sprintf("no %s slice has %.0f%% foreground pixels (lower --min-fg)", opt.Plane, 100*opt.MinForeground)
			o.volumes = append(o.volumes, vo)
			continue
		}
		vo.vol = ManifestVolume{Subject: s.subject, Source: s.rel, Format: s.format, Series: vl.series, Class: s.class,
			Shape: c.Dim, Spacing: roundAll(c.Pixdim), Reorientation: ro, Window: [2]float64{round6(res.lo), round6(res.hi)}, Slices: len(res.slices)}
		for _, sl := range res.slices {
			name := fmt.Sprintf("%s_%c%03d.png", tag, opt.Plane.Letter(), sl.index)
			if err := writePNGFile(filepath.Join(stage, name), sl.img); err != nil {
				return o, err
			}
			vo.slices = append(vo.slices, sliceOut{index: sl.index, name: name})
		}
		o.volumes = append(o.volumes, vo)
	}
	return o, nil
}

func round6(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	p := math.Pow(10, 6-math.Ceil(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

func roundAll(v [3]float64) [3]float64 {
	return [3]float64{round6(v[0]), round6(v[1]), round6(v[2])}
}

func writePNGFile(name string, img image.Image) error {
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, img); err != nil {
		return fmt.Errorf("data: encoding %s: %w", name, err)
	}
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return nil
}

// splitSubjects assigns each subject to "train" or "test", per class: the
// class's subjects ordered by a hash of (seed, id), the first
// round(frac x n) to test (at least one when frac > 0 and n >= 2, at most
// n-1). A subject's split depends only on its class's subject list and seed.
func splitSubjects(ids []string, classOf func(string) string, frac float64, seed uint64) map[string]string {
	byClass := map[string][]string{}
	for _, id := range ids {
		byClass[classOf(id)] = append(byClass[classOf(id)], id)
	}
	out := map[string]string{}
	for _, members := range byClass {
		key := func(id string) uint64 {
			h := fnv.New64a()
			h.Write([]byte(id))
			return mix64(h.Sum64() ^ mix64(seed^0x5bd1e9955bd1e995))
		}
		slices.SortFunc(members, func(a, b string) int {
			ka, kb := key(a), key(b)
			switch {
			case ka < kb:
				return -1
			case ka > kb:
				return 1
			}
			return strings.Compare(a, b)
		})
		n := len(members)
		nTest := int(math.Round(frac * float64(n)))
		if frac > 0 && n >= 2 {
			nTest = min(max(nTest, 1), n-1)
		} else if n < 2 {
			nTest = 0
		}
		for i, id := range members {
			if i < nTest {
				out[id] = "test"
			} else {
				out[id] = "train"
			}
		}
	}
	return out
}

// writeManifest writes m as indented JSON, atomically.
func writeManifest(name string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	if err := os.Rename(tmp, name); err != nil {
		return fmt.Errorf("data: %w", err)
	}
	return nil
}
