package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"sgan/figure"
	"sgan/model"
	"sgan/torch"
	"sgan/train"
)

func sampleCommand() *cli.Command {
	return &cli.Command{
		Name:  "sample",
		Usage: "generate images, a grid, a style-mixing figure or a synthetic dataset from a checkpoint",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ckpt", Required: true, Usage: "checkpoint, e.g. runs/sgan/models/epoch150.pt"},
			&cli.IntFlag{Name: "n", Value: 16, Usage: "number of images (seeds 0..n-1) when --seeds is not given"},
			&cli.StringFlag{Name: "seeds", Usage: "seeds, e.g. 1-16 or 3,7,9; the same seed gives the same image"},
			&cli.Float64Flag{Name: "trunc", Value: 1, Usage: "truncation psi in [0, 1]: 1 = none, 0 = the average image"},
			&cli.StringFlag{Name: "class", Usage: "class name for conditional models (e.g. AD or NC)"},
			&cli.StringFlag{Name: "out", Value: "samples", Usage: "output folder"},
			&cli.BoolFlag{Name: "grid", Usage: "also write grid.png of all images"},
			&cli.BoolFlag{Name: "mix", Usage: "write stylemix.png: rows of source seeds, columns of destination seeds"},
			&cli.StringFlag{Name: "mix-layers", Value: "coarse", Usage: "styles taken from the row seed: coarse, middle or fine"},
			&cli.StringFlag{Name: "export", Usage: "write a synthetic dataset in the ADNI layout under this folder"},
			&cli.IntFlag{Name: "count", Value: 1000, Usage: "images to export (per class with --per-class)"},
			&cli.BoolFlag{Name: "per-class", Usage: "export --count images of every class"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "auto, cpu, cuda or cuda:N"},
		},
		Action: runSample,
	}
}

// parseSeeds reads "1-16", "3,7,9" or a mix of both.
func parseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--seeds %q: %q is not a seed or range like 1-16", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("--seeds %q: %q is not a range like 1-16", s, part)
			}
		}
		for v := a; v <= b; v++ {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--seeds %q names no seed", s)
	}
	return out, nil
}

// seedZ is the latent of one seed: drawn on the CPU so a seed gives the same image on every
// device and batch size.
func seedZ(seed uint64, zdim int) *torch.Tensor {
	g, err := torch.NewGenerator(torch.CPU, seed)
	if err != nil {
		panic(&torch.Error{Op: "seed", Msg: err.Error()})
	}
	defer g.Close()
	return torch.Randn([]int64{1, int64(zdim)}, g, torch.Options{})
}

type sampler struct {
	G       *model.Generator
	cfg     train.Config
	classes []string
	dev     torch.Device
}

// render draws one image per seed (batched) with truncation psi and class index cls (-1: none).
func (s *sampler) render(seeds []uint64, psi float64, cls int) []image.Image {
	var imgs []image.Image
	const batch = 32
	for i := 0; i < len(seeds); i += batch {
		part := seeds[i:min(i+batch, len(seeds))]
		torch.WithScope(func() {
			zs := make([]*torch.Tensor, len(part))
			for j, sd := range part {
				zs[j] = seedZ(sd, s.G.Cfg.ZDim)
			}
			z := torch.Cat(zs, 0).ToDevice(s.dev, false)
			var c *torch.Tensor
			if cls >= 0 {
				lab := make([]int64, len(part))
				for j := range lab {
					lab[j] = int64(cls)
				}
				c = s.G.OneHot(torch.FromInt64(lab, int64(len(lab))))
			}
			torch.NoGrad(func() {
				img := s.G.Forward(z, c, psi, model.NoiseConst, nil)
				ch, r := s.G.Cfg.Channels, s.G.Cfg.Resolution
				imgs = append(imgs, figure.BatchImages(img.Float32s(), len(part), ch, r, r)...)
			})
		})
	}
	return imgs
}

func (s *sampler) classIndex(name string) (int, error) {
	if s.G.Cfg.NumClasses == 0 {
		if name != "" {
			return -1, fmt.Errorf("--class %s: this model is unconditional", name)
		}
		return -1, nil
	}
	if name == "" {
		return 0, nil
	}
	for i, c := range s.classes {
		if strings.EqualFold(c, name) {
			return i, nil
		}
	}
	return -1, fmt.Errorf("--class %s: the model knows %s", name, strings.Join(s.classes, ", "))
}

func runSample(c *cli.Context) error {
	psi := c.Float64("trunc")
	if psi < 0 || psi > 1 {
		return fmt.Errorf("--trunc %g: must be in [0, 1] (1 = no truncation)", psi)
	}
	dev, err := torch.ParseDevice(c.String("device"))
	if err != nil {
		return err
	}
	ckpt := c.String("ckpt")
	G, cfg, classes, err := train.LoadGenerator(ckpt, dev)
	if err != nil {
		return err
	}
	defer G.Free()
	s := &sampler{G: G, cfg: cfg, classes: classes, dev: dev}
	cls, err := s.classIndex(c.String("class"))
	if err != nil {
		return err
	}
	out := c.String("out")
	if root := c.String("export"); root != "" {
		return s.export(ckpt, root, c.Int("count"), c.Bool("per-class"), psi, cls, c.String("class") != "")
	}
	var seeds []uint64
	if str := c.String("seeds"); str != "" {
		if seeds, err = parseSeeds(str); err != nil {
			return err
		}
	} else {
		if c.Int("n") < 1 {
			return fmt.Errorf("-n %d: must be at least 1", c.Int("n"))
		}
		for i := 0; i < c.Int("n"); i++ {
			seeds = append(seeds, uint64(i))
		}
	}
	var imgs []image.Image
	if err := torch.Try(func() { imgs = s.render(seeds, psi, cls) }); err != nil {
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
		if err := s.styleMix(filepath.Join(out, "stylemix.png"), seeds, psi, cls, c.String("mix-layers")); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "sgan: wrote %d images to %s\n", len(imgs), out)
	return nil
}

