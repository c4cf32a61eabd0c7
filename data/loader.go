package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Batch is one batch of images ready for the trainer.
type Batch struct {
	Images     []float32 // N*C*H*W, row-major NCHW, values in [-1, 1]
	Labels     []int64   // N class indices
	Indices    []int     // N dataset indices the images came from
	N, C, H, W int
}

// LoaderConfig configures a Loader. Zero fields take the defaults noted.
type LoaderConfig struct {
	BatchSize  int  // images per batch (required)
	Resolution int  // output side in pixels (required)
	Channels   int  // 1 (grayscale) or 3 (RGB); default 1
	HFlip      bool // random horizontal flip, p = 0.5
	Augment    Augment
	Seed       int64
	NoShuffle  bool // keep dataset order instead of shuffling each epoch
	Workers    int  // decoding goroutines; default GOMAXPROCS
	Prefetch   int  // batches made ahead of the consumer; default 2*Workers
	// SkipBad replaces images that fail to load by the next good image in
	// the epoch order and counts them (Skipped); without it the first bad
	// image ends the epoch with an error naming it.
	SkipBad bool
	// OnSkip, if set, is called once per bad image skipped under SkipBad,
	// possibly from several goroutines at once. SkipReport summarises them
	// without it.
	OnSkip func(name string, err error)
	// CacheBytes is the memory budget for keeping every image decoded and
	// resized (C*Resolution² bytes each). The cache is used when the whole
	// dataset fits. 0 means 1 GiB; negative disables the cache.
	CacheBytes int64
}

// DefaultCacheBytes is the cache budget used when LoaderConfig.CacheBytes is 0.
const DefaultCacheBytes = 1 << 30

// Loader makes shuffled, transformed batches from a Dataset. It is safe to
// use from several goroutines, and several epochs may be read at once.
type Loader struct {
	ds      Dataset
	cfg     LoaderConfig
	cache   []atomic.Pointer[[]uint8] // nil when not caching
	bad     []atomic.Bool
	skipped atomic.Int64

	mu        sync.Mutex
	firstSkip []SkippedImage // the first MaxSkipNames skipped
}

// MaxSkipNames is how many skipped images a SkipReport names.
const MaxSkipNames = 5

// SkippedImage is one image skipped under SkipBad: its name and why it could not be loaded.
type SkippedImage struct {
	Name string
	Err  error
}

// SkipReport is what a loader skipped under SkipBad so far: how many distinct images, and the
// first MaxSkipNames of them in the order they were found.
type SkipReport struct {
	Count int
	First []SkippedImage
}

// String is one line for the user, "" when nothing was skipped: "skipped 3 unreadable images
// (data.skip_bad): data: d/a.png: cannot decode image: ...; also d/b.png, d/c.png".
func (r SkipReport) String() string {
	if r.Count == 0 {
		return ""
	}
	var b strings.Builder
	noun := "images"
	if r.Count == 1 {
		noun = "image"
	}
	fmt.Fprintf(&b, "skipped %d unreadable %s (data.skip_bad): ", r.Count, noun)
	for i, s := range r.First {
		switch {
		case i == 0 && s.Err != nil:
			b.WriteString(strings.TrimSuffix(s.Err.Error(), " ("+badFileHint+")"))
		case i == 0:
			b.WriteString(s.Name)
		case i == 1:
			b.WriteString("; also " + s.Name)
		default:
			b.WriteString(", " + s.Name)
		}
	}
	if more := r.Count - len(r.First); more > 0 {
		fmt.Fprintf(&b, " and %d more", more)
	}
	return b.String()
}

// SkipReport says what was skipped under SkipBad so far. A trainer prints it (String) when Count
// has grown since it last did, e.g. at the end of each epoch.
func (l *Loader) SkipReport() SkipReport {
	l.mu.Lock()
	defer l.mu.Unlock()
	return SkipReport{Count: int(l.skipped.Load()), First: slices.Clone(l.firstSkip)}
}

