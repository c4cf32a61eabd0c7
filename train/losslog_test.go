package train

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLogCSV(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	l, err := OpenLossLog(dir, []string{"G", "D", "gp"}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	steps := []struct {
		step  int64
		epoch int
		v     map[string]float64
	}{
		{0, 1, map[string]float64{"G": 1.5, "D": -0.25, "gp": 0.125}},
		{10, 1, map[string]float64{"G": 1, "D": -1e-9}}, // gp missing
		{20, 2, map[string]float64{"gp": math.Inf(1), "D": math.NaN(), "G": 3}},
	}
	for _, s := range steps {
		if err := l.Add(s.step, s.epoch, s.v); err != nil {
			t.Fatal(err)
		}
	}
	// Each Add is in the file at once.
	want := "step,epoch,G,D,gp\n0,1,1.5,-0.25,0.125\n10,1,1,-1e-09,\n20,2,3,,+Inf\n"
	if got := readFile(t, filepath.Join(dir, LossLogName)); got != want {
		t.Errorf("losses.csv =\n%s\nwant\n%s", got, want)
	}
	if err := l.Add(30, 2, map[string]float64{"R1": 1}); err == nil || !strings.Contains(err.Error(), `"R1" is not a column`) {
		t.Errorf("unknown column: err = %v", err)
	}
	if l.Len() != 3 {
		t.Errorf("Len = %d after a failed Add", l.Len())
	}
	if _, err := OpenLossLog(dir, []string{"G", "G"}, false); err == nil {
		t.Error("repeated column accepted")
	}
	if _, err := OpenLossLog(dir, []string{"a,b"}, false); err == nil {
		t.Error("column with a comma accepted")
	}
}

func TestLogResume(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LossLogName)
	l, err := OpenLossLog(dir, []string{"G", "D"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for s := range int64(5) {
		l.Add(s*10, int(s/2)+1, map[string]float64{"G": float64(s), "D": float64(-s)})
	}
	l.Close()

	tests := []struct {
		name    string
		columns []string
		resume  bool
		trunc   int64 // -1: no Truncate
		want    string
	}{
		{"fresh", []string{"G", "D"}, false, -1, "step,epoch,G,D\n"},
		{"keep", []string{"G", "D"}, true, -1, "step,epoch,G,D\n0,1,0,0\n10,1,1,-1\n20,2,2,-2\n30,2,3,-3\n40,3,4,-4\n"},
		{"truncate", []string{"G", "D"}, true, 25, "step,epoch,G,D\n0,1,0,0\n10,1,1,-1\n20,2,2,-2\n"},
		{"truncate at row", []string{"G", "D"}, true, 20, "step,epoch,G,D\n0,1,0,0\n10,1,1,-1\n"},
		{"truncate all", []string{"G", "D"}, true, 0, "step,epoch,G,D\n"},
		{"new columns", []string{"D", "pl"}, true, 15, "step,epoch,D,pl\n0,1,0,\n10,1,-1,\n"},
	}
	orig := readFile(t, path)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(path, []byte(orig), 0o644)
			l, err := OpenLossLog(dir, tt.columns, tt.resume)
			if err != nil {
				t.Fatal(err)
			}
			if tt.trunc >= 0 {
				if err := l.Truncate(tt.trunc); err != nil {
					t.Fatal(err)
				}
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("after open got\n%s\nwant\n%s", got, tt.want)
			}
			// Appending goes after the kept rows.
			if err := l.Add(99, 9, map[string]float64{tt.columns[0]: 0.5}); err != nil {
				t.Fatal(err)
			}
			l.Close()
			if got := readFile(t, path); got != tt.want+"99,9,0.5,\n" {
				t.Errorf("after Add got\n%s", got)
			}
		})
	}

	// A last row cut short by a crash is dropped; a short row in the middle is an error.
	os.WriteFile(path, []byte("step,epoch,G,D\n0,1,1,2\n10,1,3"), 0o644)
	l, err = OpenLossLog(dir, []string{"G", "D"}, true)
	if err != nil {
		t.Fatalf("cut-short last row: %v", err)
	}
	if l.Len() != 1 {
		t.Errorf("Len = %d, want 1", l.Len())
	}
	l.Close()
	os.WriteFile(path, []byte("step,epoch,G,D\n0,1\n10,1,3,4\n"), 0o644)
	if _, err := OpenLossLog(dir, []string{"G", "D"}, true); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("short middle row: err = %v", err)
	}
	os.WriteFile(path, []byte("a,b\n"), 0o644)
	if _, err := OpenLossLog(dir, []string{"G"}, true); err == nil {
		t.Error("bad header accepted")
	}
	// Resume without a file starts empty.
	l, err = OpenLossLog(filepath.Join(dir, "new"), []string{"G"}, true)
	if err != nil || l.Len() != 0 {
		t.Errorf("resume without file: %v, %d rows", err, l.Len())
	}
	l.Close()
}

