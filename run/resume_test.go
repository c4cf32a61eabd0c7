package run

import (
	"os"
	"path/filepath"
	"sgan/torch"
	"strings"
	"testing"
)

func TestResumeDir(t *testing.T) {
	base := t.TempDir()
	orig := filepath.Join(base, "runs", "orig")
	copyDir := filepath.Join(base, "runs", "copy")
	for _, d := range []string{orig, copyDir} {
		os.MkdirAll(filepath.Join(d, "models"), 0o755)
		os.WriteFile(filepath.Join(d, "models", "last.pt"), []byte("x"), 0o644)
	}
	loose := filepath.Join(base, "downloaded.pt")
	os.WriteFile(loose, []byte("x"), 0o644)
	for _, tc := range []struct {
		name, resume, configured string
		explicit                 bool
		want, err                string
	}{
		// The preset's run.dir (runs/demo) must not receive another run's resume.
		{"preset dir", orig, "runs/demo", false, orig, ""},
		// A copied folder stores the original's run.dir: the copy is what goes on.
		{"copied folder", copyDir, orig, false, copyDir, ""},
		{"checkpoint file", filepath.Join(copyDir, "models", "last.pt"), orig, false, copyDir, ""},
		{"explicit same", orig, orig + "/", true, orig, ""},
		{"explicit other", orig, copyDir, true, "", "a resumed run writes into its own folder"},
		{"loose file", loose, "runs/x", false, "runs/x", ""},
		{"missing", filepath.Join(base, "nope"), "runs/x", false, "", "no such run folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResumeDir(tc.resume, tc.configured, tc.explicit)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !SameFolder(got, tc.want) && got != tc.want {
				t.Fatalf("ResumeDir = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestSamplerRefusesOversizedConfig: a checkpoint whose config describes a network far larger
// than the weights it stores is refused before the network is allocated: the generator, or the
// critic that train --init/--resume would build (its own widths, model.critic_channel_base).
func TestSamplerRefusesOversizedConfig(t *testing.T) {
	w := torch.Zeros([]int64{4, 4}, torch.Options{})
	defer w.Free()
	for _, tc := range []struct {
		name   string
		set    func(*Config)
		critic bool
		want   string
	}{
		{"generator", func(c *Config) { c.Model.ChannelBase, c.Model.ChannelMax = 1<<20, 8192 }, false, "generator of about"},
		{"critic, none stored", func(c *Config) { c.Model.CriticChannelBase, c.Model.ChannelMax = 1<<20, 2048 }, false, "critic of about"},
		{"critic, small one stored", func(c *Config) { c.Model.CriticChannelBase, c.Model.ChannelMax = 1<<20, 2048 }, true, "stores 16 critic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Preset("tiny")
			if err != nil {
				t.Fatal(err)
			}
			tc.set(&cfg)
			if err := cfg.Validate(); err != nil && tc.name != "generator" {
				t.Fatalf("the config itself is valid: %v", err)
			}
			c := &Checkpoint{Config: cfg, Generator: map[string]*torch.Tensor{"mapping.fc0.weight": w}}
			if tc.critic {
				c.Critic = map[string]*torch.Tensor{"b4.out.weight": w}
			}
			if _, err := c.Sampler(torch.CPU); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "16 ") {
				t.Fatalf("Sampler = %v, want a refusal naming the sizes (%q)", err, tc.want)
			}
		})
	}
}