// NewLoader checks cfg and makes a loader over ds.
func NewLoader(ds Dataset, cfg LoaderConfig) (*Loader, error) {
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Channels != 1 && cfg.Channels != 3 {
		return nil, fmt.Errorf("data: %d channels is not supported (use 1 for grayscale or 3 for RGB)", cfg.Channels)
	}
	if cfg.Resolution < 1 {
		return nil, fmt.Errorf("data: resolution %d is not positive (set the image resolution, e.g. 64 or 128)", cfg.Resolution)
	}
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("data: batch size %d is not positive", cfg.BatchSize)
	}
	if err := cfg.Augment.validate(); err != nil {
		return nil, err
	}
	if ds.Len() < cfg.BatchSize {
		return nil, fmt.Errorf("data: dataset has %d images, fewer than one batch of %d (lower the batch size or add images)", ds.Len(), cfg.BatchSize)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 2 * cfg.Workers
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = DefaultCacheBytes
	}
	l := &Loader{ds: ds, cfg: cfg, bad: make([]atomic.Bool, ds.Len())}
	if need := int64(ds.Len()) * int64(cfg.Channels*cfg.Resolution*cfg.Resolution); cfg.CacheBytes > 0 && need <= cfg.CacheBytes {
		l.cache = make([]atomic.Pointer[[]uint8], ds.Len())
	}
	return l, nil
}

// Dataset is the loader's dataset.
func (l *Loader) Dataset() Dataset { return l.ds }

// Config is the loader's configuration with defaults filled in.
func (l *Loader) Config() LoaderConfig { return l.cfg }

// BatchesPerEpoch is Len/BatchSize: the last partial batch is dropped.
func (l *Loader) BatchesPerEpoch() int { return l.ds.Len() / l.cfg.BatchSize }

// Cached reports whether decoded images are kept in memory.
func (l *Loader) Cached() bool { return l.cache != nil }

// Skipped is the number of distinct bad images skipped so far (SkipBad).
func (l *Loader) Skipped() int { return int(l.skipped.Load()) }

// Order is the dataset index order of epoch (before bad-image substitution).
func (l *Loader) Order(epoch int) []int {
	if l.cfg.NoShuffle {
		p := make([]int, l.ds.Len())
		for i := range p {
			p[i] = i
		}
		return p
	}
	return Permutation(l.ds.Len(), l.cfg.Seed, epoch)
}

// planes returns the resized 8-bit planes and label of image idx. A panic while decoding (a
// decoder's bug on a hostile file) is the image's error, not the end of the process: it runs on
// a worker goroutine, where nothing else could recover it.
func (l *Loader) planes(idx int) (p []uint8, label int, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, label, err = nil, 0, fmt.Errorf("data: %s: internal error while decoding: %v (please report it with this file; %s)", l.ds.Name(idx), r, badFileHint)
		}
	}()
	if l.cache != nil {
		if p := l.cache[idx].Load(); p != nil {
			return *p, l.ds.Label(idx), nil
		}
	}
	img, label, err := l.ds.Load(idx)
	if err != nil {
		return nil, 0, err
	}
	p = ToPlanes(img, l.cfg.Resolution, l.cfg.Channels)
	if l.cache != nil {
		l.cache[idx].Store(&p)
	}
	return p, label, nil
}

// sample loads the image at position pos of order, substituting later
// images for bad ones under SkipBad.
func (l *Loader) sample(order []int, pos int) (int, []uint8, int, error) {
	n := len(order)
	for try := 0; try < n; try++ {
		idx := order[(pos+try)%n]
		if l.bad[idx].Load() {
			continue
		}
		p, label, err := l.planes(idx)
		if err == nil {
			return idx, p, label, nil
		}
		if !l.cfg.SkipBad {
			return 0, nil, 0, err
		}
		if !l.bad[idx].Swap(true) {
			l.mu.Lock()
			l.skipped.Add(1)
			if len(l.firstSkip) < MaxSkipNames {
				l.firstSkip = append(l.firstSkip, SkippedImage{l.ds.Name(idx), err})
			}
			l.mu.Unlock()
			if l.cfg.OnSkip != nil {
				l.cfg.OnSkip(l.ds.Name(idx), err)
			}
		}
	}
	return 0, nil, 0, fmt.Errorf("data: all %d images failed to load (check the dataset folder; skipped %d bad files)", n, l.Skipped())
}

// Make builds batch b of epoch synchronously (no goroutines, no cache
// warming beyond the images it touches).
func (l *Loader) Make(ctx context.Context, epoch, b int) (*Batch, error) {
	return l.makeBatch(ctx, l.Order(epoch), epoch, b)
}

