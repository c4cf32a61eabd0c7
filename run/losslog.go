package run

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sgan/internal/safefile"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// LossLog is the per-step loss log of a run: DIR/losses.csv with the header
// "step,epoch,COLUMNS..." and one row per Add, written through to the file at once so that
// an interrupted run keeps every row. A missing value is an empty field. The rows are also
// kept in memory for Data. Its methods are safe for concurrent use.
type LossLog struct {
	mu      sync.Mutex
	path    string
	columns []string
	f       *os.File
	steps   []int64
	epochs  []int
	values  [][]float64 // values[c][row]; NaN when missing
	line    []byte
}

// OpenLossLog opens DIR/losses.csv (creating DIR) for the given loss columns.
//
// Without resume, any existing log is replaced by an empty one. With resume, the existing
// rows are kept (columns matched by name; columns the file lacks are empty, columns not in
// columns are dropped) and new rows are appended; call Truncate with the resume step to drop
// the rows an interrupted run logged after its last checkpoint. A missing file on resume
// starts an empty log.
func OpenLossLog(dir string, columns []string, resume bool) (*LossLog, error) {
	seen := map[string]bool{"step": true, "epoch": true}
	for _, c := range columns {
		if c == "" || strings.ContainsAny(c, ",\"\r\n") || seen[c] {
			return nil, fmt.Errorf("loss log: bad or repeated column name %q", c)
		}
		seen[c] = true
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("loss log: %w", err)
	}
	l := &LossLog{path: Dir(dir).LossLog(), columns: slices.Clone(columns), values: make([][]float64, len(columns))}
	if resume {
		if err := l.read(); err != nil {
			return nil, err
		}
	}
	if err := l.rewrite(); err != nil {
		return nil, err
	}
	return l, nil
}

// Path is the log's file path.
func (l *LossLog) Path() string { return l.path }

// Columns are the loss columns, in file order.
func (l *LossLog) Columns() []string { return slices.Clone(l.columns) }

// Len is the number of rows.
func (l *LossLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.steps)
}

// read loads the rows of an existing log file.
func (l *LossLog) read() error {
	f, err := os.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loss log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var idx []int // file column -> our column, -1 = dropped; file columns 0, 1 are step, epoch
	n := 0
	var short error // a row with too few fields: an error unless it is the last (cut short by a crash)
	for sc.Scan() {
		n++
		if short != nil {
			return short
		}
		text := strings.TrimRight(sc.Text(), "\r")
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if idx == nil {
			if len(fields) < 2 || fields[0] != "step" || fields[1] != "epoch" {
				return fmt.Errorf("loss log %s: header %q does not start with step,epoch (move the file away to start a new log)", l.path, text)
			}
			idx = make([]int, len(fields))
			for i, name := range fields[2:] {
				idx[i+2] = slices.Index(l.columns, name)
			}
			continue
		}
		if len(fields) != len(idx) {
			err := fmt.Errorf("loss log %s:%d: %d fields, want %d", l.path, n, len(fields), len(idx))
			if len(fields) > len(idx) {
				return err
			}
			short = err
			continue
		}
		step, err1 := strconv.ParseInt(fields[0], 10, 64)
		epoch, err2 := strconv.Atoi(fields[1])
		if err := errors.Join(err1, err2); err != nil {
			return fmt.Errorf("loss log %s:%d: %w", l.path, n, err)
		}
		row := make([]float64, len(l.columns))
		for i := range row {
			row[i] = math.NaN()
		}
		for i, s := range fields[2:] {
			if c := idx[i+2]; c >= 0 && s != "" {
				v, err := strconv.ParseFloat(s, 64)
				if err != nil {
					return fmt.Errorf("loss log %s:%d: column %s: %w", l.path, n, l.columns[c], err)
				}
				row[c] = v
			}
		}
		l.appendRow(step, epoch, row)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("loss log %s: %w", l.path, err)
	}
	return nil
}

