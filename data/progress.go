package data

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progressBar shows how many of total items are done. On a terminal it
// redraws one line at most ten times a second:
//
//	build [=========>          ] 45/96 volumes  2m10s left
//
// Elsewhere (a log file) it prints a plain line at every tenth of the work.
// It is safe for concurrent use; a nil *progressBar does nothing.
type progressBar struct {
	mu          sync.Mutex
	w           io.Writer
	term        bool
	label, unit string
	total, done int
	start, last time.Time
	tenth       int // last tenth printed (plain mode)
}

func newProgressBar(w io.Writer, label, unit string, total int) *progressBar {
	if w == nil || total <= 0 {
		return nil
	}
	p := &progressBar{w: w, term: isTerminal(w), label: label, unit: unit, total: total, start: time.Now()}
	p.draw(true)
	return p
}

// isTerminal reports whether w is a character device.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// add records n more items done.
func (p *progressBar) add(n int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.draw(p.done == p.total)
}

// finish ends the terminal line.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.term {
		fmt.Fprintln(p.w)
	}
}

func (p *progressBar) draw(force bool) {
	now := time.Now()
	if p.term {
		if !force && now.Sub(p.last) < 100*time.Millisecond {
			return
		}
		p.last = now
		const width = 20
		fill := width * p.done / p.total
		bar := strings.Repeat("=", fill)
		if fill < width {
			bar += ">" + strings.Repeat(" ", width-fill-1)
		}
		fmt.Fprintf(p.w, "\r%s [%s] %d/%d %s%s\x1b[K", p.label, bar, p.done, p.total, p.unit, p.eta(now))
		return
	}
	tenth := 10 * p.done / p.total
	if !force && tenth <= p.tenth {
		return
	}
	p.tenth = tenth
	fmt.Fprintf(p.w, "%s: %d/%d %s%s\n", p.label, p.done, p.total, p.unit, p.eta(now))
}

func (p *progressBar) eta(now time.Time) string {
	if p.done == 0 || p.done == p.total {
		return ""
	}
	left := time.Duration(float64(now.Sub(p.start)) * float64(p.total-p.done) / float64(p.done))
	return "  " + left.Round(time.Second).String() + " left"
}
