package main

import (
	"fmt"
	"image"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"sgan/figure"
	"sgan/sample"
	"sgan/torch"
)

func sampleCommand() *cli.Command {
	return &cli.Command{
		Name:  "sample",
		Usage: "generate images, a grid, a style-mixing figure, an interpolation GIF or a synthetic dataset",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Usage: "checkpoint, e.g. runs/sgan/models/epoch150.pt (default: the built-in demo model)"},
			&cli.IntFlag{Name: "n", Value: 16, Usage: "number of images (seeds 0..n-1) when --seeds is not given"},
			&cli.StringFlag{Name: "seeds", Usage: "seeds, e.g. 1-16 or 3,7,9; the same seed gives the same image"},
			&cli.Float64Flag{Name: "trunc", Value: 1, Usage: "truncation psi in [0, 1]: 1 = none, 0 = the average image"},
			&cli.StringFlag{Name: "class", Usage: "class name for conditional models (e.g. AD or NC)"},
			&cli.StringFlag{Name: "noise", Value: "const", Usage: "noise inputs: const (the model's fixed noise: fine detail) or none (the smooth image the styles describe)"},
			&cli.StringFlag{Name: "out", Value: "samples", Usage: "output folder"},
			&cli.BoolFlag{Name: "grid", Usage: "also write grid.png of all images"},
			&cli.BoolFlag{Name: "mix", Usage: "write stylemix.png: first half of the seeds as rows (sources), second half as columns"},
			&cli.StringFlag{Name: "mix-layers", Value: "coarse", Usage: "styles taken from the row seed: coarse, middle or fine"},
			&cli.IntFlag{Name: "interp", Usage: "write interp.gif and interp/ frames walking between the seeds, this many frames per pair"},
			&cli.StringFlag{Name: "export", Usage: "write a synthetic dataset in the ADNI layout under this folder"},
			&cli.IntFlag{Name: "count", Value: 1000, Usage: "images to export (per class with --per-class)"},
			&cli.BoolFlag{Name: "per-class", Usage: "export --count images of every class"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "auto, cpu, cuda or cuda:N"},
			&cli.StringFlag{Name: "latent", Usage: "render a latent.pt from sgan project (with --trunc, --noise, --class) instead of seeds"},
		},
		Action: runSample,
	}
}

func runSample(c *cli.Context) error {
	psi := c.Float64("trunc")
	if err := sample.CheckPsi(psi); err != nil {
		return fmt.Errorf("--trunc: %w", err)
	}
	noise, err := sample.ParseNoise(c.String("noise"))
	if err != nil {
		return fmt.Errorf("--%w", err)
	}
	dev, err := torch.ParseDevice(c.String("device"))
	if err != nil {
		return err
	}
	ckpt, err := checkpointOrBuiltin(c.String("ckpt"))
	if err != nil {
		return err
	}
	if c.String("latent") != "" {
		return runSampleLatent(c, ckpt, dev, psi, noise)
	}
	s, err := sample.Open(ckpt, dev)
	if err != nil {
		return err
	}
	defer s.Close()
	s.Noise = noise
	cls, err := s.ClassIndex(c.String("class"))
	if err != nil {
		return fmt.Errorf("--%w", err)
	}
	if root := c.String("export"); root != "" {
		err := s.Export(sample.ExportOptions{Root: root, Count: c.Int("count"), PerClass: c.Bool("per-class") && c.String("class") == "",
			Class: cls, Psi: psi, Progress: func(class string, done, total int) {
				fmt.Fprintf(os.Stderr, "\rsgan: export %s %d/%d", class, done, total)
				if done == total {
					fmt.Fprintln(os.Stderr)
				}
			}})
		if err == nil {
			fmt.Fprintf(os.Stderr, "sgan: wrote %s/train/... and %s/manifest.jsonl\n", root, root)
		}
		return err
	}
	var seeds []uint64
	if str := c.String("seeds"); str != "" {
		if seeds, err = sample.ParseSeeds(str); err != nil {
			return fmt.Errorf("--%w", err)
		}
	} else {
		if c.Int("n") < 1 {
			return fmt.Errorf("-n %d: must be at least 1", c.Int("n"))
		}
		for i := 0; i < c.Int("n"); i++ {
			seeds = append(seeds, uint64(i))
		}
	}
	out := c.String("out")
	imgs, err := s.Render(seeds, psi, cls)
	if err != nil {
		return err
	}
	for i, img := range imgs {
		if err := figure.SavePNG(filepath.Join(out, fmt.Sprintf("seed%04d.png", seeds[i])), img); err != nil {
			return err
		}
	}
	if c.Bool("grid") {
		cols := 1
		for cols*cols < len(imgs) {
			cols++
		}
		if err := figure.SavePNG(filepath.Join(out, "grid.png"), figure.Grid(imgs, cols, figure.DefaultPad, figure.Background)); err != nil {
			return err
		}
	}
	if c.Bool("mix") {
		if len(seeds) < 2 {
			return fmt.Errorf("--mix needs at least 2 seeds (rows, then columns)")
		}
		fig, err := s.StyleMix(seeds[:len(seeds)/2], seeds[len(seeds)/2:], psi, cls, c.String("mix-layers"))
		if err != nil {
			return err
		}
		if err := figure.SavePNG(filepath.Join(out, "stylemix.png"), fig); err != nil {
			return err
		}
	}
	if k := c.Int("interp"); k > 0 {
		frames, err := s.Interpolate(seeds, k, psi, cls)
		if err != nil {
			return err
		}
		if err := saveFrames(filepath.Join(out, "interp"), frames); err != nil {
			return err
		}
		if err := figure.SaveGIF(filepath.Join(out, "interp.gif"), frames, 8); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "sgan: wrote %d images to %s\n", len(imgs), out)
	return nil
}

func saveFrames(dir string, frames []image.Image) error {
	for i, f := range frames {
		if err := figure.SavePNG(filepath.Join(dir, fmt.Sprintf("frame%04d.png", i)), f); err != nil {
			return err
		}
	}
	return nil
}
