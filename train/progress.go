package train

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Progress intervals.
const (
	progressTermEvery  = 200 * time.Millisecond // redraws of the terminal line
	progressPlainEvery = 30 * time.Second       // plain lines when not on a terminal, or quiet
	progressBarWidth   = 20
)

// lossOrder is the display order of known losses; others follow in name order.
var lossOrder = []string{"loss_g", "G", "loss_d", "D", "gp", "r1", "pl", "d_real", "d_fake", "lr"}

// lossLabel is the short display name of a loss key.
var lossLabel = map[string]string{"loss_g": "G", "loss_d": "D"}

// Progress shows training progress. On a terminal it redraws one line (with \r) at most five
// times a second:
//
//	epoch 3/150 [=========>          ] 45/336  87.2 img/s  ETA 1h02m  G 1.23 D -0.45 gp 0.12
//
// When the writer is not a terminal, or quiet is set, it prints the same as a plain line at
// most every 30 s, so that logs stay readable. EndEpoch always prints a line. Losses are shown
// in a fixed order: G (loss_g), D (loss_d), gp, r1, pl, d_real, d_fake, lr, then the rest by
// name. It is safe for concurrent use.
type Progress struct {
	mu            sync.Mutex
	w             io.Writer
	term          bool
	total         int // epochs
	perEpoch      int // steps per epoch
	now           func() time.Time
	last          time.Time // last line written
	lineLen       int       // length of the terminal line on screen, 0 = none
	startStep     int       // global step at the first Update
	startTime     time.Time
	started       bool
	epochStart    time.Time
	epochStartSet bool
	losses        map[string]float64
}

// NewProgress reports to w for a run of totalEpochs epochs of stepsPerEpoch steps each.
func NewProgress(w io.Writer, quiet bool, totalEpochs, stepsPerEpoch int) *Progress {
	return &Progress{w: w, term: !quiet && isTerminal(w), total: totalEpochs, perEpoch: max(stepsPerEpoch, 1), now: time.Now}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Update records that stepInEpoch steps of epoch (1-based) are done, at imgsPerSec, with the
// latest losses (nil keeps the previous ones), and redraws when it is time.
func (p *Progress) Update(epoch, stepInEpoch int, imgsPerSec float64, losses map[string]float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	step := (epoch-1)*p.perEpoch + stepInEpoch
	if !p.started {
		// Steps are timed from the first Update on: the rate is (step - startStep) / elapsed.
		p.started, p.startStep, p.startTime = true, step, now
	}
	if !p.epochStartSet {
		p.epochStart, p.epochStartSet = now, true
	}
	if losses != nil {
		p.losses = losses
	}
	every := progressPlainEvery
	if p.term {
		every = progressTermEvery
	}
	if !p.last.IsZero() && now.Sub(p.last) < every {
		return
	}
	p.last = now
	line := p.format(epoch, stepInEpoch, imgsPerSec, p.eta(step, now))
	if p.term {
		pad := max(p.lineLen-len(line), 0)
		fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
		p.lineLen = len(line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

// eta estimates the time left from the mean rate since the first Update; negative when unknown.
func (p *Progress) eta(step int, now time.Time) time.Duration {
	done := step - p.startStep
	el := now.Sub(p.startTime)
	if done <= 0 || el <= 0 {
		return -1
	}
	left := p.total*p.perEpoch - step
	return time.Duration(float64(el) / float64(done) * float64(max(left, 0)))
}

// format is the progress line.
func (p *Progress) format(epoch, stepInEpoch int, imgsPerSec float64, eta time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d/%d ", epoch, p.total)
	if p.term {
		b.WriteString(bar(float64(stepInEpoch)/float64(p.perEpoch), progressBarWidth))
		b.WriteByte(' ')
	}
	fmt.Fprintf(&b, "%d/%d  %.1f img/s  ETA %s", stepInEpoch, p.perEpoch, imgsPerSec, FormatDuration(eta))
	if l := FormatLosses(p.losses); l != "" {
		b.WriteString("  ")
		b.WriteString(l)
	}
	return b.String()
}

// EndEpoch prints the end of an epoch: "epoch 3/150 done in 4m12s  SUMMARY  G 1.23 D -0.45".
func (p *Progress) EndEpoch(epoch int, summary string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var b strings.Builder
	if p.term && p.lineLen > 0 {
		fmt.Fprintf(&b, "\r%s\r", strings.Repeat(" ", p.lineLen))
		p.lineLen = 0
	}
	fmt.Fprintf(&b, "epoch %d/%d done", epoch, p.total)
	if p.epochStartSet {
		fmt.Fprintf(&b, " in %s", FormatDuration(now.Sub(p.epochStart)))
	}
	if summary != "" {
		b.WriteString("  " + summary)
	}
	if l := FormatLosses(p.losses); l != "" {
		b.WriteString("  " + l)
	}
	fmt.Fprintln(p.w, b.String())
	p.epochStartSet = false
	if !p.term {
		p.last = now // the next plain line comes 30 s after this one
	}
}

// bar is a progress bar of the given inner width for frac in [0, 1]: "[=====>    ]".
func bar(frac float64, width int) string {
	if !(frac >= 0) {
		frac = 0
	}
	frac = min(frac, 1)
	n := int(math.Round(frac * float64(width)))
	switch {
	case n >= width:
		return "[" + strings.Repeat("=", width) + "]"
	case n == 0:
		return "[>" + strings.Repeat(" ", width-1) + "]"
	}
	return "[" + strings.Repeat("=", n-1) + ">" + strings.Repeat(" ", width-n) + "]"
}

// FormatLosses formats losses in the display order as "G 1.23 D -0.45 gp 0.12" (3 significant
// digits; loss_g and loss_d shown as G and D).
func FormatLosses(losses map[string]float64) string {
	keys := make([]string, 0, len(losses))
	for k := range losses {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		ia, ib := slices.Index(lossOrder, a), slices.Index(lossOrder, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		name := k
		if l, ok := lossLabel[k]; ok {
			name = l
		}
		parts[i] = fmt.Sprintf("%s %.3g", name, losses[k])
	}
	return strings.Join(parts, " ")
}

// FormatDuration formats d compactly: "45s", "12m05s", "1h02m", "3d04h"; "?" when negative.
func FormatDuration(d time.Duration) string {
	if d < 0 {
		return "?"
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}
