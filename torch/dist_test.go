package torch

import (
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The distributed tests re-execute the test binary as worker processes (one process group per
// process, as in real runs), rendezvousing on a free localhost port.

const distWorkerEnv = "SGAN_TEST_DIST_WORKER"

// distStoreEnv names a rendezvous file: the workers join with NewLocalProcessGroup.
const distStoreEnv = "SGAN_TEST_DIST_STORE"

// FreePort returns a TCP port that was free a moment ago on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runWorkers starts world copies of the test binary running TestDistWorker in mode and returns
// each one's combined output and error.
func runWorkers(t *testing.T, mode string, world int, env ...string) ([]string, []error) {
	t.Helper()
	port := freePort(t)
	cmds := make([]*exec.Cmd, world)
	outs := make([]*strings.Builder, world)
	for r := range world {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestDistWorker$", "-test.v")
		cmd.Env = append(os.Environ(), distWorkerEnv+"="+mode, "SGAN_THREADS=1",
			"RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(world), "MASTER_PORT="+strconv.Itoa(port))
		cmd.Env = append(cmd.Env, env...)
		outs[r] = &strings.Builder{}
		cmd.Stdout, cmd.Stderr = outs[r], outs[r]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds[r] = cmd
	}
	res := make([]string, world)
	errs := make([]error, world)
	for r, cmd := range cmds {
		errs[r] = cmd.Wait()
		res[r] = outs[r].String()
	}
	return res, errs
}

func TestDistAllReduceBroadcastBarrier(t *testing.T) {
	outs, errs := runWorkers(t, "collectives", 2)
	for r := range outs {
		if errs[r] != nil || !strings.Contains(outs[r], "WORKER OK") {
			t.Errorf("rank %d: %v\n%s", r, errs[r], outs[r])
		}
	}
}

// TestDistDeadPeerFailsFast: a collective with a peer that died fails with an error naming the
// rank (the group's timeout is an hour, so failing at all means the death was noticed).
func TestDistDeadPeerFailsFast(t *testing.T) {
	outs, errs := runWorkers(t, "deadpeer", 2)
	if errs[0] != nil || !strings.Contains(outs[0], "WORKER OK") {
		t.Errorf("rank 0: %v\n%s", errs[0], outs[0])
	}
}

// TestDistLocalBindsLoopback: a group that meets in a file runs the collectives with every
// listening socket of both workers on 127.0.0.1. The same check on a TCPStore group sees rank 0's
// store listening on every interface (c10d's design, which the file rendezvous avoids).
func TestDistLocalBindsLoopback(t *testing.T) {
	for _, tc := range []struct {
		name, store string
		wantOpen    bool // some listener on a non-loopback address
	}{
		{"file", filepath.Join(t.TempDir(), "rendezvous"), false},
		{"tcp", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outs, errs := runWorkers(t, "listeners", 2, distStoreEnv+"="+tc.store)
			open := false
			for r := range outs {
				if errs[r] != nil || !strings.Contains(outs[r], "WORKER OK") {
					t.Fatalf("rank %d: %v\n%s", r, errs[r], outs[r])
				}
				open = open || strings.Contains(outs[r], "LISTEN NON-LOOPBACK")
				t.Logf("rank %d: %s", r, grepLines(outs[r], "LISTEN"))
			}
			if open != tc.wantOpen {
				t.Errorf("a listener on a non-loopback address: %v, want %v", open, tc.wantOpen)
			}
		})
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "; ")
}

// listeners returns the local addresses ("127.0.0.1:40123", "[::]:29500") of this process's
// listening TCP sockets, from /proc.
func listeners(t *testing.T) []string {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var out []string
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A: LISTEN
				continue
			}
			hostHex, portHex, _ := strings.Cut(f[1], ":")
			raw, err := hex.DecodeString(hostHex)
			if err != nil {
				t.Fatalf("%s: %q", file, line)
			}
			for i := 0; i+4 <= len(raw); i += 4 { // each 32-bit word is in host (little-endian) order
				raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
			}
			port, _ := strconv.ParseUint(portHex, 16, 16)
			out = append(out, net.JoinHostPort(net.IP(raw).String(), strconv.Itoa(int(port))))
		}
	}
	return out
}

func TestDistRejectsBadArguments(t *testing.T) {
	if _, err := NewProcessGroup("mpi", "127.0.0.1", 1234, 0, 1, time.Second); err == nil {
		t.Error("unknown backend accepted")
	}
	if _, err := NewProcessGroup("gloo", "127.0.0.1", 1234, 2, 2, time.Second); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Errorf("rank outside the world: %v", err)
	}
	if !NCCLAvailable() {
		if _, err := NewProcessGroup("nccl", "127.0.0.1", freePort(t), 0, 1, time.Second); err == nil || !strings.Contains(err.Error(), "NCCL") {
			t.Errorf("nccl without NCCL: %v", err)
		}
	}
	if _, err := NewLocalProcessGroup("gloo", "", 0, 1, time.Second); err == nil || !strings.Contains(err.Error(), "rendezvous file") {
		t.Errorf("local group without a file: %v", err)
	}
	// A world of one needs no peers.
	pg, err := NewProcessGroup("gloo", "127.0.0.1", freePort(t), 0, 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	s := NewScope()
	defer s.Close()
	x := FromFloat32([]float32{1, 2, 3}, 3)
	if err := pg.AllReduceMean([]*Tensor{x, nil}); err != nil {
		t.Fatal(err)
	}
	if got := x.Float32s(); got[0] != 1 || got[2] != 3 {
		t.Errorf("world-1 mean changed the values: %v", got)
	}
	pg.Close()
	if err := pg.Barrier(); err == nil {
		t.Error("barrier on a closed group succeeded")
	}
}

