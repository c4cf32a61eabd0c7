package serve

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"sgan/internal/safefile"
	"sgan/run"
)

// liveRun is the live view of a run folder: its loss log, read incrementally as training
// appends to it, and its newest sample grid.
type liveRun struct {
	dir run.Dir

	mu     sync.Mutex
	log    lossTable
	file   os.FileInfo // the losses.csv read so far (nil: none)
	offset int64       // bytes of it parsed (up to the last complete line)
	logErr string
}

func newLiveRun(dir string) *liveRun { return &liveRun{dir: run.Dir(dir)} }

// lossTable is a parsed losses.csv: header step,epoch,COLUMNS...; a missing value is NaN.
type lossTable struct {
	columns []string
	steps   []int64
	epochs  []int
	values  [][]float64 // values[c][row]
}

// poll reloads the run's checkpoint whenever models/last.pt changes, until the server closes.
func (s *Server) poll() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.Poll)
	defer t.Stop()
	last := s.live.dir.Last()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		stamp, err := stampOf(last)
		if err != nil {
			continue // not written yet
		}
		s.mu.Lock()
		stale := !s.reloadOn && stamp != s.failed && (s.cur == nil || s.cur.stamp != stamp)
		if stale {
			s.reloadOn = true
		}
		s.mu.Unlock()
		if !stale {
			continue
		}
		err = s.q.submit(s.ctx, false, func() error {
			s.reload(last, stamp)
			return nil
		})
		if err != nil { // busy: try again at the next tick
			s.mu.Lock()
			s.reloadOn = false
			s.mu.Unlock()
		}
	}
}

// reload swaps in the checkpoint at path (queue thread): on failure the old model stays and the
// page shows why.
func (s *Server) reload(path string, stamp fileStamp) {
	m, err := loadModel(path, s.opts.Name, s.opts.Device)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reloadOn = false
	if err != nil {
		s.loadErr = fmt.Sprintf("reading %s: %v", path, err)
		s.failed = stamp
		s.opts.Logf("serve: %s", s.loadErr)
		return
	}
	old := s.cur
	s.cur, s.loadErr, s.failed = m, "", fileStamp{}
	if old != nil {
		old.free() // on the queue's thread: no job is using it
	}
	s.cache.clear()
	s.opts.Logf("serve: loaded %s (epoch %d)", path, m.epoch)
}

// update reads what was appended to losses.csv since the last call (everything, when the file
// was replaced or shortened: a resumed run rewrites it).
func (l *liveRun) update() {
	l.mu.Lock()
	defer l.mu.Unlock()
	path := l.dir.LossLog()
	f, err := os.Open(path)
	if err != nil {
		l.file, l.log, l.offset, l.logErr = nil, lossTable{}, 0, ""
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		l.logErr = err.Error()
		return
	}
	if l.file == nil || !os.SameFile(l.file, st) || st.Size() < l.offset {
		l.log, l.offset = lossTable{}, 0
	}
	l.file = st
	if st.Size() == l.offset {
		return
	}
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		l.logErr = err.Error()
		return
	}
	n, err := l.log.read(f, l.offset == 0)
	l.offset += n
	l.logErr = ""
	if err != nil {
		l.logErr = fmt.Sprintf("%s: %v", path, err)
	}
}

// read parses complete lines from r (the header first when header is set) and returns the bytes
// consumed; a last line without its newline is left for the next read.
func (t *lossTable) read(r io.Reader, header bool) (int64, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	var used int64
	for {
		line, err := br.ReadString('\n')
		if err != nil { // io.EOF: an incomplete line (or none) is left
			if err == io.EOF {
				return used, nil
			}
			return used, err
		}
		used += int64(len(line))
		text := strings.TrimRight(line, "\r\n")
		if text == "" {
			continue
		}
		fields := strings.Split(text, ",")
		if header {
			if len(fields) < 2 || fields[0] != "step" || fields[1] != "epoch" {
				return used, fmt.Errorf("header %q does not start with step,epoch", clip(text))
			}
			t.columns = fields[2:]
			t.values = make([][]float64, len(t.columns))
			header = false
			continue
		}
		if t.columns == nil {
			return used, fmt.Errorf("no header")
		}
		if len(fields) != len(t.columns)+2 {
			continue // a damaged row: skipped, as the plot can do without it
		}
		step, err1 := strconv.ParseInt(fields[0], 10, 64)
		epoch, err2 := strconv.Atoi(fields[1])
		if err1 != nil || err2 != nil {
			continue
		}
		t.steps = append(t.steps, step)
		t.epochs = append(t.epochs, epoch)
		for c, f := range fields[2:] {
			v := math.NaN()
			if f != "" {
				if x, err := strconv.ParseFloat(f, 64); err == nil {
					v = x
				}
			}
			t.values[c] = append(t.values[c], v)
		}
	}
}