// styleMix writes the StyleGAN figure: the first half of the seeds are row sources, the second
// half column destinations; cell (r, c) takes the chosen layers' styles from row r.
func (s *sampler) styleMix(path string, seeds []uint64, psi float64, cls int, layers string) error {
	if len(seeds) < 2 {
		return fmt.Errorf("--mix needs at least 2 seeds")
	}
	nws := s.G.NumWs()
	var lo, hi int
	switch layers {
	case "coarse":
		lo, hi = 0, min(4, nws)
	case "middle":
		lo, hi = min(4, nws), min(8, nws)
	case "fine":
		lo, hi = min(8, nws), nws
	default:
		return fmt.Errorf("--mix-layers %q: use coarse, middle or fine", layers)
	}
	rows, cols := seeds[:len(seeds)/2], seeds[len(seeds)/2:]
	return torch.Try(func() {
		wsOf := func(sd uint64) *torch.Tensor {
			var c *torch.Tensor
			if cls >= 0 {
				c = s.G.OneHot(torch.FromInt64([]int64{int64(cls)}, 1))
			}
			return s.G.Truncate(s.G.Broadcast(s.G.Map(seedZ(sd, s.G.Cfg.ZDim).ToDevice(s.dev, false), c)), psi)
		}
		toImg := func(ws *torch.Tensor) image.Image {
			var im image.Image
			torch.NoGrad(func() {
				x := s.G.Synthesize(ws, model.NoiseConst, nil)
				im = figure.ToImage(x.Float32s(), 1, s.G.Cfg.Channels, s.G.Cfg.Resolution, s.G.Cfg.Resolution, 0)
			})
			return im
		}
		torch.WithScope(func() {
			var rowImgs, colImgs []image.Image
			var mixed [][]image.Image
			colWs := make([]*torch.Tensor, len(cols))
			for j, sd := range cols {
				colWs[j] = wsOf(sd)
				colImgs = append(colImgs, toImg(colWs[j]))
			}
			for _, sd := range rows {
				rws := wsOf(sd)
				rowImgs = append(rowImgs, toImg(rws))
				var line []image.Image
				for j := range cols {
					parts := []*torch.Tensor{}
					if lo > 0 {
						parts = append(parts, colWs[j].Narrow(1, 0, int64(lo)))
					}
					parts = append(parts, rws.Narrow(1, int64(lo), int64(hi-lo)))
					if hi < nws {
						parts = append(parts, colWs[j].Narrow(1, int64(hi), int64(nws-hi)))
					}
					line = append(line, toImg(torch.Cat(parts, 1)))
				}
				mixed = append(mixed, line)
			}
			if err := figure.SavePNG(path, figure.StyleMix(rowImgs, colImgs, mixed, figure.DefaultPad)); err != nil {
				panic(&torch.Error{Op: "style mix", Msg: err.Error()})
			}
		})
	})
}

type manifestRow struct {
	File  string  `json:"file"`
	Seed  uint64  `json:"seed"`
	Class string  `json:"class,omitempty"`
	Psi   float64 `json:"psi"`
	Ckpt  string  `json:"checkpoint"`
	Hash  string  `json:"checkpoint_sha256"`
}

// export writes count synthetic images per class (or count in all) into ROOT/train/CLASS/ with
// manifest.jsonl tracing every file to its seed, class, psi and checkpoint.
func (s *sampler) export(ckpt, root string, count int, perClass bool, psi float64, cls int, classGiven bool) error {
	if count < 1 {
		return fmt.Errorf("--count %d: must be at least 1", count)
	}
	f, err := os.Open(ckpt)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", ckpt, err)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	type job struct {
		cls  int
		name string
	}
	var jobs []job
	switch {
	case s.G.Cfg.NumClasses == 0:
		jobs = []job{{-1, "synthetic"}}
	case perClass && !classGiven:
		for i, n := range s.classes {
			jobs = append(jobs, job{i, n})
		}
	default:
		jobs = []job{{cls, s.classes[cls]}}
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("--export %s: %w", root, err)
	}
	mf, err := os.Create(filepath.Join(root, "manifest.jsonl"))
	if err != nil {
		return fmt.Errorf("--export %s: %w", root, err)
	}
	defer mf.Close()
	enc := json.NewEncoder(mf)
	seed := uint64(0)
	for _, j := range jobs {
		dir := filepath.Join(root, "train", j.name)
		for done := 0; done < count; {
			n := min(256, count-done)
			seeds := make([]uint64, n)
			for i := range seeds {
				seeds[i] = seed
				seed++
			}
			var imgs []image.Image
			if err := torch.Try(func() { imgs = s.render(seeds, psi, j.cls) }); err != nil {
				return err
			}
			for i, img := range imgs {
				name := fmt.Sprintf("syn_%06d.png", seeds[i])
				if err := figure.SavePNG(filepath.Join(dir, name), img); err != nil {
					return err
				}
				row := manifestRow{File: filepath.Join("train", j.name, name), Seed: seeds[i], Psi: psi, Ckpt: ckpt, Hash: hash}
				if j.cls >= 0 {
					row.Class = j.name
				}
				if err := enc.Encode(row); err != nil {
					return fmt.Errorf("--export %s: manifest: %w", root, err)
				}
			}
			done += n
			fmt.Fprintf(os.Stderr, "\rsgan: export %s %d/%d", j.name, done, count)
		}
		fmt.Fprintln(os.Stderr)
	}
	return nil
}
