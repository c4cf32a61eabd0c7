package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"sgan/builtin"
)

// TestBuiltinModel: sgan sample without --ckpt renders the built-in model and says so, and sgan
// serve without one serves it until SIGTERM.
func TestBuiltinModel(t *testing.T) {
	if len(builtin.Bytes()) == 0 {
		t.Skip("this build has no built-in model (builtin/demo.pt is empty)")
	}
	cache := t.TempDir()
	env := []string{"XDG_CACHE_HOME=" + cache}
	out := filepath.Join(t.TempDir(), "samples")
	stderr, code := sgan(t, env, "sample", "--seeds", "1-4", "--grid", "--out", out, "--device", "cpu")
	if code != 0 || !strings.Contains(stderr, "sgan: using the built-in demo model") {
		t.Fatalf("sample: exit %d, stderr %q", code, stderr)
	}
	for _, f := range []string{"seed0001.png", "seed0004.png", "grid.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("sample wrote no %s: %v", f, err)
		}
	}

	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--device", "cpu")
	cmd.Env = append(append(os.Environ(), asMainEnv+"=1", "SGAN_THREADS=1"), env...)
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed no URL: %v; stderr %s", err, errBuf.String())
	}
	url = strings.TrimSpace(url)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("serve printed %q", url)
	}
	res, err := http.Get(url + "api/info")
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Model struct {
			Name       string `json:"name"`
			Resolution int    `json:"resolution"`
		} `json:"model"`
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if err := json.Unmarshal(b, &info); err != nil || info.Model.Name != "built-in demo model" || info.Model.Resolution == 0 {
		t.Errorf("/api/info: %s (%v)", b, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v; stderr %s", err, errBuf.String())
		}
	case <-time.After(time.Minute):
		t.Errorf("serve did not stop within a minute of SIGTERM")
	}
}

// TestServeErrorsAreOneLine: bad arguments to sgan serve exit 1 with one line naming them.
func TestServeErrorsAreOneLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "a.pt", "b.pt"}, "one checkpoint or run folder"},
		{[]string{"serve", "--ckpt", "a.pt", "b.pt"}, "not both"},
		{[]string{"serve", filepath.Join(dir, "missing.pt")}, "missing.pt: no such checkpoint or run folder"},
		{[]string{"serve", "--addr", "127.0.0.1:99999", filepath.Join(dir)}, "--addr 127.0.0.1:99999"},
		{[]string{"serve", "--addr", "127.0.0.1:99999"}, "--addr 127.0.0.1:99999"}, // before the built-in model is named
	} {
		stderr, code := sgan(t, nil, tc.args...)
		if code != exitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("sgan %v: exit %d, stderr %q; want exit 1 and one line naming %q", tc.args, code, stderr, tc.want)
		}
	}
}
