package train

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

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