func (l *Loader) makeBatch(ctx context.Context, order []int, epoch, b int) (*Batch, error) {
	if b < 0 || b >= l.BatchesPerEpoch() {
		return nil, fmt.Errorf("data: batch %d out of range [0,%d)", b, l.BatchesPerEpoch())
	}
	bs, c, r := l.cfg.BatchSize, l.cfg.Channels, l.cfg.Resolution
	sz := c * r * r
	out := &Batch{
		Images: make([]float32, bs*sz), Labels: make([]int64, bs), Indices: make([]int, bs),
		N: bs, C: c, H: r, W: r,
	}
	for s := 0; s < bs; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		idx, p, label, err := l.sample(order, b*bs+s)
		if err != nil {
			return nil, err
		}
		Transform(out.Images[s*sz:(s+1)*sz], p, r, c, l.cfg.HFlip, l.cfg.Augment, sampleRNG(l.cfg.Seed, epoch, idx))
		out.Labels[s] = int64(label)
		out.Indices[s] = idx
	}
	return out, nil
}

// Iter yields the batches of one epoch in order. Call Close when done.
type Iter struct {
	ctx    context.Context
	cancel context.CancelFunc
	order  chan chan batchResult
	wg     sync.WaitGroup
	err    error
}

type batchResult struct {
	b   *Batch
	err error
}

// ErrClosed is returned by Next after Close.
var ErrClosed = errors.New("data: epoch iterator closed")

// Epoch starts reading batches startBatch, startBatch+1, … of epoch, made by
// Workers goroutines at most Prefetch batches ahead. The batches are the
// same whatever startBatch (batch k is always batch k), the worker count or
// scheduling, for a given Seed and epoch. Cancelling ctx or calling Close
// stops the goroutines.
func (l *Loader) Epoch(ctx context.Context, epoch, startBatch int) *Iter {
	ctx, cancel := context.WithCancel(ctx)
	it := &Iter{ctx: ctx, cancel: cancel, order: make(chan chan batchResult, max(l.cfg.Prefetch, l.cfg.Workers))}
	nb := l.BatchesPerEpoch()
	if startBatch < 0 || startBatch > nb {
		it.err = fmt.Errorf("data: start batch %d out of range [0,%d]", startBatch, nb)
		close(it.order)
		return it
	}
	order := l.Order(epoch)
	type job struct {
		b    int
		slot chan batchResult
	}
	jobs := make(chan job)
	it.wg.Add(1 + l.cfg.Workers)
	go func() {
		defer it.wg.Done()
		defer close(it.order)
		defer close(jobs)
		for b := startBatch; b < nb; b++ {
			slot := make(chan batchResult, 1)
			select {
			case it.order <- slot: // blocks while Prefetch batches are pending
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{b, slot}:
			case <-ctx.Done():
				return
			}
		}
	}()
	for w := 0; w < l.cfg.Workers; w++ {
		go func() {
			defer it.wg.Done()
			for j := range jobs {
				b, err := l.makeBatch(ctx, order, epoch, j.b)
				j.slot <- batchResult{b, err}
			}
		}()
	}
	return it
}

// Next returns the next batch, or io.EOF after the last one. After an error
// every later call returns the same error.
func (it *Iter) Next() (*Batch, error) {
	if it.err != nil {
		return nil, it.err
	}
	fail := func(err error) (*Batch, error) {
		it.err = err
		it.cancel()
		return nil, err
	}
	var slot chan batchResult
	select {
	case s, ok := <-it.order:
		if !ok {
			if err := it.ctx.Err(); err != nil {
				return fail(err)
			}
			return fail(io.EOF)
		}
		slot = s
	case <-it.ctx.Done():
		return fail(it.ctx.Err())
	}
	select {
	case r := <-slot:
		if r.err != nil {
			return fail(r.err)
		}
		return r.b, nil
	case <-it.ctx.Done():
		return fail(it.ctx.Err())
	}
}

// Close stops the epoch and waits for its goroutines to exit.
func (it *Iter) Close() {
	if it.err == nil {
		it.err = ErrClosed
	}
	it.cancel()
	it.wg.Wait()
}

// Batches ranges over the batches of epoch from startBatch:
//
//	for b, err := range loader.Batches(ctx, epoch, 0) { if err != nil { … } }
//
// Breaking out of the loop stops the goroutines. An error is yielded once,
// and ends the sequence.
func (l *Loader) Batches(ctx context.Context, epoch, startBatch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		it := l.Epoch(ctx, epoch, startBatch)
		defer it.Close()
		for {
			b, err := it.Next()
			if err == io.EOF {
				return
			}
			if !yield(b, err) || err != nil {
				return
			}
		}
	}
}