func TestLogPlot(t *testing.T) {
	for _, n := range []int{0, 1, 50, 100_000} {
		dir := t.TempDir()
		l, err := OpenLossLog(dir, []string{"G", "D", "gp"}, false)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			x := float64(i)
			v := map[string]float64{"G": 1 + math.Sin(x/500) + 0.3*math.Sin(x*7.1), "D": -0.5 + 0.2*math.Cos(x*3.3)}
			if i%3 == 0 {
				v["gp"] = 0.1 * math.Exp(-x/1e4)
			}
			if i == n/2 {
				v["G"] = math.NaN()
			}
			l.Add(int64(i), i/336+1, v)
		}
		l.Close()
		path := filepath.Join(dir, "losses.png")
		// No timing assertion (timings belong in benchmarks): the plot's work is bounded by
		// decimate, which TestLogDecimate checks.
		if err := l.Plot(path); err != nil {
			t.Fatalf("%d rows: Plot: %v", n, err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%d rows: decode: %v", n, err)
		}
		if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 200 || b.Dx() > 4000 {
			t.Errorf("%d rows: image is %v", n, b)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
			t.Errorf("temporary files left: %v", m)
		}
	}
}

func TestLogDecimate(t *testing.T) {
	xs := make([]int64, 10_000)
	ys := make([]float64, len(xs))
	for i := range xs {
		xs[i] = int64(i)
		ys[i] = float64(i % 7)
	}
	ys[5000] = 100 // a spike
	raw, smooth := decimate(xs, ys, 100)
	if len(smooth) != 100 || len(raw) > 200 {
		t.Fatalf("decimated to %d raw, %d smooth points", len(raw), len(smooth))
	}
	spike := false
	for _, p := range raw {
		spike = spike || p.Y == 100
	}
	if !spike {
		t.Error("spike lost in the raw line")
	}
	for _, p := range smooth[10:90] {
		if p.Y < 2 || p.Y > 4.5 {
			t.Errorf("smooth value %g far from the mean 3", p.Y)
		}
	}
}

// fakeClock returns a clock that the test advances.
func fakeClock(p *Progress) *time.Time {
	t := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { return t }
	return &t
}

func TestProgressPlain(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false, 150, 336)
	clock := fakeClock(p)
	losses := map[string]float64{"gp": 0.123, "loss_d": -0.45, "loss_g": 1.234, "zz": 2, "aa": 3, "lr": 1e-4}
	p.Update(3, 1, 80, losses) // first update: printed, ETA unknown
	*clock = clock.Add(10 * time.Second)
	p.Update(3, 45, 87.2, nil) // within 30 s: not printed
	*clock = clock.Add(25 * time.Second)
	p.Update(3, 100, 87.2, nil) // 35 s after the first: printed
	*clock = clock.Add(5 * time.Second)
	p.EndEpoch(3, "87.2 img/s")
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// 99 steps in 35 s; (150*336 - (2*336+100)) steps left.
	left := 150*336 - (2*336 + 100)
	eta := FormatDuration(time.Duration(float64(35*time.Second) / 99 * float64(left)))
	want := []string{
		"epoch 3/150 1/336  80.0 img/s  ETA ?  G 1.23 D -0.45 gp 0.123 lr 0.0001 aa 3 zz 2",
		"epoch 3/150 100/336  87.2 img/s  ETA " + eta + "  G 1.23 D -0.45 gp 0.123 lr 0.0001 aa 3 zz 2",
		"epoch 3/150 done in 40s  87.2 img/s  G 1.23 D -0.45 gp 0.123 lr 0.0001 aa 3 zz 2",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(got), buf.String())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
	if strings.Contains(buf.String(), "\r") {
		t.Error("plain output contains \\r")
	}
}

func TestProgressTerminal(t *testing.T) {
	var buf bytes.Buffer
	p := NewProgress(&buf, false, 2, 10)
	p.term = true // as if buf were a terminal
	clock := fakeClock(p)
	p.Update(1, 1, 10, map[string]float64{"loss_g": 1, "loss_d": 2})
	*clock = clock.Add(100 * time.Millisecond)
	p.Update(1, 2, 10, nil) // too soon
	*clock = clock.Add(200 * time.Millisecond)
	p.Update(1, 5, 10, map[string]float64{"loss_g": 1})
	*clock = clock.Add(time.Second)
	p.EndEpoch(1, "")
	out := buf.String()
	want := "\repoch 1/2 [=>                  ] 1/10  10.0 img/s  ETA ?  G 1 D 2" +
		"\repoch 1/2 [=========>          ] 5/10  10.0 img/s  ETA 1s  G 1   " + // padded over the longer line
		"\r" + strings.Repeat(" ", 62) + "\repoch 1/2 done in 1s  G 1\n"
	if out != want {
		t.Errorf("got\n%q\nwant\n%q", out, want)
	}
	// Quiet on a terminal prints plain lines.
	if q := NewProgress(os.Stderr, true, 1, 1); q.term {
		t.Error("quiet progress redraws")
	}
}

func TestProgressFormat(t *testing.T) {
	durs := []struct {
		d    time.Duration
		want string
	}{
		{-1, "?"}, {0, "0s"}, {45 * time.Second, "45s"}, {725 * time.Second, "12m05s"},
		{time.Hour + 2*time.Minute + 20*time.Second, "1h02m"}, {76 * time.Hour, "3d04h"},
	}
	for _, tt := range durs {
		if got := FormatDuration(tt.d); got != tt.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	bars := []struct {
		f    float64
		want string
	}{{0, "[>    ]"}, {0.4, "[=>   ]"}, {1, "[=====]"}, {2, "[=====]"}, {math.NaN(), "[>    ]"}}
	for _, tt := range bars {
		if got := bar(tt.f, 5); got != tt.want {
			t.Errorf("bar(%g) = %q, want %q", tt.f, got, tt.want)
		}
	}
	if got := FormatLosses(nil); got != "" {
		t.Errorf("FormatLosses(nil) = %q", got)
	}
}
