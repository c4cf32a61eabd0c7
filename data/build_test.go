package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// makeDownloads writes an ADNI-like download folder and its diagnosis CSV:
// DICOM series in ADNI/<subject>/MPRAGE/<date>/<image id>/, NIfTI files
// named ADNI_<subject>_MR_..., broken series and files, and subjects the
// CSV does not classify. Every volume holds the reference anatomy in some
// orientation. It returns the root and the CSV path.
func makeDownloads(t *testing.T) (root, csvPath string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "downloads")
	dcm := func(subject, visit, image, codes, ts string) {
		dir := filepath.Join(root, "ADNI", subject, "MPRAGE", visit, image)
		storage{codes, identity3}.writeDICOM(t, dir, ts, uint64(len(subject)+len(image)))
		writeFile(t, filepath.Join(dir, "..", image+".xml"), []byte("<metadata/>"))
	}
	nii := func(subject, image, codes string, qform bool) {
		storage{codes, identity3}.writeNIfTI(t, filepath.Join(root, "nifti", "ADNI_"+subject+"_MR_MPRAGE_br_raw_"+image+".nii.gz"), qform)
	}
	// AD: 002_S_0001 (two visits, DICOM), 002_S_0003 (a corrupt DICOM series
	// and a good NIfTI), 003_S_0005, 003_S_0012, 003_S_0013.
	dcm("002_S_0001", "2006-01-10_09_00_00.0", "I1001", "LPS", tsExplicitLE)
	dcm("002_S_0001", "2007-01-12_09_00_00.0", "I1002", "PIR", tsImplicitLE)
	dcm("002_S_0003", "2006-02-01_10_00_00.0", "I3001", "LPS", tsExplicitLE)
	writeFile(t, filepath.Join(root, "ADNI", "002_S_0003", "MPRAGE", "2006-02-01_10_00_00.0", "I3001", "IM_0003.dcm"), bytes.Repeat([]byte("garbage!"), 40))
	nii("002_S_0003", "I3002", "RAS", false)
	nii("003_S_0005", "I5001", "PIR", false)
	nii("003_S_0005", "I5002", "LPS", false) // a second visit
	nii("003_S_0012", "I12001", "LAS", true)
	nii("003_S_0013", "I13001", "ASL", true)
	// NC: 002_S_0002 (DICOM, coronal, big endian), 003_S_0004, 003_S_0006,
	// 003_S_0014; 002_S_0011 has only a truncated NIfTI.
	dcm("002_S_0002", "2006-03-01_11_00_00.0", "I2001", "LIP", tsExplicitBE)
	nii("003_S_0004", "I4001", "LPS", false)
	nii("003_S_0004", "I4002", "PIR", true) // a second visit
	nii("003_S_0006", "I6001", "RAS", true)
	nii("003_S_0014", "I14001", "IPL", false)
	good := niftiBytes(niftiSpec{dim: [3]int{8, 8, 8}, datatype: niftiInt16, values: func(i, j, k int) float64 { return 5 }})
	writeFile(t, filepath.Join(root, "nifti", "ADNI_002_S_0011_MR_MPRAGE_I11001.nii"), good[:len(good)-100])
	// 002_S_0010: only a one-slice localizer series.
	writeFile(t, filepath.Join(root, "ADNI", "002_S_0010", "Localizer", "2006-01-01", "I10001", "IM_1.dcm"), dicomBytes(axialSpec(tsExplicitLE, 1, 5)))
	// Not kept: MCI (003_S_0007), not in the CSV (003_S_0008), two classes (003_S_0009).
	nii("003_S_0007", "I7001", "RAS", false)
	nii("003_S_0008", "I8001", "RAS", false)
	nii("003_S_0009", "I9001", "RAS", false)
	writeFile(t, filepath.Join(root, "README.txt"), []byte("downloaded from IDA"))
	csvPath = filepath.Join(t.TempDir(), "collection.csv")
	rows := []string{"\ufeffImage Data ID,Subject,Group,Sex,Visit"}
	for _, r := range [][2]string{{"002_S_0001", "AD"}, {"002_S_0001", "AD"}, {"002_S_0003", "AD"}, {"003_S_0005", "AD"}, {"003_S_0012", "AD"}, {"003_S_0013", "AD"},
		{"002_S_0002", "CN"}, {"003_S_0004", "CN"}, {"003_S_0006", "CN"}, {"003_S_0014", "CN"}, {"002_S_0011", "CN"}, {"002_S_0010", "CN"},
		{"003_S_0007", "MCI"}, {"003_S_0009", "CN"}, {"003_S_0009", "AD"}, {"003_S_0015", "AD"}} {
		rows = append(rows, fmt.Sprintf("I%d,%s,%s,F,bl", len(rows), r[0], r[1]))
	}
	writeFile(t, csvPath, []byte(strings.Join(rows, "\r\n")+"\r\n"))
	return root, csvPath
}

