package tensorboard

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// FileVersion is the file_version of the first Event of every file.
const FileVersion = "brain.Event:2"

const (
	// autoWriteBytes is how much may be pending before records go to the file without a Flush.
	autoWriteBytes = 1 << 20
	// maxPendingBytes bounds what failed writes keep for the next Flush; past it they are dropped.
	maxPendingBytes = 64 << 20
)

// fileSeq numbers the files this process creates (the <n> of the file name).
var fileSeq atomic.Int64

// file is what a Writer needs of its file (*os.File; a fault-injecting fake in tests).
type file interface {
	io.Writer
	Truncate(size int64) error
	Sync() error
	Close() error
}

// Writer appends events to one new event file. Create it with NewWriter. A nil *Writer does
// nothing and returns no errors, so a trainer can hold nil where it logs nothing (ranks other
// than 0, TensorBoard turned off).
type Writer struct {
	mu      sync.Mutex
	path    string
	f       file             // nil once closed
	now     func() time.Time // wall clock of the events
	off     int64            // bytes of whole records in the file
	buf     []byte           // whole records not yet written
	pending int              // records in buf
	dropped int              // records dropped after failed writes, not yet reported
	broken  error            // set when a failed write could not be cut back: nothing more is written
}

// NewWriter creates a new event file, events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n>, in
// dir (created if missing) and writes its file_version record to it.
func NewWriter(dir string) (*Writer, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.ReplaceAll(host, string(filepath.Separator), "_")
	now := time.Now()
	for range 1000 {
		name := fmt.Sprintf("events.out.tfevents.%d.%s.%d.%d", now.Unix(), host, os.Getpid(), fileSeq.Add(1)-1)
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("tensorboard: %w", err)
		}
		w, err := newWriter(path, f, time.Now)
		if err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		return w, nil
	}
	return nil, fmt.Errorf("tensorboard: no free event file name in %s", dir)
}

// newWriter starts an event file on f: it writes and syncs the file_version record.
func newWriter(path string, f file, now func() time.Time) (*Writer, error) {
	w := &Writer{path: path, f: f, now: now}
	w.add(event(wallTime(now()), 0, fileVersion(FileVersion)))
	if err := w.flush(); err != nil {
		return nil, err
	}
	return w, nil
}

// Path is the event file's path.
func (w *Writer) Path() string {
	if w == nil {
		return ""
	}
	return w.path
}

// Scalar logs v under tag at step (stored as float32, TensorBoard's simple_value).
func (w *Writer) Scalar(tag string, step int64, v float64) {
	if w == nil {
		return
	}
	data := event(wallTime(w.now()), step, summary(scalarValue(tag, float32(v))))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.add(data)
}

// Scalars logs every value of values under its key as tag, at step, in one event. It does nothing
// when values is empty.
func (w *Writer) Scalars(step int64, values map[string]float64) {
	if w == nil || len(values) == 0 {
		return
	}
	tags := make([]string, 0, len(values))
	for t := range values {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	vs := make([][]byte, len(tags))
	for i, t := range tags {
		vs[i] = scalarValue(t, float32(values[t]))
	}
	data := event(wallTime(w.now()), step, summary(vs...))
	w.mu.Lock()
	defer w.mu.Unlock()
	w.add(data)
}

// Image logs img under tag at step as a PNG: *image.Gray and *image.Gray16 as grayscale, other
// opaque images as RGB, the rest as RGBA. It fails for a nil or empty image and after Close.
func (w *Writer) Image(tag string, step int64, img image.Image) error {
	if w == nil {
		return nil
	}
	if img == nil || img.Bounds().Empty() {
		return fmt.Errorf("tensorboard: image %q at step %d: no pixels", tag, step)
	}
	var png bytes.Buffer
	if err := pngEncoder.Encode(&png, img); err != nil {
		return fmt.Errorf("tensorboard: image %q at step %d: %w", tag, step, err)
	}
	b := img.Bounds()
	data := event(wallTime(w.now()), step, summary(imageValue(tag, b.Dy(), b.Dx(), colorspace(img), png.Bytes())))
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("tensorboard: image %q at step %d: %s: %w", tag, step, w.path, os.ErrClosed)
	}
	w.add(data)
	return nil
}

