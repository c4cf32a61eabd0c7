// Package launch starts and joins data-parallel training jobs the way torchrun does: Local
// runs N worker processes on this machine with MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and
// LOCAL_RANK in their environment, FromEnv reads that environment in a worker, and Join creates
// the worker's process group.
//
// Exposure: Local's workers meet in a rendezvous file in a fresh private folder (RendezvousEnv)
// and Gloo binds to 127.0.0.1, so a local job listens on no network interface. Workers started by
// hand (several machines) meet at MASTER_ADDR:MASTER_PORT, where rank 0's c10d TCPStore listens
// on every interface; neither it nor Gloo authenticates its peers, so such jobs belong on a
// trusted private network, as with PyTorch.
package launch

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sgan/torch"
)

// DefaultTimeout is how long a collective may wait for a peer before the job fails
// (SGAN_DIST_TIMEOUT overrides it).
const DefaultTimeout = 5 * time.Minute

// Launch is a process's place in a data-parallel job, as torchrun describes it in the
// environment: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK; SGAN_DIST_TIMEOUT (a Go
// duration such as 10m, or seconds) and SGAN_DIST_BACKEND (gloo or nccl) are optional.
type Launch struct {
	Addr      string
	Port      int
	Rank      int
	World     int
	LocalRank int
	Timeout   time.Duration
	Backend   string // "" picks nccl on CUDA when the build has it, else gloo
	StoreFile string // the rendezvous file of a Local job (RendezvousEnv); "" = MASTER_ADDR:MASTER_PORT
}

// RendezvousEnv names the rendezvous file that Local gives its workers: they meet there (a c10d
// FileStore) instead of at a TCP store, which would listen on every interface.
const RendezvousEnv = "SGAN_RENDEZVOUS_FILE"

// FromEnv reads the job from the environment. ok is false when WORLD_SIZE is unset (a
// single process).
func FromEnv() (l Launch, ok bool, err error) {
	ws := os.Getenv("WORLD_SIZE")
	if ws == "" {
		return l, false, nil
	}
	num := func(key, def string) (int, error) {
		v := os.Getenv(key)
		if v == "" {
			v = def
		}
		if v == "" {
			return 0, fmt.Errorf("distributed: WORLD_SIZE is set but %s is not", key)
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("distributed: %s=%q is not a non-negative integer", key, v)
		}
		return n, nil
	}
	if l.World, err = num("WORLD_SIZE", ""); err != nil {
		return l, false, err
	}
	if l.World < 1 {
		return l, false, fmt.Errorf("distributed: WORLD_SIZE=%d must be at least 1", l.World)
	}
	if l.Rank, err = num("RANK", ""); err != nil {
		return l, false, err
	}
	if l.Rank >= l.World {
		return l, false, fmt.Errorf("distributed: RANK=%d is outside WORLD_SIZE=%d", l.Rank, l.World)
	}
	if l.LocalRank, err = num("LOCAL_RANK", strconv.Itoa(l.Rank)); err != nil {
		return l, false, err
	}
	if l.Port, err = num("MASTER_PORT", "29500"); err != nil {
		return l, false, err
	}
	if l.Addr = os.Getenv("MASTER_ADDR"); l.Addr == "" {
		l.Addr = "127.0.0.1"
	}
	if l.Timeout, err = Timeout(); err != nil {
		return l, false, err
	}
	l.Backend = os.Getenv("SGAN_DIST_BACKEND")
	l.StoreFile = os.Getenv(RendezvousEnv)
	return l, true, nil
}

