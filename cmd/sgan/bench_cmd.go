package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"sgan/run"
	"sgan/train"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "time training steps and the generator forward (scripts/bench compares them with PyTorch)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "TOML config"},
			&cli.StringFlag{Name: "preset", Value: "demo", Usage: "preset: " + strings.Join(run.Presets, ", ")},
			&cli.StringSliceFlag{Name: "set", Usage: "override a key (repeatable)"},
			&cli.IntFlag{Name: "warmup", Value: 3, Usage: "untimed steps first"},
			&cli.IntFlag{Name: "steps", Value: 10, Usage: "timed steps"},
			&cli.IntFlag{Name: "g-batch", Value: 64, Usage: "batch of the timed generator forward"},
			&cli.StringFlag{Name: "weights", Usage: "write the starting weights here (and the batch next to it) for a PyTorch run"},
			&cli.StringFlag{Name: "json", Usage: "write the result as JSON here"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := loadRunConfig(c)
			if err != nil {
				return err
			}
			cfg.Run.Dir = os.TempDir() + "/sgan-bench"
			t, err := train.Open(cfg, "")
			if err != nil {
				return err
			}
			defer t.Close()
			t.Quiet()
			w := c.String("weights")
			bf := ""
			if w != "" {
				bf = w + ".batch.pt"
			}
			r, err := t.Bench(c.Int("warmup"), c.Int("steps"), c.Int("g-batch"), w, bf)
			if err != nil {
				return err
			}
			var ru syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			out := struct {
				*train.BenchResult
				PeakRSSMB float64 `json:"peak_rss_mb"`
			}{r, float64(ru.Maxrss) / 1024}
			b, _ := json.MarshalIndent(out, "", "  ")
			if p := c.String("json"); p != "" {
				if err := os.WriteFile(p, b, 0o644); err != nil {
					return err
				}
			}
			fmt.Println(string(b))
			return nil
		},
	}
}
