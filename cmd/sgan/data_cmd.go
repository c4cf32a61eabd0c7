package main

import (
	"fmt"
	"os"

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
	if c.NArg() > 1 {
		return fmt.Errorf("data info: give one dataset folder")
	}
	info, err := data.Inspect(c.Args().First())
	if err != nil {
		return err
	}
	return info.Write(c.App.Writer)
}
