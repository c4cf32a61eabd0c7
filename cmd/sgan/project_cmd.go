package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"sgan/figure"
	"sgan/model"
	"sgan/project"
	"sgan/torch"
)

func projectCommand() *cli.Command {
	d := project.DefaultOptions()
	return &cli.Command{
		Name:  "project",
		Usage: "find the latent that reproduces real scans: reconstructions, anomaly maps, class counterfactuals",
		Description: "Optimizes w (or w+ with --wplus) and the noise maps from the class's mean w, as NVlabs' projector does, " +
			"for every target (files, or folders of PNG/JPEG images, searched recursively). Writes proj.png, latent.pt, " +
			"proj.gif, proj.json, anomaly.png and scores.csv to --out, and counterfactual.png with --to-class. See docs/project.md.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Required: true, Usage: "checkpoint, e.g. runs/demo/models/last.pt"},
			&cli.StringSliceFlag{Name: "target", Required: true, Usage: "image file or folder to project (repeatable)"},
			&cli.StringFlag{Name: "out", Value: "proj", Usage: "output folder"},
			&cli.IntFlag{Name: "steps", Value: d.Steps, Usage: "optimization steps"},
			&cli.BoolFlag{Name: "wplus", Usage: "optimize one w per synthesis layer (W+) instead of one w"},
			&cli.StringFlag{Name: "distance", Value: d.Distance, Usage: "image distance: msssim (pixels + MS-SSIM), pixel, or feat (pixels + eval's feature CNN, needs --featnet)"},
			&cli.StringFlag{Name: "featnet", Usage: "feature net for --distance feat: a features-*.pt that sgan eval cached (~/.cache/sgan)"},
			&cli.BoolFlag{Name: "fixed-noise", Usage: "keep the model's noise maps instead of optimizing per-target ones"},
			&cli.Float64Flag{Name: "noise-reg", Value: d.NoiseReg, Usage: "weight of the noise maps' regularizer"},
			&cli.Float64Flag{Name: "lr", Value: d.LR, Usage: "peak learning rate"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "seed of the noise maps' start and the w jitter"},
			&cli.IntFlag{Name: "batch", Value: d.Batch, Usage: "targets optimized together"},
			&cli.StringFlag{Name: "class", Usage: "class to project with (conditional models; default: each target's class folder)"},
			&cli.StringFlag{Name: "to-class", Usage: "also render each target as this class: counterfactual.png (conditional models)"},
			&cli.StringFlag{Name: "baseline", Usage: "folder of (training) images whose mean image is scored as a trivial reconstruction"},
			&cli.Float64Flag{Name: "anomaly-sigma", Value: project.DefaultAnomalySigma, Usage: "smoothing of the anomaly map, pixels"},
			&cli.Float64Flag{Name: "anomaly-max", Value: project.DefaultAnomalyMax, Usage: "residual (0-1 intensity) at which the heat maps saturate"},
			&cli.IntFlag{Name: "w-samples", Value: d.WSamples, Usage: "z samples for the mean w, w_std and class shifts"},
			&cli.IntFlag{Name: "frames", Value: d.Frames, Usage: "snapshots in proj.gif (0: no GIF)"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "auto, cpu, cuda or cuda:N"},
		},
		Action: runProject,
	}
}