// TestDistWorker is the body of one worker process; it does nothing in a normal test run.
func TestDistWorker(t *testing.T) {
	mode := os.Getenv(distWorkerEnv)
	if mode == "" {
		t.Skip("only run as a worker process")
	}
	rank, _ := strconv.Atoi(os.Getenv("RANK"))
	world, _ := strconv.Atoi(os.Getenv("WORLD_SIZE"))
	port, _ := strconv.Atoi(os.Getenv("MASTER_PORT"))
	timeout := 20 * time.Second
	if mode == "deadpeer" {
		// Far longer than the test may take: an allreduce that fails did not fail by timing out.
		timeout = time.Hour
	}
	var pg *ProcessGroup
	var err error
	if file := os.Getenv(distStoreEnv); file != "" {
		pg, err = NewLocalProcessGroup("gloo", file, rank, world, timeout)
	} else {
		pg, err = NewProcessGroup("gloo", "127.0.0.1", port, rank, world, timeout)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	s := NewScope()
	defer s.Close()
	switch mode {
	case "collectives":
		distCollectives(t, pg)
	case "listeners":
		distCollectives(t, pg)
		for _, a := range listeners(t) {
			host, _, _ := net.SplitHostPort(a)
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				fmt.Println("LISTEN NON-LOOPBACK", a)
			} else {
				fmt.Println("LISTEN", a)
			}
		}
		if err := pg.Barrier(); err != nil { // both have looked before either closes
			t.Fatal(err)
		}
	case "deadpeer":
		if rank == 1 {
			os.Exit(0) // dies without taking part
		}
		x := FromFloat32([]float32{1}, 1)
		start := time.Now()
		err := pg.AllReduceMean([]*Tensor{x})
		if err == nil {
			t.Fatal("allreduce with a dead peer succeeded")
		}
		if !strings.Contains(err.Error(), "rank 0 of 2") {
			t.Errorf("error does not name the rank: %v", err)
		}
		t.Logf("after %v: %v", time.Since(start), err)
	}
	fmt.Println("WORKER OK")
}

func distCollectives(t *testing.T, pg *ProcessGroup) {
	r := float32(pg.Rank + 1)
	// Several shapes, a strided view and an int64 tensor; small buckets force several collectives.
	a := FromFloat32([]float32{r, 2 * r, 3 * r, 4 * r, 5 * r, 6 * r}, 2, 3)
	b := FromFloat32([]float32{10 * r}, 1)
	base := FromFloat32([]float32{r, -r, 2 * r, -2 * r}, 2, 2)
	c := base.Transpose(0, 1)           // not contiguous: reduced through a copy and written back
	scalar := FromFloat32([]float32{r}) // 0-d
	for _, bucket := range []int64{25 << 20, 8} {
		BucketBytes = bucket
		x, y, z, w := a.Clone(), b.Clone(), c.Clone(), scalar.Clone()
		if err := pg.AllReduceMean([]*Tensor{x, nil, y, z, w}); err != nil {
			t.Fatal(err)
		}
		// Mean over ranks 1 and 2 of r*k is 1.5*k.
		wantClose(t, "a", x.Float32s(), []float32{1.5, 3, 4.5, 6, 7.5, 9})
		wantClose(t, "b", y.Float32s(), []float32{15})
		wantClose(t, "c (transposed)", z.Float32s(), []float32{1.5, 3, -1.5, -3})
		wantClose(t, "0-d", w.Float32s(), []float32{1.5})
		sum := FromFloat32([]float32{r}, 1)
		if err := pg.AllReduceSum([]*Tensor{sum}); err != nil {
			t.Fatal(err)
		}
		wantClose(t, "sum", sum.Float32s(), []float32{3})

		p, q := a.Clone(), FromInt64([]int64{int64(pg.Rank) * 7, 5}, 2)
		if err := pg.Broadcast([]*Tensor{p, q}, 1); err != nil {
			t.Fatal(err)
		}
		wantClose(t, "broadcast", p.Float32s(), []float32{2, 4, 6, 8, 10, 12})
		if got := q.Int64s(); got[0] != 7 || got[1] != 5 {
			t.Errorf("broadcast int64: %v", got)
		}
	}
	BucketBytes = 25 << 20
	if err := pg.Barrier(); err != nil {
		t.Fatal(err)
	}
}

func wantClose(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
		return
	}
	for i := range got {
		if d := got[i] - want[i]; d > 1e-6 || d < -1e-6 {
			t.Errorf("%s: got %v, want %v", what, got, want)
			return
		}
	}
}