// Timeout is SGAN_DIST_TIMEOUT (a Go duration such as 90s or 10m, or a number of seconds),
// DefaultTimeout when unset.
func Timeout() (time.Duration, error) {
	v := os.Getenv("SGAN_DIST_TIMEOUT")
	if v == "" {
		return DefaultTimeout, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return d, nil
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("distributed: SGAN_DIST_TIMEOUT=%q is not a positive duration (e.g. 300s, 10m)", v)
}

// Join creates the job's process group for a trainer on device d: NCCL on CUDA when the build
// has it (unless Backend says otherwise), Gloo otherwise.
func (l Launch) Join(d torch.Device) (*torch.ProcessGroup, error) {
	backend := l.Backend
	if backend == "" {
		backend = "gloo"
		if d.IsCUDA() && torch.NCCLAvailable() {
			backend = "nccl"
		}
	}
	var pg *torch.ProcessGroup
	var err error
	if l.StoreFile != "" {
		pg, err = torch.NewLocalProcessGroup(backend, l.StoreFile, l.Rank, l.World, l.Timeout)
	} else {
		pg, err = torch.NewProcessGroup(backend, l.Addr, l.Port, l.Rank, l.World, l.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("rank %d of %d: %w", l.Rank, l.World, err)
	}
	return pg, nil
}

// envKeys are the variables Local sets for its workers.
var envKeys = []string{"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", RendezvousEnv}

// Local runs nproc workers on this machine, like torchrun --nproc-per-node: each is exe
// with args and the environment plus MASTER_ADDR=127.0.0.1, a free MASTER_PORT, RANK,
// LOCAL_RANK, WORLD_SIZE, RendezvousEnv (a file in a fresh 0700 folder, removed at the end: the
// workers meet there, so nothing listens on the network), and, unless set, SGAN_THREADS sharing
// the CPU cores between them and NCCL_SOCKET_IFNAME=lo (NCCL's bootstrap on loopback).
// SIGINT and SIGTERM are forwarded to every worker. When a worker fails, the others are stopped
// (SIGTERM, then SIGKILL after grace) and the error names the rank that failed first.
func Local(nproc int, exe string, args, env []string, stdout, stderr io.Writer, grace time.Duration) error {
	if nproc < 1 {
		return fmt.Errorf("--nproc %d: must be at least 1", nproc)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("distributed: no free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	rdzv, err := os.MkdirTemp("", "sgan-rendezvous-") // mode 0700
	if err != nil {
		return fmt.Errorf("distributed: rendezvous folder: %w", err)
	}
	defer os.RemoveAll(rdzv)

	base := make([]string, 0, len(env)+8)
	threadsSet, ncclIfSet := false, false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(envKeys, k) {
			continue
		}
		if k == "SGAN_THREADS" || k == "OMP_NUM_THREADS" {
			threadsSet = true
		}
		ncclIfSet = ncclIfSet || k == "NCCL_SOCKET_IFNAME"
		base = append(base, kv)
	}
	if !threadsSet {
		base = append(base, "SGAN_THREADS="+strconv.Itoa(max(1, runtime.NumCPU()/nproc)))
	}
	if !ncclIfSet {
		base = append(base, "NCCL_SOCKET_IFNAME=lo")
	}
	base = append(base, "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port),
		"WORLD_SIZE="+strconv.Itoa(nproc), "LOCAL_WORLD_SIZE="+strconv.Itoa(nproc),
		RendezvousEnv+"="+filepath.Join(rdzv, "store"))

	// Pdeathsig ends the workers with the launcher; it is tied to the starting OS thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	type exit struct {
		rank int
		err  error
	}
	done := make(chan exit, nproc)
	cmds := make([]*exec.Cmd, 0, nproc)
	stopAll := func(sig syscall.Signal) {
		for _, c := range cmds {
			c.Process.Signal(sig) // a worker that has exited answers os.ErrProcessDone
		}
	}
	for r := range nproc {
		c := exec.Command(exe, args...)
		c.Env = append(slices.Clone(base), "RANK="+strconv.Itoa(r), "LOCAL_RANK="+strconv.Itoa(r))
		c.Stdout, c.Stderr = stdout, stderr
		// Own process group: a terminal's Ctrl-C reaches the workers once, through the launcher.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			stopAll(syscall.SIGKILL)
			return fmt.Errorf("distributed: starting rank %d: %w", r, err)
		}
		cmds = append(cmds, c)
		go func(r int, c *exec.Cmd) { done <- exit{r, c.Wait()} }(r, c)
	}

	var first *exit
	var kill <-chan time.Time
	for left := nproc; left > 0; {
		select {
		case s := <-sigs:
			stopAll(s.(syscall.Signal))
		case <-kill:
			stopAll(syscall.SIGKILL)
		case e := <-done:
			left--
			if e.err != nil && first == nil {
				first = &e
				fmt.Fprintf(stderr, "sgan: rank %d failed (%v); stopping the other workers\n", e.rank, e.err)
				stopAll(syscall.SIGTERM)
				kill = time.After(grace)
			}
		}
	}
	if first != nil {
		return fmt.Errorf("distributed training failed: rank %d of %d exited with %v (see the messages above)", first.rank, nproc, first.err)
	}
	return nil
}