func runProject(c *cli.Context) error {
	dev, err := torch.ParseDevice(c.String("device"))
	if err != nil {
		return err
	}
	o := project.DefaultOptions()
	o.Steps, o.Distance, o.NoiseReg, o.LR = c.Int("steps"), c.String("distance"), c.Float64("noise-reg"), c.Float64("lr")
	o.Seed, o.Batch, o.WSamples, o.Frames = c.Uint64("seed"), c.Int("batch"), c.Int("w-samples"), c.Int("frames")
	o.OptimizeNoise = !c.Bool("fixed-noise")
	if c.Bool("wplus") {
		o.Space = project.SpaceWPlus
	}
	sigma, vmax := c.Float64("anomaly-sigma"), c.Float64("anomaly-max")
	if sigma < 0 || vmax <= 0 {
		return fmt.Errorf("--anomaly-sigma %g / --anomaly-max %g: the smoothing must be >= 0 and the saturation > 0", sigma, vmax)
	}
	m, err := project.Open(c.String("ckpt"), dev)
	if err != nil {
		return err
	}
	defer m.Close()
	cfg := m.G.Cfg
	ch, side := cfg.Channels, cfg.Resolution
	if o.Distance == project.DistFeat {
		if c.String("featnet") == "" {
			return fmt.Errorf("--distance feat needs --featnet: a features-*.pt that sgan eval cached (see ~/.cache/sgan)")
		}
		f, err := project.LoadFeatDistance(c.String("featnet"), side, ch)
		if err != nil {
			return err
		}
		defer f.Free()
		o.Feat = f
	}
	to := -1
	if name := c.String("to-class"); name != "" {
		if to, err = m.ClassIndex(name); err != nil {
			return fmt.Errorf("--to-%w", err)
		}
	}
	targets, err := project.LoadTargets(c.StringSlice("target"), side, ch)
	if err != nil {
		return err
	}
	if err := assignClasses(m, targets, c.String("class")); err != nil {
		return err
	}
	noteResized(targets, side)
	out := c.String("out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	o.Progress = projectProgress()
	fmt.Fprintf(os.Stderr, "sgan: projecting %d target(s) into %s of %s (%s distance, %d steps, noise %s)\n", len(targets), o.Space, m.Ckpt,
		o.Distance, o.Steps, map[bool]string{true: "optimized", false: "fixed"}[o.OptimizeNoise])
	r, err := project.Project(m, targets, o)
	if err != nil {
		return err
	}
	defer r.Free()
	maps, scores := r.Anomalies(ch, side, sigma)
	rep := project.NewReport(m, r, o, sigma, scores)
	if dir := c.String("baseline"); dir != "" {
		if err := scoreBaseline(rep, r, dir, ch, side); err != nil {
			return err
		}
	}
	lat := r.Latent(m)
	if err := lat.Save(filepath.Join(out, "latent.pt")); err != nil {
		return err
	}
	files := []string{"proj.png", "anomaly.png", "latent.pt"}
	if err := figure.SavePNG(filepath.Join(out, "proj.png"), project.ProjectionFigure(r, ch, side, vmax)); err != nil {
		return err
	}
	if err := figure.SavePNG(filepath.Join(out, "anomaly.png"), project.AnomalyFigure(r, maps, scores, ch, side, vmax)); err != nil {
		return err
	}
	if frames := project.OptimizationFrames(r, ch, side); len(frames) > 0 {
		if err := figure.SaveGIF(filepath.Join(out, "proj.gif"), frames, 10); err != nil {
			return err
		}
		files = append(files, "proj.gif")
	}
	if to >= 0 {
		cf, shifts, err := lat.Render(m, project.RenderOptions{Psi: 1, Noise: model.NoiseConst, ToClass: to, WSamples: o.WSamples})
		if err != nil {
			return err
		}
		defer func() {
			for _, s := range shifts {
				s.Free()
			}
		}()
		rep.SetShifts(m, shifts)
		from := make([]string, len(targets))
		for i, t := range r.Targets {
			from[i] = m.ClassName(t.Class)
		}
		if err := figure.SavePNG(filepath.Join(out, "counterfactual.png"), project.CounterfactualFigure(r, cf, from, m.ClassName(to), ch, side, vmax)); err != nil {
			return err
		}
		files = append(files, "counterfactual.png")
		for _, s := range rep.Counterfactual {
			fmt.Fprintf(os.Stderr, "sgan: class shift %s -> %s: |dw| %.3f, per-z spread %.2f of it\n", s.From, s.To, s.Norm, s.Spread)
		}
	}
	if err := rep.WriteJSON(filepath.Join(out, "proj.json")); err != nil {
		return err
	}
	if err := rep.WriteCSV(filepath.Join(out, "scores.csv")); err != nil {
		return err
	}
	files = append(files, "proj.json", "scores.csv")
	line := fmt.Sprintf("sgan: mean PSNR %.2f dB, SSIM %.4f over %d target(s)", rep.Mean.PSNR, rep.Mean.SSIM, len(rep.Targets))
	if b := rep.Baseline; b != nil {
		line += fmt.Sprintf("; mean image of %d baseline images: PSNR %.2f dB, SSIM %.4f", b.Images, b.Mean.PSNR, b.Mean.SSIM)
	}
	fmt.Fprintln(os.Stderr, line)
	fmt.Fprintf(os.Stderr, "sgan: wrote %s to %s\n", strings.Join(files, ", "), out)
	return nil
}

// assignClasses sets each target's label: --class for all, else (conditional models) the name
// of the target's folder when it is a class of the model.
func assignClasses(m *project.Model, targets []project.Target, name string) error {
	if name != "" {
		cls, err := m.ClassIndex(name)
		if err != nil {
			return fmt.Errorf("--%w", err)
		}
		for i := range targets {
			targets[i].Class = cls
		}
		return nil
	}
	if !m.Conditional() {
		return nil
	}
	for i, t := range targets {
		cls, err := m.ClassIndex(t.Dir)
		if err != nil {
			return fmt.Errorf("%s: this model is conditional (classes %s): name the targets' class with --class, or put them in class folders (e.g. test/NC/)",
				t.Name, strings.Join(m.Classes, ", "))
		}
		targets[i].Class = cls
	}
	return nil
}

// noteResized says once that targets of another size are resized.
func noteResized(targets []project.Target, side int) {
	var n int
	var first project.Target
	for _, t := range targets {
		if t.Resized(side) {
			if n == 0 {
				first = t
			}
			n++
		}
	}
	if n > 0 {
		fmt.Fprintf(os.Stderr, "sgan: resizing %d target(s) to %dx%d, the model's resolution (e.g. %s is %dx%d)\n", n, side, side, first.Name, first.W, first.H)
	}
}

// scoreBaseline scores the mean image of the images under dir as every target's reconstruction.
func scoreBaseline(rep *project.Report, r *project.Result, dir string, ch, side int) error {
	imgs, err := project.LoadTargets([]string{dir}, side, ch)
	if err != nil {
		return fmt.Errorf("--baseline: %w", err)
	}
	mean := project.MeanImage(imgs)
	n := len(r.Targets)
	var a, b []float32
	for _, t := range r.Targets {
		a = append(a, t.Pix...)
		b = append(b, mean...)
	}
	psnr, ssim, err := project.Compare(b, a, n, ch, side)
	if err != nil {
		return err
	}
	rep.SetBaseline(dir, len(imgs), psnr, ssim)
	return nil
}

// projectProgress reports the optimization on stderr: one line rewritten in place on a terminal
// (up to 200 updates), else a line every 10% of the steps, so that logs stay short.
func projectProgress() func(project.Progress) {
	tty := false
	if st, err := os.Stderr.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		tty = true
	}
	return func(p project.Progress) {
		every := max(1, p.Steps/10)
		if tty {
			every = max(1, p.Steps/200)
		}
		if p.Step%every != 0 && p.Step != p.Steps {
			return
		}
		line := fmt.Sprintf("sgan: project batch %d/%d step %d/%d  dist %.4f  PSNR %.2f dB", p.Batch, p.Batches, p.Step, p.Steps, p.Dist, p.PSNR)
		switch {
		case !tty:
			fmt.Fprintln(os.Stderr, line)
		case p.Step == p.Steps:
			fmt.Fprintf(os.Stderr, "\r%s\n", line)
		default:
			fmt.Fprintf(os.Stderr, "\r%s ", line)
		}
	}
}
