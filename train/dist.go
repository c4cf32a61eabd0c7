package train

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"sgan/model"
	"sgan/torch"
)

// Data-parallel training. Every rank builds the same networks, reads the same global batches
// from the loader (the data order depends on the seed only, not on the number of processes) and
// trains on its own contiguous share of each batch: rows [rank*B/W, (rank+1)*B/W). Random draws
// (latents, style mixing, gradient-penalty alphas, synthesis noise, path-length noise) are made
// for the whole batch on every rank from the same generator in the same order, and each rank
// keeps its rows; the critic's minibatch-stddev groups are contiguous (model/critic.go), the
// gradients are averaged by one bucketed allreduce per optimizer step, and the batch mean of w
// for w_avg rides along with the generator's gradients. So W processes compute what one process
// computes for the whole batch, up to the order of float sums. Only rank 0 writes checkpoints,
// samples and the loss log, and reports progress.

// DefaultDistTimeout is how long a collective may wait for a peer before the job fails
// (SGAN_DIST_TIMEOUT overrides it).
const DefaultDistTimeout = 5 * time.Minute

// span is a batch's rows inside a larger one, with its length.
type span struct {
	model.Rows
	n int64
}

// of returns the span's rows of a tensor drawn for the whole batch (nil stays nil).
func (s span) of(x *torch.Tensor) *torch.Tensor {
	if x == nil || (s.Offset == 0 && s.n == s.Total) {
		return x
	}
	return x.Narrow(0, s.Offset, s.n)
}

// share is this rank's rows of a global batch of n (all of it in a single process; equal shares,
// since checkDistConfig makes the batch a multiple of the world size).
func (t *Trainer) share(n int64) span { return plShare(n, t.rank, t.world) }

// plShare is a rank's rows of the path-length batch of m: contiguous and as equal as m allows.
func plShare(m int64, rank, world int) span {
	lo, hi := int64(rank)*m/int64(world), int64(rank+1)*m/int64(world)
	return span{Rows: model.Rows{Offset: lo, Total: m}, n: hi - lo}
}

// distErr turns a failed collective into the panic trainStep's Try returns as its error.
func distErr(err error) {
	if err != nil {
		var te *torch.Error
		if errors.As(err, &te) {
			panic(te)
		}
		panic(&torch.Error{Op: "distributed", Msg: err.Error()})
	}
}

// globalMean is the mean of x's values over the m rows of all ranks together.
func (t *Trainer) globalMean(x *torch.Tensor, m int64) float64 {
	if t.pg == nil {
		return x.MeanAll().Item()
	}
	s := x.SumAll().Reshape(1)
	distErr(t.pg.AllReduceSum([]*torch.Tensor{s}))
	return s.Item() / float64(m)
}

// allReduceGrads averages the gradients of params (and extra, in place) over the ranks in one
// bucketed allreduce. With stop set it also carries this rank's stop request and reports
// whether any rank asked to stop.
func (t *Trainer) allReduceGrads(params []*torch.Tensor, extra *torch.Tensor, stop bool) bool {
	ts := make([]*torch.Tensor, 0, len(params)+2)
	for _, p := range params {
		ts = append(ts, p.Grad()) // nil (skipped) for a parameter without a gradient on every rank
	}
	if extra != nil {
		ts = append(ts, extra)
	}
	v := 0.0
	if stop {
		v = 1
	}
	flag := torch.Full([]int64{1}, v, torch.Options{Device: t.Device})
	ts = append(ts, flag)
	distErr(t.pg.AllReduceMean(ts))
	return flag.Item() > 0
}

// reduceStats reads the logged values; over several ranks, their means over the ranks (each
// value is a mean over a rank's equal share, so that is the global batch's value).
func (t *Trainer) reduceStats(vals map[string]*torch.Tensor) map[string]float64 {
	out := make(map[string]float64, len(vals))
	if t.pg == nil {
		for k, v := range vals {
			out[k] = v.Item()
		}
		return out
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]*torch.Tensor, len(keys))
	for i, k := range keys {
		parts[i] = vals[k].Reshape(1)
	}
	all := torch.Cat(parts, 0)
	distErr(t.pg.AllReduceMean([]*torch.Tensor{all}))
	for i, v := range all.Float32s() {
		out[keys[i]] = float64(v)
	}
	return out
}

func (t *Trainer) logAdd(step int64, epoch int, stats map[string]float64) error {
	if t.log == nil {
		return nil
	}
	return t.log.Add(step, epoch, stats)
}