func (l *LossLog) appendRow(step int64, epoch int, row []float64) {
	l.steps = append(l.steps, step)
	l.epochs = append(l.epochs, epoch)
	for c, v := range row {
		l.values[c] = append(l.values[c], v)
	}
}

// formatRow appends the CSV line of row i to l.line.
func (l *LossLog) formatRow(i int) {
	l.line = strconv.AppendInt(l.line[:0], l.steps[i], 10)
	l.line = append(l.line, ',')
	l.line = strconv.AppendInt(l.line, int64(l.epochs[i]), 10)
	for c := range l.columns {
		l.line = append(l.line, ',')
		if v := l.values[c][i]; !math.IsNaN(v) {
			l.line = strconv.AppendFloat(l.line, v, 'g', -1, 64)
		}
	}
	l.line = append(l.line, '\n')
}

// rewrite replaces the file by the header and the rows in memory (atomically) and opens it
// for appending.
func (l *LossLog) rewrite() error {
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	err := safefile.WriteWith(l.path, func(f io.Writer) error {
		w := bufio.NewWriter(f)
		w.WriteString("step,epoch")
		for _, c := range l.columns {
			w.WriteString("," + c)
		}
		w.WriteString("\n")
		for i := range l.steps {
			l.formatRow(i)
			w.Write(l.line)
		}
		return w.Flush()
	})
	if err != nil {
		return fmt.Errorf("loss log: %w", err)
	}
	l.f, err = os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("loss log: %w", err)
	}
	return nil
}

// Truncate drops the rows with step >= step and rewrites the file. Resuming from a
// checkpoint taken after S steps, Truncate(S) removes what the interrupted run logged later.
func (l *LossLog) Truncate(step int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("loss log %s: closed", l.path)
	}
	n := 0
	for n < len(l.steps) && l.steps[n] < step {
		n++
	}
	// Rows are in step order unless a log was resumed without Truncate; keep exactly step < S.
	keep := n
	for i := n; i < len(l.steps); i++ {
		if l.steps[i] < step {
			l.steps[keep], l.epochs[keep] = l.steps[i], l.epochs[i]
			for c := range l.values {
				l.values[c][keep] = l.values[c][i]
			}
			keep++
		}
	}
	if keep == len(l.steps) {
		return nil
	}
	l.steps, l.epochs = l.steps[:keep], l.epochs[:keep]
	for c := range l.values {
		l.values[c] = l.values[c][:keep]
	}
	return l.rewrite()
}

// Add appends the row (step, epoch, values) and writes it to the file. Columns missing from
// values are left empty; a key that is not a column is an error.
func (l *LossLog) Add(step int64, epoch int, values map[string]float64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("loss log %s: closed", l.path)
	}
	for k := range values {
		if !slices.Contains(l.columns, k) {
			return fmt.Errorf("loss log %s: %q is not a column (columns: %s)", l.path, k, strings.Join(l.columns, ", "))
		}
	}
	row := make([]float64, len(l.columns))
	for c, name := range l.columns {
		v, ok := values[name]
		if !ok {
			v = math.NaN()
		}
		row[c] = v
	}
	l.appendRow(step, epoch, row)
	l.formatRow(len(l.steps) - 1)
	if _, err := l.f.Write(l.line); err != nil {
		return fmt.Errorf("loss log %s: %w", l.path, err)
	}
	return nil
}

// Close closes the file. The rows stay available to Data.
func (l *LossLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("loss log %s: %w", l.path, err)
	}
	return nil
}

// LossData is a copy of a log's rows, column-major: Values[c][row] (NaN when missing).
type LossData struct {
	Columns []string
	Steps   []int64
	Epochs  []int
	Values  [][]float64
}

// Data returns a copy of the rows (for plots and live views).
func (l *LossLog) Data() LossData {
	l.mu.Lock()
	defer l.mu.Unlock()
	d := LossData{Columns: slices.Clone(l.columns), Steps: slices.Clone(l.steps), Epochs: slices.Clone(l.epochs), Values: make([][]float64, len(l.values))}
	for c := range l.values {
		d.Values[c] = slices.Clone(l.values[c])
	}
	return d
}