// PurgeFrom marks a restart at step: TensorBoard then discards what earlier files of the folder
// logged at steps >= step (a resumed run's steps after its checkpoint, logged before a crash),
// as for PyTorch's SummaryWriter(purge_step=step). Call it right after NewWriter.
func (w *Writer) PurgeFrom(step int64) {
	if w == nil {
		return
	}
	data := event(wallTime(w.now()), step, sessionLogStart())
	w.mu.Lock()
	defer w.mu.Unlock()
	w.add(data)
}

// Flush writes the pending records to the file and syncs it. It reports a failed write, with the
// file's path; the records it could not write stay pending for the next Flush.
func (w *Writer) Flush() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("tensorboard: flush %s: %w", w.path, os.ErrClosed)
	}
	return w.flush()
}

// Close flushes and closes the file. Closing again does nothing. After Close, Scalar, Scalars and
// PurgeFrom do nothing and Image and Flush fail.
func (w *Writer) Close() error {
	if w == nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.flush()
	if cerr := w.f.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("tensorboard: close %s: %w", w.path, cerr))
	}
	if w.pending > 0 {
		err = errors.Join(err, fmt.Errorf("tensorboard: %s: %d events not written", w.path, w.pending))
	}
	w.f, w.buf, w.pending = nil, nil, 0
	return err
}

// add queues one record (w.mu held), writing the queue out when it is large. A failed write
// leaves the records queued: the next Flush retries and reports.
func (w *Writer) add(data []byte) {
	if w.f == nil {
		return
	}
	if w.broken != nil {
		w.dropped++
		return
	}
	w.buf = appendRecord(w.buf, data)
	w.pending++
	if len(w.buf) >= autoWriteBytes {
		_ = w.write()
	}
}

// flush writes the queue, syncs, and reports dropped records (w.mu held).
func (w *Writer) flush() error {
	err := w.write()
	if err == nil {
		if serr := w.f.Sync(); serr != nil {
			err = fmt.Errorf("tensorboard: sync %s: %w", w.path, serr)
		}
	}
	if w.dropped > 0 {
		err = errors.Join(fmt.Errorf("tensorboard: %s: %d events dropped after failed writes", w.path, w.dropped), err)
		w.dropped = 0
	}
	return err
}

// write appends the queued records to the file (w.mu held). A write that fails part-way is cut
// back to the last whole record, so the file never holds a torn record followed by more.
func (w *Writer) write() error {
	if w.broken != nil {
		return w.broken
	}
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err == nil {
		w.off += int64(n)
		w.pending = 0
		if cap(w.buf) > 4*autoWriteBytes {
			w.buf = nil // let a large image's buffer go
		} else {
			w.buf = w.buf[:0]
		}
		return nil
	}
	err = fmt.Errorf("tensorboard: write %s: %w", w.path, err)
	if n > 0 {
		if terr := w.f.Truncate(w.off); terr != nil {
			w.broken = fmt.Errorf("%w; cutting the partial record back failed (%v), so no more events are written there", err, terr)
			w.dropped += w.pending
			w.buf, w.pending = nil, 0
			return w.broken
		}
	}
	if len(w.buf) > maxPendingBytes {
		w.dropped += w.pending
		w.buf, w.pending = nil, 0
	}
	return err
}

// wallTime is t in seconds since the Unix epoch, as Event.wall_time holds it.
// (Seconds and nanoseconds are converted apart: UnixNano exceeds float64's 53-bit mantissa.)
func wallTime(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

// pngEncoder favours speed: sample grids are logged every few epochs and TensorBoard keeps them.
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed}

// colorspace is Summary.Image's colorspace of img's PNG: 1 grayscale, 3 RGB, 4 RGBA.
func colorspace(img image.Image) int {
	switch img.(type) {
	case *image.Gray, *image.Gray16: // the types image/png writes as grayscale
		return 1
	}
	if opaque(img) {
		return 3
	}
	return 4
}

// opaque reports whether every pixel of img is fully opaque.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a != 0xffff {
				return false
			}
		}
	}
	return true
}
