package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/urfave/cli/v2"

	"sgan/figure"
	"sgan/model"
	"sgan/project"
	"sgan/torch"
)

// runSampleLatent is `sgan sample --latent latent.pt`: it renders the latents sgan project saved,
// with truncation, with their own noise maps or none, and as another class (the counterfactual
// shift of sgan project --to-class).
func runSampleLatent(c *cli.Context, ckpt string, dev torch.Device, psi float64, noise model.NoiseMode) error {
	lat, err := project.LoadLatent(c.String("latent"))
	if err != nil {
		return fmt.Errorf("--latent: %w", err)
	}
	defer lat.Free()
	m, err := project.Open(ckpt, dev)
	if err != nil {
		return err
	}
	defer m.Close()
	to := -1
	if name := c.String("class"); name != "" {
		if to, err = m.ClassIndex(name); err != nil {
			return fmt.Errorf("--%w", err)
		}
	}
	pix, shifts, err := lat.Render(m, project.RenderOptions{Psi: psi, Noise: noise, ToClass: to})
	if err != nil {
		return err
	}
	for _, s := range shifts {
		s.Free()
	}
	cfg := m.G.Cfg
	imgs := figure.BatchImages(pix, lat.Len(), cfg.Channels, cfg.Resolution, cfg.Resolution)
	out := c.String("out")
	for i, img := range imgs {
		if err := figure.SavePNG(filepath.Join(out, latentImageName(lat, i)), img); err != nil {
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
	fmt.Fprintf(os.Stderr, "sgan: wrote %d images of %s to %s\n", len(imgs), c.String("latent"), out)
	return nil
}

// latentImageName is latent0003_scan.png for latent 3 projected from scan.png. The target names
// come from the latent file (which may be hostile): only letters, digits and ._- of the base
// name are kept (others become _), at most 64 of them, so the name stays one file in --out.
func latentImageName(l *project.Latent, i int) string {
	base := ""
	if i < len(l.Targets) {
		b := filepath.Base(filepath.ToSlash(l.Targets[i]))
		b = b[:len(b)-len(filepath.Ext(b))]
		b = unsafeNameChars.ReplaceAllString(b, "_")
		if len(b) > 64 {
			b = b[:64]
		}
		base = "_" + b
	}
	return fmt.Sprintf("latent%04d%s.png", i, base)
}

var unsafeNameChars = regexp.MustCompile(`[^A-Za-z0-9._-]`)