// lossesJSON is the loss log for the page's plot: at most maxLossPoints points per curve, each
// the mean of a run of consecutive rows (null where a run has no value).
type lossesJSON struct {
	Rows    int          `json:"rows"`
	Epoch   int          `json:"epoch"`
	Columns []string     `json:"columns"`
	Steps   []float64    `json:"steps"`
	Values  [][]*float64 `json:"values"`
}

// decimate reduces t to at most n points per column.
func (t *lossTable) decimate(n int) *lossesJSON {
	rows := len(t.steps)
	out := &lossesJSON{Rows: rows, Columns: append([]string{}, t.columns...), Steps: []float64{}, Values: make([][]*float64, len(t.columns))}
	if rows > 0 {
		out.Epoch = t.epochs[rows-1]
	}
	buckets := min(rows, n)
	for c := range out.Values {
		out.Values[c] = []*float64{}
	}
	for b := 0; b < buckets; b++ {
		lo, hi := b*rows/buckets, (b+1)*rows/buckets
		var st float64
		for i := lo; i < hi; i++ {
			st += float64(t.steps[i])
		}
		out.Steps = append(out.Steps, st/float64(hi-lo))
		for c := range t.columns {
			var sum float64
			k := 0
			for i := lo; i < hi; i++ {
				if v := t.values[c][i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
					sum += v
					k++
				}
			}
			var p *float64
			if k > 0 {
				v := sum / float64(k)
				p = &v
			}
			out.Values[c] = append(out.Values[c], p)
		}
	}
	return out
}

// newestGrid is the most recently written sample grid (stylegan_outputs/*.png), or "".
func (l *liveRun) newestGrid() (string, time.Time) {
	ents, err := os.ReadDir(l.dir.Samples())
	if err != nil {
		return "", time.Time{}
	}
	var best string
	var when time.Time
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".png") || safefile.IsTemp(name) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		if best == "" || info.ModTime().After(when) || (info.ModTime().Equal(when) && name > best) {
			best, when = name, info.ModTime()
		}
	}
	return best, when
}

// liveJSON is /api/live.
type liveJSON struct {
	RunDir     string      `json:"run_dir"`
	Losses     *lossesJSON `json:"losses"` // null until losses.csv exists
	LossError  string      `json:"loss_error,omitempty"`
	Grid       string      `json:"grid,omitempty"`      // URL of the newest sample grid
	GridName   string      `json:"grid_name,omitempty"` // its file name
	Checkpoint string      `json:"checkpoint"`          // models/last.pt
	Epoch      int         `json:"epoch"`               // of the loaded checkpoint (-1: none)
	Version    string      `json:"version"`             // of the loaded model
	LoadError  string      `json:"load_error,omitempty"`
}

func (s *Server) handleLive(w http.ResponseWriter, r *http.Request) {
	if s.live == nil {
		s.fail(w, r, &httpError{http.StatusNotFound, "no live view: serve a run folder (sgan serve RUN_DIR) to watch its training"})
		return
	}
	l := s.live
	l.update()
	out := liveJSON{RunDir: string(l.dir), Checkpoint: l.dir.Last(), Epoch: -1}
	l.mu.Lock()
	if l.file != nil {
		out.Losses = l.log.decimate(maxLossPoints)
	}
	out.LossError = l.logErr
	l.mu.Unlock()
	if name, when := l.newestGrid(); name != "" {
		out.GridName = name
		out.Grid = fmt.Sprintf("/api/live/grid.png?name=%s&t=%d", name, when.UnixNano())
	}
	s.mu.RLock()
	if s.cur != nil {
		out.Epoch, out.Version = s.cur.epoch, s.cur.version
	}
	out.LoadError = s.loadErr
	s.mu.RUnlock()
	writeJSON(w, out)
}

// handleLiveGrid serves the newest sample grid of the run folder.
func (s *Server) handleLiveGrid(w http.ResponseWriter, r *http.Request) {
	if s.live == nil {
		s.fail(w, r, &httpError{http.StatusNotFound, "no live view: serve a run folder to watch its training"})
		return
	}
	name, _ := s.live.newestGrid()
	if name == "" {
		s.fail(w, r, &httpError{http.StatusNotFound, "the run has no sample grid yet"})
		return
	}
	f, err := os.Open(filepath.Join(s.live.dir.Samples(), name))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGridFile+1))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(b) > maxGridFile {
		s.fail(w, r, fmt.Errorf("%s is larger than %d MB", name, maxGridFile>>20))
		return
	}
	sendFile(w, r, b, "image/png", name, false)
}
