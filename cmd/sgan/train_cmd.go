package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"sgan/torch"
	"sgan/train"
)

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train StyleGAN2 (with no flags: the reference recipe on the embedded demo data)",
		Description: "Outputs go to run.dir: models/epochNNN.pt and models/last.pt checkpoints, stylegan_outputs/\n" +
			"sample grids, losses.csv and losses.png, config.toml. Ctrl-C saves models/last.pt; continue\n" +
			"with --resume RUN_DIR.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "TOML config (see sgan config init)"},
			&cli.StringFlag{Name: "preset", Usage: "start from a preset: recipe, demo (CPU-sized) or tiny"},
			&cli.StringSliceFlag{Name: "set", Usage: "override a key, e.g. --set train.batch_size=32 (repeatable)"},
			&cli.StringFlag{Name: "resume", Usage: "continue a run: its folder or a checkpoint file"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress line"},
		},
		Action: runTrain,
	}
}

// loadRunConfig builds the config from --preset, --config and --set, in that order.
func loadRunConfig(c *cli.Context) (train.Config, error) {
	cfg := train.DefaultConfig()
	var err error
	if p := c.String("preset"); p != "" {
		if cfg, err = train.Preset(p); err != nil {
			return cfg, err
		}
	}
	if path := c.String("config"); path != "" {
		if cfg, err = train.LoadConfig(path, cfg); err != nil {
			return cfg, err
		}
	}
	for _, kv := range c.StringSlice("set") {
		if err := cfg.Set(kv); err != nil {
			return cfg, err
		}
	}
	if c.Bool("quiet") {
		cfg.Run.Quiet = true
	}
	return cfg, cfg.Validate()
}

func runTrain(c *cli.Context) error {
	cfg, err := loadRunConfig(c)
	if err != nil {
		return err
	}
	resume := c.String("resume")
	if resume != "" && c.String("config") == "" && c.String("preset") == "" {
		// Resuming without a config continues with the run's own config.
		path, err := train.ResolveCheckpoint(resume)
		if err != nil {
			return err
		}
		a, err := train.LoadCheckpoint(path)
		if err != nil {
			return err
		}
		stored, err := train.ConfigOf(a)
		a.Free()
		if err != nil {
			return fmt.Errorf("%s: stored config: %w", path, err)
		}
		for _, kv := range c.StringSlice("set") {
			if err := stored.Set(kv); err != nil {
				return err
			}
		}
		if c.Bool("quiet") {
			stored.Run.Quiet = true
		}
		cfg = stored
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t, err := train.Open(cfg, resume)
	if err != nil {
		return err
	}
	defer t.Close()
	err = t.Run(ctx)
	if errors.Is(err, train.ErrInterrupted) {
		fmt.Fprintln(os.Stderr, "\nsgan: interrupted; saved", cfg.Run.Dir+"/models/last.pt; continue with: sgan train --resume", cfg.Run.Dir)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sgan: done: %d epochs; checkpoints in %s/models, samples in %s/stylegan_outputs, losses in %s/losses.png\n",
		t.Epoch(), cfg.Run.Dir, cfg.Run.Dir, cfg.Run.Dir)
	return nil
}

func versionString() string { return "0.1.0 (libtorch " + torch.Version() + ")" }
