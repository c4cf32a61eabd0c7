package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"sgan/internal/launch"
	"sgan/run"
	"sgan/torch"
	"sgan/train"
)

func trainCommand() *cli.Command {
	return &cli.Command{
		Name:  "train",
		Usage: "train StyleGAN2 (with no flags: the reference recipe on the embedded demo data)",
		Description: "Outputs go to run.dir: models/epochNNN.pt and models/last.pt checkpoints, stylegan_outputs/\n" +
			"sample grids, losses.csv and losses.png, config.toml. Ctrl-C saves models/last.pt; continue\n" +
			"with --resume RUN_DIR.\n\n" +
			"Data-parallel: --nproc N starts N local worker processes (one per GPU on CUDA); or start the\n" +
			"workers yourself, torchrun-style, with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK\n" +
			"set (SGAN_DIST_TIMEOUT, default 5m: how long to wait for a peer). train.batch_size is global.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "TOML config (see sgan config init)"},
			&cli.StringFlag{Name: "preset", Usage: "start from a preset: " + strings.Join(run.Presets, ", ") + " (recipe: the reference recipe; demo: CPU-sized; gpu: recommended on a GPU; tiny: tests)"},
			&cli.StringSliceFlag{Name: "set", Usage: "override a key, e.g. --set train.batch_size=32 (repeatable)"},
			&cli.StringFlag{Name: "resume", Usage: "continue a run: its folder or a checkpoint file"},
			&cli.StringFlag{Name: "init", Usage: "start from a trained model (a checkpoint, or `sgan convert` of an NVlabs pickle): transfer learning with fresh optimizers and schedule; its model config is the default"},
			&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no live progress line"},
			&cli.IntFlag{Name: "nproc", Usage: "data-parallel over N local worker processes (one per GPU on CUDA); batch_size stays global"},
		},
		Action: runTrain,
	}
}

