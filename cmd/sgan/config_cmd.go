package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"sgan/run"
)

// configCommand is `sgan config`: write a commented config file and check one.
func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "write a commented TOML config with every key, or check one",
		Subcommands: []*cli.Command{
			{
				Name:      "init",
				Usage:     "write the config of a preset, every key with its meaning and default (stdout without FILE)",
				ArgsUsage: "[FILE]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "preset", Value: "recipe", Usage: "starting point: " + strings.Join(run.Presets, ", ")},
					&cli.StringSliceFlag{Name: "set", Usage: "override a key, e.g. --set train.batch_size=32 (repeatable)"},
					&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "overwrite FILE if it exists"},
				},
				Action: configInit,
			},
			{
				Name:      "check",
				Usage:     "load and validate a config file; print ok or the first problem",
				ArgsUsage: "FILE",
				Action:    configCheck,
			},
		},
	}
}

func configInit(c *cli.Context) error {
	if c.NArg() > 1 {
		return fmt.Errorf("config init: at most one FILE, got %d arguments", c.NArg())
	}
	cfg, err := run.Preset(c.String("preset"))
	if err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	for _, kv := range c.StringSlice("set") {
		if err := cfg.Set(kv); err != nil {
			return fmt.Errorf("config init: %w", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	text := cfg.TOML()
	path := c.Args().First()
	if path == "" || path == "-" {
		_, err := fmt.Fprint(c.App.Writer, text)
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if c.Bool("force") {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("config init: %w", err)
		}
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("config init: %s already exists (use --force to overwrite it)", path)
	}
	if err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	_, err = f.WriteString(text)
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("config init: %w", err)
	}
	fmt.Fprintf(c.App.ErrWriter, "wrote %s (preset %s); check it with: sgan config check %s\n", path, c.String("preset"), path)
	return nil
}

func configCheck(c *cli.Context) error {
	if c.NArg() != 1 {
		return errors.New("config check: give one FILE, e.g. sgan config check sgan.toml")
	}
	cfg, err := run.LoadConfig(c.Args().First(), run.DefaultConfig())
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config %s: %w", c.Args().First(), err)
	}
	if err := cfg.CheckData(); err != nil {
		return fmt.Errorf("config %s: %w", c.Args().First(), err)
	}
	fmt.Fprintln(c.App.Writer, "ok")
	return nil
}
