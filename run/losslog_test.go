package run

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
	if got := readFile(t, Dir(dir).LossLog()); got != want {
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
	path := Dir(dir).LossLog()
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