// treeHashes maps every file under dir (relative path) to its SHA-256.
func treeHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBuild(t *testing.T) {
	root, csvPath := makeDownloads(t)
	opt := BuildOptions{Root: root, CSV: csvPath, Rename: map[string]string{"CN": "NC"}, Classes: []string{"AD", "NC"},
		TestFrac: 0.4, Seed: 7, Size: 16, Workers: 1}
	out1 := filepath.Join(t.TempDir(), "ds")
	opt.Out = out1
	m, err := Build(opt)
	if err != nil {
		t.Fatal(err)
	}

	// Subjects, classes and the split.
	if !slices.Equal(m.Classes, []string{"AD", "NC"}) {
		t.Fatalf("classes %v", m.Classes)
	}
	wantClass := map[string]string{"002_S_0001": "AD", "002_S_0003": "AD", "003_S_0005": "AD", "003_S_0012": "AD", "003_S_0013": "AD",
		"002_S_0002": "NC", "003_S_0004": "NC", "003_S_0006": "NC", "003_S_0014": "NC"}
	if len(m.Subjects) != len(wantClass) {
		t.Fatalf("%d subjects, want %d: %+v", len(m.Subjects), len(wantClass), m.Subjects)
	}
	nTest := map[string]int{}
	for _, s := range m.Subjects {
		if wantClass[s.ID] != s.Class {
			t.Errorf("subject %s class %q, want %q", s.ID, s.Class, wantClass[s.ID])
		}
		if s.Split == "test" {
			nTest[s.Class]++
		}
	}
	// round(0.4 x 5) = 2 of the AD subjects, round(0.4 x 4) = 2 of the NC ones.
	if nTest["AD"] != 2 || nTest["NC"] != 2 {
		t.Errorf("test subjects per class %v, want AD 2, NC 2", nTest)
	}
	if both := m.SubjectsInBothSplits(); len(both) != 0 {
		t.Fatalf("manifest lists %v in both splits", both)
	}

	// Skipped: subjects without a usable class, unreadable sources, series
	// that are not volumes; each with its reason.
	skips := map[string]string{}
	for _, s := range m.Skipped {
		skips[s.Subject+" "+s.Source] = s.Reason
	}
	for key, want := range map[string]string{
		"003_S_0007 ": "class MCI is not in --classes",
		"003_S_0008 ": "no class in the CSV",
		"003_S_0009 ": "several classes (AD, NC)",
		"002_S_0003 ADNI/002_S_0003/MPRAGE/2006-02-01_10_00_00.0/I3001": "IM_0003.dcm: not a DICOM file",
		"002_S_0010 ADNI/002_S_0010/Localizer/2006-01-01/I10001":        "1 slice",
		"002_S_0011 nifti/ADNI_002_S_0011_MR_MPRAGE_I11001.nii":         "truncated NIfTI file",
	} {
		if !strings.Contains(skips[key], want) {
			t.Errorf("skipped %q: reason %q, want one containing %q", key, skips[key], want)
		}
	}
	if len(m.Skipped) != 6 {
		t.Errorf("%d skipped, want 6: %+v", len(m.Skipped), m.Skipped)
	}

	// Manifest rows match the files: same set, each in its row's
	// split/class folder, in its subject's split; the subject lists and
	// counts agree with the rows.
	subjectSplit := map[string]string{}
	for _, s := range m.Subjects {
		subjectSplit[s.ID] = s.Split
		if !slices.Contains(m.Splits[s.Split][s.Class], s.ID) {
			t.Fatalf("subject %+v not listed under splits.%s.%s", s, s.Split, s.Class)
		}
	}
	files := treeHashes(t, out1)
	delete(files, ManifestName)
	counts := map[string]int{}
	for _, s := range m.Slices {
		if _, ok := files[s.File]; !ok {
			t.Fatalf("manifest row %s: no such file", s.File)
		}
		delete(files, s.File)
		if !strings.HasPrefix(s.File, s.Split+"/"+s.Class+"/") || s.Plane != "axial" || wantClass[s.Subject] != s.Class {
			t.Fatalf("row %+v", s)
		}
		if s.Split != subjectSplit[s.Subject] {
			t.Fatalf("slice %s of subject %s is in %s, the subject in %q", s.File, s.Subject, s.Split, subjectSplit[s.Subject])
		}
		counts[s.Split+"/"+s.Class]++
	}
	if len(files) != 0 {
		t.Fatalf("files not in the manifest: %v", files)
	}
	for split, byClass := range m.Counts {
		for class, n := range byClass {
			if counts[split+"/"+class] != n {
				t.Fatalf("slice_counts %s/%s = %d, the rows say %d", split, class, n, counts[split+"/"+class])
			}
		}
	}
	vols := map[string]int{}
	for _, v := range m.Volumes {
		vols[v.Subject]++
		if v.Split != subjectSplit[v.Subject] {
			t.Fatalf("volume %s of subject %s is in %s, the subject in %s", v.Source, v.Subject, v.Split, subjectSplit[v.Subject])
		}
	}
	if vols["002_S_0001"] != 2 || vols["003_S_0004"] != 2 || vols["003_S_0005"] != 2 || len(m.Volumes) != 12 {
		t.Errorf("volumes per subject %v", vols)
	}
	// The dataset opens as the trainer reads it.
	f, err := OpenDir(out1, "train")
	if err != nil || !slices.Equal(f.Classes(), []string{"AD", "NC"}) {
		t.Fatalf("open train: %v %v", err, f)
	}
	img, _, err := f.Load(0)
	if err != nil || img.Bounds() != image.Rect(0, 0, 16, 16) {
		t.Fatalf("load: %v %v", err, img)
	}
	if leaks, found, err := SubjectLeaks(out1); err != nil || !found || len(leaks) != 0 {
		t.Fatalf("SubjectLeaks: %v %v %v", leaks, found, err)
	}

	// The same anatomy from DICOM (002_S_0001, stored LPS) and from NIfTI
	// (003_S_0004, stored LPS with a float32 affine): the same slices.
	a, b := slicesOf(t, out1, m, "002_S_0001", "ADNI/002_S_0001/MPRAGE/2006-01-10_09_00_00.0/I1001"), slicesOf(t, out1, m, "003_S_0004", "nifti/ADNI_003_S_0004_MR_MPRAGE_br_raw_I4001.nii.gz")
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d slices", len(a), len(b))
	}
	for i := range a {
		for k := range a[i].Pix {
			if d := int(a[i].Pix[k]) - int(b[i].Pix[k]); d < -1 || d > 1 {
				t.Fatalf("slice %d pixel %d: DICOM %d, NIfTI %d", i, k, a[i].Pix[k], b[i].Pix[k])
			}
		}
	}

	// Deterministic: 4 workers write the same bytes.
	opt.Workers, opt.Out = 4, filepath.Join(t.TempDir(), "ds")
	if _, err := Build(opt); err != nil {
		t.Fatal(err)
	}
	h1, h2 := treeHashes(t, out1), treeHashes(t, opt.Out)
	if len(h1) != len(h2) {
		t.Fatalf("%d and %d files", len(h1), len(h2))
	}
	for p, h := range h1 {
		if h2[p] != h {
			t.Fatalf("%s differs between 1 and 4 workers", p)
		}
	}

	// A non-empty output folder is refused unless --overwrite.
	opt.Out = out1
	_, err = Build(opt)
	checkErr(t, err, "exists and is not empty", "--overwrite")
	opt.Overwrite = true
	if _, err := Build(opt); err != nil {
		t.Fatal(err)
	}
	if h3 := treeHashes(t, out1); h3[ManifestName] != h1[ManifestName] {
		t.Fatal("overwrite changed the manifest")
	}

	// Moving a test subject's slice into train is caught.
	var moved ManifestSlice
	for _, s := range m.Slices {
		if s.Split == "test" {
			moved = s
			break
		}
	}
	dst := filepath.Join(out1, "train", moved.Class, filepath.Base(moved.File))
	if err := os.Rename(filepath.Join(out1, filepath.FromSlash(moved.File)), dst); err != nil {
		t.Fatal(err)
	}
	leaks, found, err := SubjectLeaks(out1)
	if err != nil || !found || !slices.Equal(leaks, []string{moved.Subject}) {
		t.Fatalf("SubjectLeaks after a move: %v %v %v, want [%s]", leaks, found, err, moved.Subject)
	}
	if w := LeakWarning(out1, leaks); !strings.Contains(w, "1 subjects have slices in both train and test") || !strings.Contains(w, moved.Subject) {
		t.Fatalf("warning %q", w)
	}
	if leaks, found, err := SubjectLeaks(t.TempDir()); leaks != nil || found || err != nil {
		t.Fatalf("no manifest: %v %v %v", leaks, found, err)
	}
}

