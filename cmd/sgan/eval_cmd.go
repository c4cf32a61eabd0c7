package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"sgan/eval"
	"sgan/torch"
)

func evalCommand() *cli.Command {
	return &cli.Command{
		Name:  "eval",
		Usage: "score checkpoints against the real images: SWD, domain FD/KID, FID/KID (--inception), precision/recall, memorization, utility",
		Description: `Generates --n images per checkpoint and compares them with the real train split (and the
test split as the yardstick of unseen data). Writes OUT/eval.json, OUT/eval.png (one page) and
OUT/pairs-NAME.png (the generated images closest to a training image), and prints a table.
Under it, the precision yardstick: the precision of real training images moved sideways by 1
and 2 pixels, scored like a model's samples. Low values mean the real images are near-copies of
each other (adjacent slices of few brains) and precision asks for near-exact reproductions.

fd_domain and kid_domain are measured in the features of a small CNN that eval trains on the real
training split (an AD/NC classifier when the data has 2+ classes, else an autoencoder), cached in
--cache-dir and keyed by the data, so numbers compare between runs on the same data. They are not
Inception FID/KID and are not comparable with published numbers.

With --inception FILE, fid and kid are added: the standard Fréchet and kernel distances, measured
in the features of FILE, a TorchScript module (torch.jit.script or torch.jit.trace, saved with
.save()) run on --device. Its contract: forward(x) takes float32 x of shape [N, 3, 299, 299]
with values in [0, 255] (sgan maps images to 8-bit values, repeats gray to 3 channels and
resizes bilinearly to 299x299, batches of 32) and returns one feature vector per image: a
tensor [N, D] (or [N, D, 1, 1]; flattened), or a tuple/list whose first element is one. They
are Inception FID/KID only when FILE is the standard Inception-v3 feature extractor returning
its 2048-d pool features. NVlabs' inception-2015-12-05.pt (StyleGAN2-ADA's metrics) returns
those only when called as forward(x, return_features=True), so it needs a small wrapper module
whose forward makes that call. Even then the numbers compare with published ones only at the same
image counts (e.g. 50k generated images against the full training set).`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "ckpt", Required: true, Usage: "checkpoint or run folder; repeat to compare several; LABEL=PATH groups runs of one variant (e.g. seeds): the table adds their mean ± sd"},
			&cli.StringFlag{Name: "data", Usage: "real data root (default: the first checkpoint's data.root; \"demo\" = the embedded demo data)"},
			&cli.IntFlag{Name: "n", Value: 2000, Usage: "images generated per checkpoint"},
			&cli.IntFlag{Name: "max-real", Value: 10000, Usage: "cap on real images per split (a fixed random subset)"},
			&cli.Uint64Flag{Name: "seed", Value: 0, Usage: "seed of latents, subsets and projections"},
			&cli.Float64Flag{Name: "trunc", Value: 1, Usage: "truncation psi in [0, 1] (1 = none, as for published metrics)"},
			&cli.StringFlag{Name: "out", Value: "eval", Usage: "output folder"},
			&cli.StringFlag{Name: "cache-dir", Usage: "feature-net cache (default ~/.cache/sgan)"},
			&cli.IntFlag{Name: "feature-steps", Value: 400, Usage: "training steps of the feature net (part of its cache key)"},
			&cli.IntFlag{Name: "pairs", Value: 16, Usage: "closest pairs in pairs-NAME.png (4 go on eval.png)"},
			&cli.BoolFlag{Name: "no-utility", Usage: "skip the train-on-synthetic utility test of conditional models"},
			&cli.StringFlag{Name: "inception", Usage: "TorchScript feature extractor for fid/kid: forward(float32 [N,3,299,299] in [0,255]) -> [N,D] features (or a tuple/list starting with them); see the description"},
			&cli.StringFlag{Name: "device", Value: "auto", Usage: "where generators and the --inception module run: auto, cpu, cuda or cuda:N"},
		},
		Action: runEval,
	}
}

func runEval(c *cli.Context) error {
	psi := c.Float64("trunc")
	if psi <= 0 || psi > 1 {
		return fmt.Errorf("--trunc %g: must be in (0, 1] (1 = no truncation)", psi)
	}
	if c.Int("n") < 10 {
		return fmt.Errorf("--n %d: must be at least 10", c.Int("n"))
	}
	if c.Int("feature-steps") < 1 {
		return fmt.Errorf("--feature-steps %d: must be at least 1", c.Int("feature-steps"))
	}
	dev, err := torch.ParseDevice(c.String("device"))
	if err != nil {
		return err
	}
	out := c.String("out")
	var ckpts, groups []string
	for _, v := range c.StringSlice("ckpt") {
		label, path, ok := strings.Cut(v, "=")
		if !ok || label == "" || strings.ContainsAny(label, `/\`) {
			label, path = "", v
		}
		ckpts, groups = append(ckpts, path), append(groups, label)
	}
	opt := eval.Options{
		Checkpoints: ckpts,
		Groups:      groups,
		DataRoot:    c.String("data"),
		N:           c.Int("n"),
		MaxReal:     c.Int("max-real"),
		Seed:        c.Uint64("seed"),
		Psi:         psi,
		Device:      dev,
		CacheDir:    c.String("cache-dir"),
		Feature:     eval.TrainConfig{Steps: c.Int("feature-steps"), HFlip: true},
		Inception:   c.String("inception"),
		NoUtility:   c.Bool("no-utility"),
		Pairs:       c.Int("pairs"),
		Log:         os.Stderr,
	}
	rep, err := eval.Run(opt)
	if err != nil {
		return err
	}
	if err := rep.WriteOutputs(out, opt.Pairs); err != nil {
		return err
	}
	rep.WriteTable(os.Stdout)
	fmt.Fprintf(os.Stderr, "sgan: wrote %s, %s and the pairs figures\n", filepath.Join(out, "eval.json"), filepath.Join(out, "eval.png"))
	return nil
}
