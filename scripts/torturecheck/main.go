// Command torturecheck is scripts/torture's helper: it checks a run folder's checkpoints, kills a
// training inside a checkpoint write, and compares two checkpoints. Not part of sgan.
//
//	torturecheck check RUNDIR            every models/*.pt loads (run.LoadCheckpoint: format,
//	                                     stored config, finite networks); epochNNN.pt holds epoch
//	                                     NNN; prints "ok FILES LASTEPOCH EPOCHS TEMPS"
//	torturecheck killtmp PID RUNDIR SECS SIGKILLs PID as soon as a temporary file (.NAME.tmp-*)
//	                                     appears in models/ or stylegan_outputs/ once models/ holds
//	                                     a checkpoint (a kill in the first write leaves nothing
//	                                     to resume); prints
//	                                     "caught NAME" or "none" after SECS
//	torturecheck compare A.pt B.pt       prints the largest absolute difference between the two
//	                                     checkpoints' tensors and their counters; exit 1 unless 0
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"syscall"
	"time"

	"sgan/internal/safefile"
	"sgan/run"
	"sgan/torch"
)

func main() {
	if err := cmd(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "torturecheck:", err)
		os.Exit(1)
	}
}

func cmd(args []string) error {
	switch {
	case len(args) == 2 && args[0] == "check":
		return check(args[1])
	case len(args) == 4 && args[0] == "killtmp":
		pid, err := strconv.Atoi(args[1])
		if err != nil {
			return err
		}
		secs, err := strconv.ParseFloat(args[3], 64)
		if err != nil {
			return err
		}
		return killTmp(pid, args[2], time.Duration(secs*float64(time.Second)))
	case len(args) == 3 && args[0] == "compare":
		return compare(args[1], args[2])
	}
	return fmt.Errorf("usage: check RUNDIR | killtmp PID RUNDIR SECS | compare A.pt B.pt")
}

var epochName = regexp.MustCompile(`^epoch(\d+)\.pt$`)

// check loads every checkpoint of dir and counts the temporary files left in it.
func check(dir string) error {
	d := run.Dir(dir)
	entries, err := os.ReadDir(d.Models())
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	files, last, epochs := 0, -1, []int{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || filepath.Ext(name) != ".pt" {
			continue
		}
		ck, err := run.LoadCheckpoint(filepath.Join(d.Models(), name))
		if err != nil {
			return fmt.Errorf("CORRUPT %w", err)
		}
		epoch := ck.Epoch
		ck.Free()
		files++
		if m := epochName.FindStringSubmatch(name); m != nil {
			n, _ := strconv.Atoi(m[1])
			if n != epoch {
				return fmt.Errorf("CORRUPT %s holds epoch %d", name, epoch)
			}
			epochs = append(epochs, n)
		}
		if name == "last.pt" {
			last = epoch
		}
	}
	temps := 0
	for _, sub := range []string{dir, d.Models(), d.Samples()} {
		es, _ := os.ReadDir(sub)
		for _, e := range es {
			if safefile.IsTemp(e.Name()) {
				temps++
			}
		}
	}
	sort.Ints(epochs)
	list := ""
	for i, n := range epochs {
		if i > 0 {
			list += ","
		}
		list += strconv.Itoa(n)
	}
	if list == "" {
		list = "-"
	}
	fmt.Printf("ok %d %d %s %d\n", files, last, list, temps)
	return nil
}

// killTmp watches dir's folders for a temporary file and SIGKILLs pid when one appears.
func killTmp(pid int, dir string, limit time.Duration) error {
	d := run.Dir(dir)
	end := time.Now().Add(limit)
	stale := map[string]bool{} // a killed run's leftovers, which the resume removes: not a new write
	for _, sub := range []string{d.Models(), d.Samples()} {
		es, _ := os.ReadDir(sub)
		for _, e := range es {
			stale[e.Name()] = true
		}
	}
	for time.Now().Before(end) {
		if _, err := os.Stat(d.Last()); err != nil {
			if syscall.Kill(pid, 0) != nil {
				break
			}
			time.Sleep(500 * time.Microsecond)
			continue
		}
		for _, sub := range []string{d.Models(), d.Samples()} {
			es, _ := os.ReadDir(sub)
			for _, e := range es {
				if safefile.IsTemp(e.Name()) && !stale[e.Name()] {
					syscall.Kill(pid, syscall.SIGKILL)
					fmt.Println("caught", filepath.Join(filepath.Base(sub), e.Name()))
					return nil
				}
			}
		}
		if syscall.Kill(pid, 0) != nil {
			break // the training ended
		}
		time.Sleep(500 * time.Microsecond)
	}
	fmt.Println("none")
	return nil
}

// compare reports the largest difference between two checkpoints.
func compare(a, b string) error {
	ca, err := run.LoadCheckpoint(a)
	if err != nil {
		return err
	}
	defer ca.Free()
	cb, err := run.LoadCheckpoint(b)
	if err != nil {
		return err
	}
	defer cb.Free()
	if ca.Epoch != cb.Epoch || ca.Step != cb.Step || ca.GSteps != cb.GSteps {
		return fmt.Errorf("counters differ: epoch %d/%d, step %d/%d, g_steps %d/%d", ca.Epoch, cb.Epoch, ca.Step, cb.Step, ca.GSteps, cb.GSteps)
	}
	maxDiff, n := 0.0, 0
	for _, pair := range [][2]map[string]*torch.Tensor{
		{ca.Generator, cb.Generator}, {ca.GeneratorEMA, cb.GeneratorEMA}, {ca.Critic, cb.Critic},
		{ca.OptimG, cb.OptimG}, {ca.OptimD, cb.OptimD},
	} {
		if len(pair[0]) != len(pair[1]) {
			return fmt.Errorf("%d tensors against %d", len(pair[0]), len(pair[1]))
		}
		for name, x := range pair[0] {
			y, ok := pair[1][name]
			if !ok {
				return fmt.Errorf("%s: no tensor %s", b, name)
			}
			var d float64
			torch.WithScope(func() { d = x.ToDType(torch.Float64).Sub(y.ToDType(torch.Float64)).Abs().Amax(nil, false).Item() })
			maxDiff = max(maxDiff, d)
			n++
		}
	}
	fmt.Printf("max_abs_diff %g over %d tensors\n", maxDiff, n)
	if maxDiff != 0 {
		return fmt.Errorf("checkpoints differ by up to %g", maxDiff)
	}
	return nil
}
