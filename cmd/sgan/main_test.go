package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"sgan/project"
)

// The tests run the command as a separate process: the test binary re-executes itself with
// asMainEnv set, and TestMain then runs main() (with a test-only command that panics), so exit
// codes and stderr are the real ones.
const asMainEnv = "SGAN_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		extraCommands = append(extraCommands, testPanicCommand())
		main()
		return // not reached: main exits
	}
	os.Exit(m.Run())
}

// testPanicCommand is `sgan test-panic KIND`, which panics on the main goroutine: "index" with a
// runtime error, "value" with a two-line string.
func testPanicCommand() *cli.Command {
	return &cli.Command{
		Name: "test-panic",
		Action: func(c *cli.Context) error {
			switch c.Args().First() {
			case "index":
				xs := []int{1}
				i := 3
				_ = xs[i]
			case "value":
				panic("first line\nsecond line")
			}
			return errors.New("test-panic: say index or value")
		},
	}
}

// sgan runs the command with args and extra environment, returning its stderr and exit code.
func sgan(t *testing.T, env []string, args ...string) (stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1", "SGAN_THREADS=1"), env...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return errBuf.String(), 0
	case errors.As(err, &ee):
		return errBuf.String(), ee.ExitCode()
	}
	t.Fatalf("running sgan %v: %v", args, err)
	return "", -1
}

func TestPanicIsOneLine(t *testing.T) {
	line := func(msg, site string) *regexp.Regexp {
		return regexp.MustCompile(`^sgan: internal error: ` + regexp.QuoteMeta(msg) + ` \(at ` + site + `\); please report with this line\n`)
	}
	for _, tc := range []struct {
		kind  string
		debug bool
		want  *regexp.Regexp
	}{
		{"index", false, line("runtime error: index out of range [3] with length 1", `\S*testPanicCommand\.func1 sgan/main_test\.go:\d+`)},
		{"value", false, line("first line second line", `\S*testPanicCommand\.func1 sgan/main_test\.go:\d+`)},
		{"index", true, line("runtime error: index out of range [3] with length 1", `\S*testPanicCommand\.func1 sgan/main_test\.go:\d+`)},
	} {
		var env []string
		if tc.debug {
			env = append(env, debugEnv+"=1")
		}
		stderr, code := sgan(t, env, "test-panic", tc.kind)
		if code != exitInternal || !tc.want.MatchString(stderr) {
			t.Errorf("%s (debug %v): exit %d, stderr:\n%s\nwant exit 2 and a line matching %s", tc.kind, tc.debug, code, stderr, tc.want)
		}
		lines := strings.Count(stderr, "\n")
		hasTrace := strings.Contains(stderr, "goroutine ") && strings.Contains(stderr, "runtime/debug.Stack")
		if tc.debug != hasTrace || (!tc.debug && lines != 1) {
			t.Errorf("%s (debug %v): %d lines, trace %v:\n%s", tc.kind, tc.debug, lines, hasTrace, stderr)
		}
	}
}

// TestErrorsAreOneLine: errors the user can act on exit with status 1 and one line.
func TestErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[model]\nresolution = 1048576\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notCkpt := filepath.Join(dir, "x.pt")
	if err := os.WriteFile(notCkpt, []byte("PK\x03\x04 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"config", "check", bad}, "model.resolution"},
		{[]string{"sample", "--ckpt", filepath.Join(dir, "missing.pt")}, "missing.pt"},
		{[]string{"sample", "--ckpt", notCkpt}, notCkpt},
		{[]string{"test-panic", "other"}, "test-panic: say index or value"},
	} {
		stderr, code := sgan(t, nil, tc.args...)
		if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "sgan: ") || !strings.Contains(stderr, tc.want) {
			t.Errorf("sgan %v: exit %d, stderr %q; want exit 1 and one line naming %q", tc.args, code, stderr, tc.want)
		}
		if strings.Contains(stderr, "goroutine ") || strings.HasPrefix(stderr, "panic:") || strings.Contains(stderr, "\npanic:") {
			t.Errorf("sgan %v: a trace: %s", tc.args, stderr)
		}
	}
}

// TestLatentImageName: target names from a latent file make one plain file name in --out.
func TestLatentImageName(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"scans/AD/s01.png", "latent0000_s01.png"},
		{"../../../etc/passwd", "latent0000_passwd.png"},
		{`..\..\x.png`, "latent0000_.._.._x.png"},
		{"a\x00b\nc.png", "latent0000_a_b_c.png"},
		{"..", "latent0000_..png"},
		{"", "latent0000_.png"},
		{strings.Repeat("é", 80) + ".png", "latent0000_" + strings.Repeat("_", 64) + ".png"},
	} {
		got := latentImageName(&project.Latent{Targets: []string{tc.target}}, 0)
		if got != tc.want || strings.ContainsAny(got, `/\`) {
			t.Errorf("latentImageName(%q) = %q, want %q", tc.target, got, tc.want)
		}
	}
}

// TestConfigCheckRejectsAbsurdValues: `sgan config check` refuses NaN, infinity and absurd sizes
// with exit 1 and one line naming the key, as the cases (lr 1e30, rotate_deg = nan,
// mapping_lr_mul = inf, widths and z_dim of 2^40, resolution 2^20, ...).
func TestConfigCheckRejectsAbsurdValues(t *testing.T) {
	dir := t.TempDir()
	for i, tc := range []struct {
		toml, key string
	}{
		{"[train]\nschedule = [{epochs = 150, lr = 1e30}]\n", "train.schedule[0].lr"},
		{"[train]\nschedule = [{epochs = 150, lr = nan}]\n", "train.schedule[0].lr"},
		{"[train]\nbeta2 = inf\n", "train.beta2"},
		{"[train]\nr1_gamma = -inf\n", "train.r1_gamma"},
		{"[train]\nsample_grid = 100000\n", "train.sample_grid"},
		{"[train]\nbatch_size = 1099511627776\n", "train.batch_size"},
		{"[data]\nrotate_deg = nan\n", "data.rotate_deg"},
		{"[data]\nworkers = 1000000\n", "data.workers"},
		{"[model]\nmapping_lr_mul = inf\n", "model.mapping_lr_mul"},
		{"[model]\nchannel_max = 1099511627776\n", "model.channel_max"},
		{"[model]\nchannel_base = 1099511627776\n", "model.channel_base"},
		{"[model]\nz_dim = 1099511627776\n", "model.z_dim"},
		{"[model]\nw_dim = 1099511627776\n", "model.w_dim"},
		{"[model]\nresolution = 1048576\n", "model.resolution"},
		{"[model]\nresolution = 48\n", "model.resolution"},
		{"[model]\nconv_clamp = nan\n", "model.conv_clamp"},
		{"[model]\nchannel_base = 1048576\nchannel_max = 4096\nresolution = 1024\n", "model.MaxParams"},
		{"[run]\nthreads = 1000000\n", "run.threads"},
	} {
		p := filepath.Join(dir, fmt.Sprintf("c%d.toml", i))
		if err := os.WriteFile(p, []byte(tc.toml), 0o644); err != nil {
			t.Fatal(err)
		}
		stderr, code := sgan(t, nil, "config", "check", p)
		if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.key) {
			t.Errorf("config check of %q: exit %d, stderr %q; want exit 1 and one line naming %s", tc.toml, code, stderr, tc.key)
		}
	}
}