// checkDistConfig rejects configs that cannot be split over pg's ranks.
func checkDistConfig(cfg Config, pg *torch.ProcessGroup) error {
	if pg == nil || pg.World == 1 {
		return nil
	}
	w, b := pg.World, cfg.Train.BatchSize
	if b%w != 0 {
		return fmt.Errorf("train.batch_size = %d does not split over %d processes: the batch size is global (each process trains on batch_size/%d images); use a multiple of %d",
			b, w, w, w)
	}
	if cfg.Train.PLWeight > 0 && max(b/2, 1) < w {
		return fmt.Errorf("train.batch_size = %d is too small for %d processes with path-length regularization (it runs on half the batch, at least one image per process); use at least %d",
			b, w, 2*w)
	}
	return nil
}

// syncStart makes every rank start from rank 0's networks, and checks that all ranks are at the
// same point of the run (a resume read the same checkpoint everywhere).
func (t *Trainer) syncStart() error {
	if t.pg == nil || t.world == 1 {
		return nil
	}
	return torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		var ts []*torch.Tensor
		for _, g := range []*model.Generator{t.G, t.GEma} {
			if g != nil {
				ts = append(ts, g.Store.All()...)
			}
		}
		ts = append(ts, t.Dnet.Store.All()...)
		mine := []int64{int64(t.epoch), int64(t.batch), t.step, t.gSteps}
		pos := torch.FromInt64(slices.Clone(mine), int64(len(mine))).ToDevice(t.Device, false)
		distErr(t.pg.Broadcast(append(ts, pos), 0))
		if got := pos.Int64s(); !slices.Equal(got, mine) {
			panic(&torch.Error{Op: "distributed", Msg: fmt.Sprintf(
				"rank %d is at epoch %d, batch %d (step %d) but rank 0 at epoch %d, batch %d (step %d): every rank must resume from the same checkpoint",
				t.rank, mine[0]+1, mine[1], mine[2], got[0]+1, got[1], got[2])})
		}
	})
}

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
}

// LaunchFromEnv reads the job from the environment. ok is false when WORLD_SIZE is unset (a
// single process).
func LaunchFromEnv() (l Launch, ok bool, err error) {
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
	if l.Timeout, err = DistTimeout(); err != nil {
		return l, false, err
	}
	l.Backend = os.Getenv("SGAN_DIST_BACKEND")
	return l, true, nil
}

// DistTimeout is SGAN_DIST_TIMEOUT (a Go duration such as 90s or 10m, or a number of seconds),
// DefaultDistTimeout when unset.
func DistTimeout() (time.Duration, error) {
	v := os.Getenv("SGAN_DIST_TIMEOUT")
	if v == "" {
		return DefaultDistTimeout, nil
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
	pg, err := torch.NewProcessGroup(backend, l.Addr, l.Port, l.Rank, l.World, l.Timeout)
	if err != nil {
		return nil, fmt.Errorf("rank %d of %d: %w", l.Rank, l.World, err)
	}
	return pg, nil
}

// distEnvKeys are the variables LaunchLocal sets for its workers.
var distEnvKeys = []string{"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"}

// LaunchLocal runs nproc workers on this machine, like torchrun --nproc-per-node: each is exe
// with args and the environment plus MASTER_ADDR=127.0.0.1, a free MASTER_PORT, RANK,
// LOCAL_RANK, WORLD_SIZE (and, unless set, SGAN_THREADS sharing the CPU cores between them).
// SIGINT and SIGTERM are forwarded to every worker. When a worker fails, the others are stopped
// (SIGTERM, then SIGKILL after grace) and the error names the rank that failed first.
func LaunchLocal(nproc int, exe string, args, env []string, stdout, stderr io.Writer, grace time.Duration) error {
	if nproc < 1 {
		return fmt.Errorf("--nproc %d: must be at least 1", nproc)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("distributed: no free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	base := make([]string, 0, len(env)+8)
	threadsSet := false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(distEnvKeys, k) {
			continue
		}
		if k == "SGAN_THREADS" || k == "OMP_NUM_THREADS" {
			threadsSet = true
		}
		base = append(base, kv)
	}
	if !threadsSet {
		base = append(base, "SGAN_THREADS="+strconv.Itoa(max(1, runtime.NumCPU()/nproc)))
	}
	base = append(base, "MASTER_ADDR=127.0.0.1", "MASTER_PORT="+strconv.Itoa(port),
		"WORLD_SIZE="+strconv.Itoa(nproc), "LOCAL_WORLD_SIZE="+strconv.Itoa(nproc))

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