// slicesOf decodes the slices of one source, in index order.
func slicesOf(t *testing.T, dir string, m *Manifest, subject, source string) []*image.Gray {
	t.Helper()
	var out []*image.Gray
	for _, s := range m.Slices {
		if s.Subject != subject || s.Source != source {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(s.File)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, img.(*image.Gray))
	}
	return out
}

func TestBuildOptions(t *testing.T) {
	root, csvPath := makeDownloads(t)
	tests := []struct {
		name string
		edit func(o *BuildOptions)
		want string
	}{
		{"no input", func(o *BuildOptions) { o.Root = filepath.Join(root, "nope") }, "nope: no such folder"},
		{"no class", func(o *BuildOptions) { o.CSV = "" }, "give --csv"},
		{"bad class", func(o *BuildOptions) { o.CSV, o.Class = "", "A/B" }, "cannot be a folder name"},
		{"missing CSV", func(o *BuildOptions) { o.CSV = filepath.Join(root, "x.csv") }, "x.csv: no such file"},
		{"id column", func(o *BuildOptions) { o.IDCol = "PTID" }, `no column "PTID" (columns: Image Data ID, Subject, Group, Sex, Visit; set --id-col)`},
		{"test fraction", func(o *BuildOptions) { o.TestFrac = 1 }, "test fraction 1"},
		{"bits", func(o *BuildOptions) { o.Bits = 12 }, "12 bits"},
		{"regex", func(o *BuildOptions) { o.SubjectRegex = "(" }, "--subject-regex"},
		{"out holds root", func(o *BuildOptions) { o.Out = filepath.Dir(root) }, "holds the input"},
		{"empty input", func(o *BuildOptions) { o.Root = t.TempDir() }, "no NIfTI (.nii, .nii.gz) or DICOM files found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := BuildOptions{Root: root, CSV: csvPath, Out: filepath.Join(t.TempDir(), "ds")}
			tc.edit(&o)
			_, err := Build(o)
			checkErr(t, err, tc.want)
		})
	}
	// Linked files are found.
	linked := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "nifti", "ADNI_003_S_0004_MR_MPRAGE_br_raw_I4001.nii.gz"), filepath.Join(linked, "scan.nii.gz")); err != nil {
		t.Fatal(err)
	}
	if m, err := Build(BuildOptions{Root: linked, Out: filepath.Join(t.TempDir(), "ds"), Class: "NC"}); err != nil || len(m.Subjects) != 1 || m.Subjects[0].ID != "scan" {
		t.Fatalf("linked file: %v", err)
	}
	// Without a CSV, one class for all; coronal 16-bit middle slices; no test split.
	out := filepath.Join(t.TempDir(), "ds")
	m, err := Build(BuildOptions{Root: filepath.Join(root, "nifti"), Out: out, Class: "NC", Plane: Coronal, Slices: SliceSelect{Mode: "middle", N: 4}, Bits: 16, Size: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Subjects) != 10 || m.Splits["test"] != nil || len(m.Slices) != 4*12 { // 13 files of 11 subjects, one truncated
		t.Fatalf("%d subjects, splits %v, %d slices", len(m.Subjects), m.Splits, len(m.Slices))
	}
	f, err := os.Open(filepath.Join(out, filepath.FromSlash(m.Slices[0].File)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if _, ok := img.(*image.Gray16); err != nil || !ok || img.Bounds().Dx() != 20 || !strings.Contains(m.Slices[0].File, "_y0") {
		t.Fatalf("slice %s: %T %v", m.Slices[0].File, img, err)
	}
}

func TestSplitSubjects(t *testing.T) {
	ids := []string{"a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "b1", "b2", "c1"}
	class := func(id string) string { return id[:1] }
	tests := []struct {
		frac float64
		seed uint64
		want map[string]int // test subjects per class
	}{
		{0, 1, map[string]int{}},
		{0.2, 1, map[string]int{"a": 2, "b": 1}},
		{0.2, 2, map[string]int{"a": 2, "b": 1}},
		{0.5, 1, map[string]int{"a": 5, "b": 1}},
		{0.9, 1, map[string]int{"a": 9, "b": 1}},
		{0.01, 3, map[string]int{"a": 1, "b": 1}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.frac, tc.seed), func(t *testing.T) {
			got := splitSubjects(slices.Clone(ids), class, tc.frac, tc.seed)
			n := map[string]int{}
			for _, id := range ids {
				if got[id] == "test" {
					n[class(id)]++
				} else if got[id] != "train" {
					t.Fatalf("%s in split %q", id, got[id])
				}
			}
			for _, c := range []string{"a", "b", "c"} {
				if n[c] != tc.want[c] {
					t.Fatalf("test subjects %v, want %v", n, tc.want)
				}
			}
			// The input order does not matter.
			rev := slices.Clone(ids)
			slices.Reverse(rev)
			again := splitSubjects(rev, class, tc.frac, tc.seed)
			for _, id := range ids {
				if again[id] != got[id] {
					t.Fatalf("%s: %s, then %s with the input reversed", id, got[id], again[id])
				}
			}
		})
	}
	s1, s2 := splitSubjects(slices.Clone(ids), class, 0.5, 1), splitSubjects(slices.Clone(ids), class, 0.5, 2)
	same := true
	for _, id := range ids {
		same = same && s1[id] == s2[id]
	}
	if same {
		t.Error("seeds 1 and 2 give the same split")
	}
}
