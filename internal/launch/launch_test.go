package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	t.Setenv("SGAN_DIST_TIMEOUT", "90")
	if d, err := Timeout(); err != nil || d != 90*time.Second {
		t.Errorf("SGAN_DIST_TIMEOUT=90: %v %v", d, err)
	}
	t.Setenv("SGAN_DIST_TIMEOUT", "2m")
	if d, err := Timeout(); err != nil || d != 2*time.Minute {
		t.Errorf("SGAN_DIST_TIMEOUT=2m: %v %v", d, err)
	}
	t.Setenv("SGAN_DIST_TIMEOUT", "soon")
	if _, err := Timeout(); err == nil {
		t.Error("SGAN_DIST_TIMEOUT=soon accepted")
	}
	t.Setenv("WORLD_SIZE", "2")
	t.Setenv("RANK", "2")
	if _, _, err := FromEnv(); err == nil {
		t.Error("RANK outside WORLD_SIZE accepted")
	}
}

// TestLocalRendezvousFile: every worker of a Local job is told the same rendezvous file, in a
// private folder that exists while they run and is gone afterwards; a rendezvous file inherited
// from the environment is replaced, and NCCL's bootstrap is kept on loopback.
func TestLocalRendezvousFile(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	script := `d=$(dirname "$` + RendezvousEnv + `"); echo "$RANK $` + RendezvousEnv + ` $(stat -c %a "$d") $NCCL_SOCKET_IFNAME"`
	env := append(os.Environ(), RendezvousEnv+"=/tmp/inherited")
	if err := Local(2, "/bin/sh", []string{"-c", script}, env, out, out, time.Second); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(strings.ReplaceAll(string(b), "\n", " "))
	if len(lines) != 8 {
		t.Fatalf("worker output %q, want 2 lines of 4 fields", b)
	}
	file := lines[1]
	for r := 0; r < 2; r++ {
		f := lines[4*r : 4*r+4]
		if f[1] != file || f[1] == "/tmp/inherited" || !strings.HasSuffix(f[1], "/store") {
			t.Errorf("rank %s: rendezvous file %q (rank 0's %q)", f[0], f[1], file)
		}
		if f[2] != "700" {
			t.Errorf("rank %s: rendezvous folder mode %s, want 700", f[0], f[2])
		}
		if f[3] != "lo" {
			t.Errorf("rank %s: NCCL_SOCKET_IFNAME=%q, want lo", f[0], f[3])
		}
	}
	if _, err := os.Stat(filepath.Dir(file)); !os.IsNotExist(err) {
		t.Errorf("rendezvous folder %s left behind: %v", filepath.Dir(file), err)
	}
}
