package main

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"sgan/data"
)

// dataBuildCommand is `sgan data build`: raw downloads to a slice dataset with a subject-disjoint split.
func dataBuildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "turn a folder of DICOM series and NIfTI volumes into a slice dataset with a subject-disjoint train/test split",
		ArgsUsage: "FOLDER  (e.g. the ADNI folder of a download: ADNI/002_S_0295/MPRAGE/<date>/<image id>/*.dcm, and/or .nii/.nii.gz files)",
		Description: `Finds every NIfTI file (.nii, .nii.gz) and every folder of DICOM files under FOLDER, gives each
the subject id --subject-regex finds in its path (default: ADNI's 002_S_0295 form; else its first
folder), classes the subjects from --csv (columns --id-col, --class-col; e.g. ADNI's collection CSV
or ADNIMERGE), reorients every volume to RAS, windows its intensities by percentiles, and writes
the chosen slices as PNGs to OUT/{train,test}/CLASS/. The split is by subject, stratified by class,
drawn from --seed: all scans of a subject land in the same split. OUT/dataset.json lists every
slice (subject, source, slice index, plane, class, split), the subjects of each split, the options,
and everything skipped with its reason (subjects without a class, unreadable files, series that are
not volumes). The same inputs and options give the same bytes, whatever --workers.

Slices: axial with anterior at the top and the subject's right on the image's right (neurological
convention), coronal with superior at the top and right on the right, sagittal with superior at the
top and anterior on the left.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Value: "dataset", Usage: "output dataset folder (new or empty; see --overwrite)"},
			&cli.StringFlag{Name: "csv", Usage: "diagnosis CSV: one row per subject or visit with a subject id and a class"},
			&cli.StringFlag{Name: "id-col", Usage: "CSV column of subject ids (default: the first of " + strings.Join(data.IDColumns, ", ") + ")"},
			&cli.StringFlag{Name: "class-col", Usage: "CSV column of classes (default: the first of " + strings.Join(data.ClassColumns, ", ") + ")"},
			&cli.StringFlag{Name: "rename", Usage: "rename class values, e.g. CN=NC,Dementia=AD"},
			&cli.StringFlag{Name: "classes", Usage: "keep only subjects of these classes (after --rename), e.g. AD,NC"},
			&cli.StringFlag{Name: "class", Usage: "without --csv: the class of every subject (e.g. NC)"},
			&cli.StringFlag{Name: "subject-regex", Value: data.DefaultSubjectRegex, Usage: "regular expression finding the subject id in a path under FOLDER (its first group, if any)"},
			&cli.Float64Flag{Name: "test-frac", Value: 0.2, Usage: "fraction of each class's subjects in the test split (0: train only)"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "seed of the subject split"},
			&cli.StringFlag{Name: "plane", Value: "axial", Usage: "axial, coronal or sagittal"},
			&cli.StringFlag{Name: "slices", Value: "all", Usage: "all (slices with --min-fg foreground), middle:N (N slices around the brain's middle), A:B (indices), P%:Q% (of the brain's extent)"},
			&cli.IntFlag{Name: "size", Value: 128, Usage: "output side in pixels (0: native resolution, padded to a square)"},
			&cli.IntFlag{Name: "bits", Value: 8, Usage: "PNG bit depth: 8 or 16 (training reads 8 bits)"},
			&cli.Float64Flag{Name: "low-pct", Value: 0.5, Usage: "percentile of a volume's nonzero voxels mapped to black"},
			&cli.Float64Flag{Name: "high-pct", Value: 99.5, Usage: "percentile of a volume's nonzero voxels mapped to white"},
			&cli.Float64Flag{Name: "min-fg", Value: 0.05, Usage: "with --slices all: skip slices with less than this fraction of foreground pixels"},
			&cli.IntFlag{Name: "workers", Usage: "volumes decoded at once (default: the CPU count)"},
			&cli.BoolFlag{Name: "overwrite", Usage: "replace OUT's train/, test/ and dataset.json"},
			&cli.BoolFlag{Name: "quiet", Usage: "no progress bar"},
		},
		Action: dataBuild,
	}
}

func dataBuild(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("data build: give one folder of downloaded scans (e.g. the ADNI folder)")
	}
	plane, err := data.ParsePlane(c.String("plane"))
	if err != nil {
		return err
	}
	sel, err := data.ParseSliceSelect(c.String("slices"))
	if err != nil {
		return err
	}
	rename, err := data.ParseRename(c.String("rename"))
	if err != nil {
		return err
	}
	var classes []string
	for _, cl := range strings.Split(c.String("classes"), ",") {
		if cl = strings.TrimSpace(cl); cl != "" {
			classes = append(classes, cl)
		}
	}
	minFg := c.Float64("min-fg")
	if minFg == 0 {
		minFg = -1 // 0 means keep every slice; Build reads 0 as the default
	}
	opt := data.BuildOptions{
		Root: c.Args().First(), Out: c.String("out"),
		CSV: c.String("csv"), IDCol: c.String("id-col"), ClassCol: c.String("class-col"),
		Class: c.String("class"), Classes: classes, Rename: rename, SubjectRegex: c.String("subject-regex"),
		TestFrac: c.Float64("test-frac"), Seed: c.Uint64("seed"),
		Plane: plane, Slices: sel, Size: c.Int("size"), Bits: c.Int("bits"),
		LowPct: c.Float64("low-pct"), HighPct: c.Float64("high-pct"), MinForeground: minFg,
		Workers: c.Int("workers"), Overwrite: c.Bool("overwrite"),
	}
	if !c.Bool("quiet") {
		opt.Progress = os.Stderr
	}
	// The DICOM parser logs its errors through the standard logger; Build reports them itself.
	log.SetOutput(io.Discard)
	m, err := data.Build(opt)
	if m != nil {
		printBuildSummary(c.App.Writer, opt.Out, m)
	}
	return err
}

// printBuildSummary prints what Build wrote and skipped.
func printBuildSummary(w io.Writer, out string, m *data.Manifest) {
	fmt.Fprintf(w, "%s: %d subjects, %d volumes, %d slices (%s)\n", out, len(m.Subjects), len(m.Volumes), len(m.Slices), m.Options.Plane)
	m.WriteSplits(w)
	var subj, src []data.ManifestSkip
	for _, s := range m.Skipped {
		if s.Source == "" {
			subj = append(subj, s)
		} else {
			src = append(src, s)
		}
	}
	for _, list := range [][]data.ManifestSkip{subj, src} {
		for i, s := range list {
			if i == 8 {
				fmt.Fprintf(w, "  ... and %d more\n", len(list)-i)
				break
			}
			what := s.Subject
			if s.Source != "" {
				what = s.Source
			}
			fmt.Fprintf(w, "  skipped %s: %s\n", what, s.Reason)
		}
	}
	if len(m.Skipped) > 0 {
		fmt.Fprintf(w, "skipped %d subjects and %d sources or series: all listed under \"skipped\" in %s\n", len(subj), len(src), filepath.Join(out, data.ManifestName))
	}
}