// loadRunConfig builds the run's config in layers: the base (the checkpoint's own config when
// resuming without --config or --preset; else --preset or the recipe), then --config, then
// each --set, then --quiet; and validates it.
func loadRunConfig(c *cli.Context) (run.Config, error) {
	cfg := run.DefaultConfig()
	var err error
	if resume := c.String("resume"); resume != "" && c.String("config") == "" && c.String("preset") == "" {
		// Resuming without a config continues with the run's own config.
		if cfg, err = storedConfig(resume); err != nil {
			return cfg, err
		}
	}
	if p := c.String("preset"); p != "" {
		if cfg, err = run.Preset(p); err != nil {
			return cfg, err
		}
	}
	if init := c.String("init"); init != "" {
		if c.String("resume") != "" {
			return cfg, errors.New("--init and --resume: resume continues a run, init starts a new one from a trained model; give one")
		}
		// The trained model's architecture, unless the config or --set says otherwise.
		stored, err := storedConfig(init)
		if err != nil {
			return cfg, fmt.Errorf("--init: %w", err)
		}
		cfg.Model = stored.Model
	}
	dirBefore := cfg.Run.Dir
	if path := c.String("config"); path != "" {
		if cfg, err = run.LoadConfig(path, cfg); err != nil {
			return cfg, err
		}
	}
	configDir := cfg.Run.Dir != dirBefore // the config file chose run.dir
	for _, kv := range c.StringSlice("set") {
		if err := cfg.Set(kv); err != nil {
			return cfg, err
		}
	}
	if c.Bool("quiet") {
		cfg.Run.Quiet = true
	}
	if resume := c.String("resume"); resume != "" {
		if err := resumeIntoItsFolder(c, &cfg, resume, configDir); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.Validate()
}

// resumeIntoItsFolder makes a resumed run write into the folder it resumes (RUN for RUN or
// RUN/models/x.pt), whatever run.dir the preset or the stored config names (a copied run folder
// stores the original's); a run.dir given explicitly (by --set, or by --config changing it) that
// differs is refused, naming both.
func resumeIntoItsFolder(c *cli.Context, cfg *run.Config, resume string, configDir bool) error {
	explicit := configDir
	for _, kv := range c.StringSlice("set") {
		if k, _, _ := strings.Cut(kv, "="); strings.TrimSpace(k) == "run.dir" {
			explicit = true
		}
	}
	dir, err := run.ResumeDir(resume, cfg.Run.Dir, explicit)
	if err != nil {
		return err
	}
	cfg.Run.Dir = dir
	return nil
}

// storedConfig is the config inside a run's checkpoint (a run folder or a checkpoint file).
func storedConfig(resume string) (run.Config, error) {
	path, err := run.ResolveCheckpoint(resume)
	if err != nil {
		return run.Config{}, err
	}
	ck, err := run.LoadCheckpoint(path)
	if err != nil {
		return run.Config{}, err
	}
	defer ck.Free()
	return ck.Config, nil
}

func runTrain(c *cli.Context) error {
	job, distributed, err := launch.FromEnv()
	if err != nil {
		return err
	}
	if n := c.Int("nproc"); n > 1 && !distributed {
		// The launcher: the workers are this same command, told their ranks by the environment.
		if _, err := loadRunConfig(c); err != nil {
			return err
		}
		return launch.Local(n, os.Args[0], os.Args[1:], os.Environ(), os.Stdout, os.Stderr, 10*time.Second)
	}
	cfg, err := loadRunConfig(c)
	if err != nil {
		return err
	}
	resume := c.String("resume")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var pg *torch.ProcessGroup
	rank := 0
	if distributed && job.World > 1 {
		if pg, cfg, err = joinJob(job, cfg); err != nil {
			return err
		}
		defer pg.Close()
		rank = job.Rank
	}
	t, err := train.OpenDist(cfg, resume, pg)
	if err != nil {
		return rankErr(pg, err)
	}
	defer t.Close()
	if init := c.String("init"); init != "" {
		if err := t.InitFrom(init); err != nil {
			return rankErr(pg, err)
		}
	}
	err = t.Run(ctx)
	if rank != 0 {
		if errors.Is(err, train.ErrInterrupted) {
			return nil
		}
		return rankErr(pg, err)
	}
	if errors.Is(err, train.ErrInterrupted) {
		fmt.Fprintln(os.Stderr, "\nsgan: interrupted; saved", cfg.Run.Dir+"/models/last.pt; continue with: sgan train --resume", cfg.Run.Dir)
		return nil
	}
	if err != nil {
		return rankErr(pg, err)
	}
	fmt.Fprintf(os.Stderr, "sgan: done: %d epochs; checkpoints in %s/models, samples in %s/stylegan_outputs, losses in %s/losses.png\n",
		t.Epoch(), cfg.Run.Dir, cfg.Run.Dir, cfg.Run.Dir)
	return nil
}

// joinJob joins the data-parallel job: on CUDA each worker takes cuda:LOCAL_RANK.
func joinJob(l launch.Launch, cfg run.Config) (*torch.ProcessGroup, run.Config, error) {
	dev, err := torch.ParseDevice(cfg.Run.Device)
	if err != nil {
		return nil, cfg, fmt.Errorf("run.device: %w", err)
	}
	if dev.IsCUDA() {
		if n := torch.CUDADeviceCount(); l.LocalRank >= n {
			return nil, cfg, fmt.Errorf("rank %d: LOCAL_RANK=%d, but this machine has %d CUDA devices", l.Rank, l.LocalRank, n)
		}
		dev = torch.CUDA(l.LocalRank)
		cfg.Run.Device = dev.String()
	}
	pg, err := l.Join(dev)
	return pg, cfg, err
}

// rankErr names the worker in an error from a data-parallel run.
func rankErr(pg *torch.ProcessGroup, err error) error {
	if err == nil || pg == nil {
		return err
	}
	return fmt.Errorf("rank %d of %d: %w", pg.Rank, pg.World, err)
}

func versionString() string {
	return "0.2.0 (libtorch " + torch.Version() + ", BLAS: " + torch.BLASLibrary() + ")"
}
