package train

import (
	"context"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sgan/internal/launch"
	"sgan/run"
	"sgan/torch"
)

// The data-parallel tests start worker processes with LaunchLocal, re-executing this test binary
// as TestDistTrainWorker (one process group per process, as in real runs), on Gloo over localhost.

const trainWorkerEnv = "SGAN_TEST_TRAIN_WORKER" // mode:dataroot:rundir:dumpdir

// distData copies n demo images into a small dataset folder (ADNI layout), so an epoch is short.
func distData(t *testing.T, n int) string {
	t.Helper()
	src := filepath.Join("..", "data", "demo", "train", "NC")
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	dst := filepath.Join(root, "train", "NC")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range ents[:n] {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// distConfig is the tiny preset at global batch 8 over 32 images (4 steps per epoch, 2 epochs),
// with every regularizer on: gradient penalty, R1 every other step, path length every other
// generator step, style mixing and the EMA generator.
func distConfig(t *testing.T, dataRoot, runDir string) run.Config {
	t.Helper()
	cfg, err := run.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data.Root = dataRoot
	cfg.Data.Workers = 1
	cfg.Run.Dir = runDir
	cfg.Run.Quiet = true
	cfg.Run.Seed = 5
	cfg.Run.Threads = 1
	cfg.Train.BatchSize = 8
	cfg.Train.LogEvery = 2
	cfg.Train.R1Interval = 2
	cfg.Train.PLWeight = 2
	cfg.Train.PLInterval = 2
	// ADA: each rank must keep its rows of the batch's augmentation draws, and every rank must
	// adjust p alike (from the all-reduced signs). Fast enough that p moves within 8 steps.
	cfg.Train.Augment = "ada"
	cfg.Train.ADAP, cfg.Train.ADAKimg, cfg.Train.ADAInterval = 0.2, 0.1, 2
	// A larger Adam epsilon: a parameter whose gradient is ~0 (a dead unit's bias) otherwise moves
	// by +-lr on the sign of float noise, which differs with the reduction order across ranks.
	cfg.Train.Eps = 1e-4
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// dumpParams writes every tensor of the trainer's networks to path.
func dumpParams(tr *Trainer, path string) error {
	a := torch.NewArchive()
	for prefix, sd := range map[string]map[string]*torch.Tensor{
		"G": tr.nets.G.Store.StateDict(), "D": tr.nets.D.Store.StateDict(), "E": tr.nets.GEma.Store.StateDict(),
	} {
		for k, v := range sd {
			a.Tensors[prefix+"/"+k] = v
		}
	}
	return torch.SaveArchive(path, a)
}

// maxDiff is the largest absolute difference between same-named tensors of two dumps.
func maxDiff(t *testing.T, a, b string) float64 {
	t.Helper()
	x, err := torch.LoadArchive(a)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Free()
	y, err := torch.LoadArchive(b)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Free()
	if len(x.Tensors) != len(y.Tensors) || len(x.Tensors) == 0 {
		t.Fatalf("%s has %d tensors, %s %d", a, len(x.Tensors), b, len(y.Tensors))
	}
	d := 0.0
	for k, tx := range x.Tensors {
		ty, ok := y.Tensors[k]
		if !ok {
			t.Fatalf("%s lacks %s", b, k)
		}
		vx, vy := tx.Float32s(), ty.Float32s()
		for i := range vx {
			d = math.Max(d, math.Abs(float64(vx[i])-float64(vy[i])))
		}
	}
	return d
}

// launchWorkers runs world training workers in mode and returns LaunchLocal's error.
func launchWorkers(t *testing.T, world int, mode, dataRoot, runDir, dumpDir string, out io.Writer) error {
	t.Helper()
	timeout := "30s"
	if mode == "die" {
		// Far longer than the test may take: a job that ends did not end by a collective's timeout.
		timeout = "1h"
	}
	env := append(os.Environ(), trainWorkerEnv+"="+strings.Join([]string{mode, dataRoot, runDir, dumpDir}, "\x1f"),
		"SGAN_THREADS=1", "SGAN_DIST_TIMEOUT="+timeout)
	return launch.Local(world, os.Args[0], []string{"-test.run", "^TestDistTrainWorker$", "-test.v"}, env, out, out, 5*time.Second)
}

// TestDistTrainingMatchesOneProcess trains 2 Gloo workers on localhost and one process on the
// same global batches: both ranks must hold identical networks, equal to the single process's up
// to float noise. A second pair of workers is interrupted mid-epoch and its checkpoint resumed by
// one process (another world size): it must end where the uninterrupted runs did.
func TestDistTrainingMatchesOneProcess(t *testing.T) {
	dataRoot := distData(t, 32)
	base := t.TempDir()

	var log strings.Builder
	start := time.Now()
	if err := launchWorkers(t, 2, "full", dataRoot, filepath.Join(base, "dist"), base, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	distTime := time.Since(start)

	start = time.Now()
	one := openTrainer(t, distConfig(t, dataRoot, filepath.Join(base, "one")), "")
	if err := one.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := dumpParams(one, filepath.Join(base, "one.pt")); err != nil {
		t.Fatal(err)
	}
	one.Close()
	oneTime := time.Since(start)

	if d := maxDiff(t, filepath.Join(base, "rank0.pt"), filepath.Join(base, "rank1.pt")); d != 0 {
		t.Errorf("ranks differ after training: max |diff| %g", d)
	}
	d := maxDiff(t, filepath.Join(base, "rank0.pt"), filepath.Join(base, "one.pt"))
	t.Logf("2 ranks vs 1 process after 8 steps: max |diff| %.3g (2 workers %v, 1 process %v)", d, distTime.Round(time.Millisecond), oneTime.Round(time.Millisecond))
	if d > 1e-4 {
		t.Errorf("2 ranks and 1 process differ: max |diff| %g", d)
	}
	// Only rank 0 writes the run folder; the loss log matches the single process's.
	for _, f := range []string{"models/last.pt", "models/epoch002.pt", "stylegan_outputs/epoch002.png", "losses.csv"} {
		if _, err := os.Stat(filepath.Join(base, "dist", f)); err != nil {
			t.Errorf("rank 0 did not write %s", f)
		}
	}
	compareLossLogs(t, filepath.Join(base, "dist", "losses.csv"), filepath.Join(base, "one", "losses.csv"))

	// Interrupted after 3 steps on 2 ranks, resumed on 1.
	log.Reset()
	if err := launchWorkers(t, 2, "stop", dataRoot, filepath.Join(base, "stop"), base, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	res := openTrainer(t, distConfig(t, dataRoot, filepath.Join(base, "stop")), filepath.Join(base, "stop"))
	if res.Step() != 3 {
		t.Fatalf("resumed at step %d, want 3", res.Step())
	}
	if err := res.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := dumpParams(res, filepath.Join(base, "resumed.pt")); err != nil {
		t.Fatal(err)
	}
	res.Close()
	d = maxDiff(t, filepath.Join(base, "resumed.pt"), filepath.Join(base, "one.pt"))
	t.Logf("2 ranks for 3 steps, resumed on 1 process: max |diff| %.3g from the 1-process run", d)
	if d > 1e-4 {
		t.Errorf("resume on another world size differs: max |diff| %g", d)
	}
}

// compareLossLogs checks that two losses.csv files have the same rows up to float noise.
func compareLossLogs(t *testing.T, a, b string) {
	t.Helper()
	ra, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	la, lb := strings.Split(strings.TrimSpace(string(ra)), "\n"), strings.Split(strings.TrimSpace(string(rb)), "\n")
	if len(la) != len(lb) || len(la) < 2 {
		t.Fatalf("loss logs have %d and %d lines", len(la), len(lb))
	}
	for i := range la {
		fa, fb := strings.Split(la[i], ","), strings.Split(lb[i], ",")
		if len(fa) != len(fb) {
			t.Fatalf("loss log line %d: %q vs %q", i, la[i], lb[i])
		}
		for j := range fa {
			x, errx := strconv.ParseFloat(fa[j], 64)
			y, erry := strconv.ParseFloat(fb[j], 64)
			if errx != nil || erry != nil {
				if fa[j] != fb[j] {
					t.Errorf("loss log line %d: %q vs %q", i, la[i], lb[i])
				}
				continue
			}
			if math.Abs(x-y) > 1e-3*math.Max(1, math.Abs(y)) {
				t.Errorf("loss log line %d column %d: %v vs %v", i, j, x, y)
			}
		}
	}
}

// TestDistWorkerFailureStopsTheJob: a worker that dies ends the job, naming its rank. The
// collectives' timeout is an hour, so the job ending at all shows that the failure was noticed
// (the survivor's collective failed or the launcher stopped it), not waited out.
func TestDistWorkerFailureStopsTheJob(t *testing.T) {
	dataRoot := distData(t, 16)
	base := t.TempDir()
	var log strings.Builder
	err := launchWorkers(t, 2, "die", dataRoot, filepath.Join(base, "run"), base, &log)
	if err == nil || !strings.Contains(err.Error(), "rank 1 of 2") {
		t.Fatalf("want a failure naming rank 1, got %v\n%s", err, log.String())
	}
}

func TestDistConfigChecks(t *testing.T) {
	cfg, _ := run.Preset("tiny")
	cfg.Train.BatchSize = 6
	pg := &torch.ProcessGroup{Rank: 0, World: 4}
	if err := checkDistConfig(cfg, pg); err == nil || !strings.Contains(err.Error(), "multiple of 4") {
		t.Errorf("batch 6 over 4: %v", err)
	}
	cfg.Train.BatchSize = 4
	cfg.Train.PLWeight = 2
	if err := checkDistConfig(cfg, pg); err == nil || !strings.Contains(err.Error(), "path-length") {
		t.Errorf("path length on 2 images over 4: %v", err)
	}
	cfg.Train.BatchSize = 8
	if err := checkDistConfig(cfg, pg); err != nil {
		t.Error(err)
	}
	for _, c := range []struct{ m, w int }{{4, 2}, {3, 2}, {5, 3}} {
		var n, next int64
		for r := range c.w {
			s := plShare(int64(c.m), r, c.w)
			if s.Offset != next || s.n < 1 {
				t.Errorf("plShare(%d, %d, %d) = %+v", c.m, r, c.w, s)
			}
			next = s.Offset + s.n
			n += s.n
		}
		if n != int64(c.m) {
			t.Errorf("plShare over %d ranks covers %d of %d rows", c.w, n, c.m)
		}
	}
}

// TestDistTrainWorker is one training worker process; it does nothing in a normal test run.
func TestDistTrainWorker(t *testing.T) {
	spec := os.Getenv(trainWorkerEnv)
	if spec == "" {
		t.Skip("only run as a worker process")
	}
	parts := strings.Split(spec, "\x1f")
	mode, dataRoot, runDir, dumpDir := parts[0], parts[1], parts[2], parts[3]
	l, ok, err := launch.FromEnv()
	if err != nil || !ok {
		t.Fatalf("launch environment: %v %v", ok, err)
	}
	pg, err := l.Join(torch.CPU)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	tr, err := OpenDist(distConfig(t, dataRoot, runDir), "", pg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.Out = io.Discard
	switch mode {
	case "die":
		if l.Rank == 1 {
			os.Exit(3)
		}
		err := tr.Run(context.Background())
		if err == nil {
			t.Fatal("training with a dead peer succeeded")
		}
		t.Fatalf("rank %d of %d: %v", l.Rank, l.World, err) // the failure the launcher reports
	case "stop":
		if err := tr.RunUntil(context.Background(), 3); !errors.Is(err, ErrInterrupted) {
			t.Fatalf("want an interruption, got %v", err)
		}
	default:
		if err := tr.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := dumpParams(tr, filepath.Join(dumpDir, "rank"+strconv.Itoa(l.Rank)+".pt")); err != nil {
			t.Fatal(err)
		}
	}
}
