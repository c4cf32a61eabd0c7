package main

import (
	"fmt"
	"image"
	"image/color"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"sgan/data"
)

// dataCommand is `sgan data`: inspect datasets and make PNG slices from NIfTI volumes.
func dataCommand() *cli.Command {
	return &cli.Command{
		Name:  "data",
		Usage: "inspect datasets and slice NIfTI volumes into PNG datasets",
		Subcommands: []*cli.Command{
			{
				Name:      "info",
				Usage:     "print the classes, counts, image sizes and colour modes of a dataset",
				ArgsUsage: "[ROOT]  (a folder dataset, a CIFAR-10 bin folder, or \"demo\"; default demo)",
				Action:    dataInfo,
			},
			{
				Name:      "slice",
				Usage:     "cut NIfTI volumes into axial PNG slices in the ADNI layout (OUT/train/CLASS/NAME_zKKK.png)",
				ArgsUsage: "VOLUME_OR_FOLDER...",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "out", Value: "slices", Usage: "output dataset folder"},
					&cli.StringFlag{Name: "class", Value: "NC", Usage: "class folder name for these volumes (e.g. AD or NC)"},
					&cli.Float64Flag{Name: "test-frac", Value: 0, Usage: "fraction of slices written to the test split"},
					&cli.IntFlag{Name: "size", Value: 128, Usage: "output side in pixels (0 keeps the volume's size, padded to a square)"},
					&cli.Float64Flag{Name: "min-fg", Value: 0.05, Usage: "skip slices with less than this fraction of foreground pixels (negative keeps all)"},
					&cli.Float64Flag{Name: "low-pct", Value: 0.5, Usage: "percentile of nonzero voxels mapped to black"},
					&cli.Float64Flag{Name: "high-pct", Value: 99.5, Usage: "percentile of nonzero voxels mapped to white"},
				},
				Action: dataSlice,
			},
			dataBuildCommand(),
		},
	}
}

func dataSlice(c *cli.Context) error {
	if c.NArg() == 0 {
		return fmt.Errorf("data slice: give one or more .nii/.nii.gz volumes or folders of them")
	}
	opt := data.SliceOptions{
		Size:          c.Int("size"),
		LowPct:        c.Float64("low-pct"),
		HighPct:       c.Float64("high-pct"),
		MinForeground: c.Float64("min-fg"),
	}
	if opt.Size < 0 {
		return fmt.Errorf("data slice: --size %d is negative", opt.Size)
	}
	if !(opt.LowPct >= 0 && opt.LowPct < opt.HighPct && opt.HighPct <= 100) {
		return fmt.Errorf("data slice: need 0 <= --low-pct < --high-pct <= 100")
	}
	st, err := data.SliceVolumes(c.Args().Slice(), c.String("out"), c.String("class"), c.Float64("test-frac"), opt)
	for _, w := range st.Warnings {
		fmt.Fprintln(os.Stderr, "warning:", w)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%d volumes: wrote %d train and %d test slices to %s (skipped %d near-empty slices)\n",
		st.Volumes, st.Train, st.Test, c.String("out"), st.Skipped)
	return nil
}

func dataInfo(c *cli.Context) error {
	root := c.Args().First()
	if c.NArg() > 1 {
		return fmt.Errorf("data info: give one dataset folder")
	}
	w := c.App.Writer
	if root != "" && root != "demo" && data.IsCIFAR10Dir(root) {
		fmt.Fprintf(w, "%s: CIFAR-10 binary release, 32x32 RGB\n", root)
		for _, train := range []bool{true, false} {
			ds, err := data.OpenCIFAR10(root, train)
			if err != nil {
				fmt.Fprintf(w, "  %v\n", err)
				continue
			}
			counts := make([]int, len(ds.Classes()))
			for i := 0; i < ds.Len(); i++ {
				counts[ds.Label(i)]++
			}
			name := map[bool]string{true: "train", false: "test"}[train]
			printCounts(c, name, ds.Len(), ds.Classes(), counts)
		}
		return nil
	}
	var fsys fs.FS
	origin := root
	if root == "" || root == "demo" {
		fsys, origin = data.Demo(), "demo (embedded Colin27 slices)"
	} else {
		st, err := os.Stat(root)
		if err != nil || !st.IsDir() {
			_, err := data.OpenDir(root, "")
			return err
		}
		fsys = os.DirFS(root)
	}
	splits := data.FolderSplits(fsys, ".")
	if len(splits) == 0 {
		splits = []string{""}
	}
	fmt.Fprintf(w, "%s\n", origin)
	for _, split := range splits {
		f, err := data.OpenFolder(fsys, ".", split)
		if err != nil {
			fmt.Fprintf(w, "  %s: %v\n", orNone(split), err)
			continue
		}
		counts := make([]int, len(f.Classes()))
		sizes := map[image.Point]int{}
		modes := map[string]int{}
		bad := 0
		for i := 0; i < f.Len(); i++ {
			counts[f.Label(i)]++
			cfg, err := f.Config(i)
			if err != nil {
				if bad == 0 {
					fmt.Fprintf(w, "  bad file: %v\n", err)
				}
				bad++
				continue
			}
			sizes[image.Pt(cfg.Width, cfg.Height)]++
			modes[colorMode(cfg.ColorModel)]++
		}
		printCounts(c, orNone(split), f.Len(), f.Classes(), counts)
		fmt.Fprintf(w, "    sizes: %s\n", describeSizes(sizes))
		fmt.Fprintf(w, "    colour: %s\n", describeModes(modes))
		if bad > 0 {
			fmt.Fprintf(w, "    %d files could not be read\n", bad)
		}
	}
	if root != "" && root != "demo" {
		printManifestInfo(w, root)
	}
	return nil
}

func orNone(split string) string {
	if split == "" {
		return "(no split folders)"
	}
	return split
}

func printCounts(c *cli.Context, split string, total int, classes []string, counts []int) {
	w := c.App.Writer
	fmt.Fprintf(w, "  %s: %d images, %d classes\n", split, total, len(classes))
	for i, cl := range classes {
		if cl == "" {
			cl = "(unnamed)"
		}
		fmt.Fprintf(w, "    %-12s %d\n", cl, counts[i])
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
