package data

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// allBatches reads every batch of epoch from start.
func allBatches(t testing.TB, l *Loader, epoch, start int) []*Batch {
	t.Helper()
	var out []*Batch
	for b, err := range l.Batches(context.Background(), epoch, start) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func sameBatches(a, b []*Batch) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i].Images, b[i].Images) || !slices.Equal(a[i].Labels, b[i].Labels) || !slices.Equal(a[i].Indices, b[i].Indices) {
			return false
		}
	}
	return true
}

func adniFolder(t testing.TB, n int) *Folder {
	dir := t.TempDir()
	makeADNI(t, dir, n)
	f, err := OpenDir(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLoaderBatches(t *testing.T) {
	f := adniFolder(t, 11) // 22 training images
	for _, ch := range []int{1, 3} {
		l, err := NewLoader(f, LoaderConfig{BatchSize: 4, Resolution: 16, Channels: ch, HFlip: true, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if l.BatchesPerEpoch() != 5 {
			t.Fatalf("BatchesPerEpoch %d, want 5 (drop last)", l.BatchesPerEpoch())
		}
		bs := allBatches(t, l, 0, 0)
		if len(bs) != 5 {
			t.Fatalf("%d batches", len(bs))
		}
		seen := map[int]bool{}
		for _, b := range bs {
			if b.N != 4 || b.C != ch || b.H != 16 || b.W != 16 || len(b.Images) != 4*ch*16*16 || len(b.Labels) != 4 {
				t.Fatalf("batch shape %d %d %d %d len %d", b.N, b.C, b.H, b.W, len(b.Images))
			}
			lo, hi := slices.Min(b.Images), slices.Max(b.Images)
			if lo < -1 || hi > 1 || hi-lo < 0.5 {
				t.Fatalf("values in [%g, %g]", lo, hi)
			}
			for s, idx := range b.Indices {
				if seen[idx] {
					t.Fatalf("index %d twice in an epoch", idx)
				}
				seen[idx] = true
				if int(b.Labels[s]) != f.Label(idx) {
					t.Fatalf("label %d for image %d, want %d", b.Labels[s], idx, f.Label(idx))
				}
			}
		}
		if len(seen) != 20 {
			t.Fatalf("%d distinct images, want 20", len(seen))
		}
	}
}

func TestLoaderDeterminism(t *testing.T) {
	f := adniFolder(t, 10)
	mk := func(workers int, seed int64, cache int64, aug Augment) *Loader {
		l, err := NewLoader(f, LoaderConfig{BatchSize: 3, Resolution: 12, HFlip: true, Seed: seed, Workers: workers, Prefetch: 1, CacheBytes: cache, Augment: aug})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	aug := Augment{RotateDeg: 5, Brightness: 0.05, Contrast: 0.05}
	for _, a := range []Augment{{}, aug} {
		ref := allBatches(t, mk(1, 7, -1, a), 2, 0)
		for _, workers := range []int{1, 3, 8} {
			for _, cache := range []int64{0, -1} {
				l := mk(workers, 7, cache, a)
				if got := allBatches(t, l, 2, 0); !sameBatches(got, ref) {
					t.Fatalf("workers %d cache %d: batches differ", workers, cache)
				}
				// Second pass (from cache when caching) is identical too.
				if got := allBatches(t, l, 2, 0); !sameBatches(got, ref) {
					t.Fatalf("workers %d cache %d: second read differs", workers, cache)
				}
				// Start at batch k = skip k batches.
				for k := 0; k <= len(ref); k++ {
					if got := allBatches(t, l, 2, k); !sameBatches(got, ref[k:]) {
						t.Fatalf("start at %d differs from skipping %d batches", k, k)
					}
				}
			}
		}
		if sameBatches(allBatches(t, mk(2, 7, 0, a), 3, 0), ref) {
			t.Error("epochs 2 and 3 are identical")
		}
		if sameBatches(allBatches(t, mk(2, 8, 0, a), 2, 0), ref) {
			t.Error("seeds 7 and 8 give identical epochs")
		}
		b, err := mk(1, 7, 0, a).Make(context.Background(), 2, 3)
		if err != nil || !sameBatches([]*Batch{b}, ref[3:4]) {
			t.Errorf("Make(2, 3) differs from batch 3 of the epoch: %v", err)
		}
	}
}

func TestLoaderNoShuffle(t *testing.T) {
	f := adniFolder(t, 3)
	l, err := NewLoader(f, LoaderConfig{BatchSize: 2, Resolution: 8, NoShuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, b := range allBatches(t, l, 5, 0) {
		got = append(got, b.Indices...)
	}
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("order %v", got)
	}
}

func TestFlipStatistics(t *testing.T) {
	// One gray image, bright on the left: a flipped copy is bright on the right.
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "a.png"), testImage(16, 16, true, 240))
	writeImage(t, filepath.Join(dir, "b.png"), testImage(16, 16, true, 240))
	f, err := OpenDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	count := func(hflip bool, seed int64) (flipped, total int) {
		l, err := NewLoader(f, LoaderConfig{BatchSize: 2, Resolution: 16, HFlip: hflip, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		for epoch := 0; epoch < 500; epoch++ {
			b, err := l.Make(context.Background(), epoch, 0)
			if err != nil {
				t.Fatal(err)
			}
			for s := 0; s < b.N; s++ {
				img := b.Images[s*256 : (s+1)*256]
				if img[0] < img[15] {
					flipped++
				}
				total++
			}
		}
		return
	}
	if n, _ := count(false, 1); n != 0 {
		t.Fatalf("%d flipped with HFlip off", n)
	}
	n, total := count(true, 1)
	if n < total*4/10 || n > total*6/10 {
		t.Fatalf("%d of %d flipped, want about half", n, total)
	}
	if n2, _ := count(true, 1); n2 != n {
		t.Fatalf("same seed flipped %d then %d", n, n2)
	}
	if n3, _ := count(true, 2); n3 == n {
		t.Logf("seeds 1 and 2 flipped the same number (%d); possible but unlikely", n)
	}
}

func TestAugment(t *testing.T) {
	planes := make([]uint8, 32*32)
	for i := range planes {
		planes[i] = uint8(i % 32 * 8)
	}
	plain := make([]float32, len(planes))
	Transform(plain, planes, 32, 1, false, Augment{}, sampleRNG(1, 0, 0))
	aug := make([]float32, len(planes))
	Transform(aug, planes, 32, 1, false, Augment{RotateDeg: 10, Brightness: 0.1, Contrast: 0.1}, sampleRNG(1, 0, 0))
	if slices.Equal(plain, aug) {
		t.Fatal("augmentation changed nothing")
	}
	if slices.Min(aug) < -1 || slices.Max(aug) > 1 {
		t.Fatalf("augmented range [%g, %g]", slices.Min(aug), slices.Max(aug))
	}
	var diff float64
	for i := range plain {
		d := float64(plain[i] - aug[i])
		diff += d * d
	}
	if diff/float64(len(plain)) > 0.2 {
		t.Fatalf("augmentation too strong: mean squared change %g", diff/float64(len(plain)))
	}
	_, err := NewLoader(&Folder{files: make([]string, 4), labels: make([]int, 4)}, LoaderConfig{BatchSize: 1, Resolution: 8, Augment: Augment{RotateDeg: 90}})
	checkErr(t, err, "rotation 90")
}

func TestLoaderErrors(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 6; i++ {
		writeImage(t, filepath.Join(dir, "NC", "a"+itoa(i)+".png"), testImage(8, 8, true, 100))
	}
	writeFile(t, filepath.Join(dir, "NC", "bad.png"), []byte("garbage"))
	writeFile(t, filepath.Join(dir, "NC", "bad2.jpg"), []byte("garbage"))
	f, err := OpenDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	// Without SkipBad the first bad file ends the epoch with its name.
	l, err := NewLoader(f, LoaderConfig{BatchSize: 8, Resolution: 8})
	if err != nil {
		t.Fatal(err)
	}
	it := l.Epoch(context.Background(), 0, 0)
	_, err = it.Next()
	checkErr(t, err, "data: "+filepath.Join(dir, "NC", "bad"), "cannot decode", "skip_bad")
	if _, err2 := it.Next(); err2 != err {
		t.Fatalf("second Next: %v", err2)
	}
	it.Close()
	// With SkipBad they are replaced and counted, deterministically.
	var (
		mu           sync.Mutex
		skippedNames []string
	)
	onSkip := func(name string, err error) {
		mu.Lock()
		defer mu.Unlock()
		skippedNames = append(skippedNames, name)
	}
	cfg := LoaderConfig{BatchSize: 4, Resolution: 8, SkipBad: true, Seed: 3, OnSkip: onSkip}
	l, err = NewLoader(f, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := allBatches(t, l, 0, 0)
	if l.Skipped() != 2 || len(skippedNames) != 2 {
		t.Fatalf("skipped %d (%v), want 2", l.Skipped(), skippedNames)
	}
	for _, b := range a {
		for _, idx := range b.Indices {
			if filepath.Ext(f.Name(idx)) == ".jpg" || filepath.Base(f.Name(idx)) == "bad.png" {
				t.Fatalf("bad image %s in a batch", f.Name(idx))
			}
		}
	}
	cfg.OnSkip = nil
	l2, _ := NewLoader(f, cfg)
	if !sameBatches(allBatches(t, l2, 0, 0), a) {
		t.Fatal("SkipBad batches differ between runs")
	}
	// Config errors.
	for _, tc := range []struct {
		cfg  LoaderConfig
		want string
	}{
		{LoaderConfig{BatchSize: 100, Resolution: 8}, "fewer than one batch of 100"},
		{LoaderConfig{BatchSize: 1, Resolution: 0}, "resolution 0"},
		{LoaderConfig{BatchSize: 0, Resolution: 8}, "batch size 0"},
		{LoaderConfig{BatchSize: 1, Resolution: 8, Channels: 2}, "2 channels"},
	} {
		_, err := NewLoader(f, tc.cfg)
		checkErr(t, err, tc.want)
	}
	it = l.Epoch(context.Background(), 0, 99)
	_, err = it.Next()
	checkErr(t, err, "start batch 99")
	it.Close()
}

func TestLoaderCancel(t *testing.T) {
	f := adniFolder(t, 20)
	l, err := NewLoader(f, LoaderConfig{BatchSize: 2, Resolution: 8, Workers: 4, Prefetch: 2, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	defer func() {
		// Every epoch below was closed: no loader goroutine may remain.
		for i := 0; runtime.NumGoroutine() > base; i++ {
			if i == 500 {
				t.Fatalf("%d goroutines, %d before: leaked", runtime.NumGoroutine(), base)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	// Abandon an epoch after one batch: Close must return (goroutines exit).
	it := l.Epoch(context.Background(), 0, 0)
	if _, err := it.Next(); err != nil {
		t.Fatal(err)
	}
	it.Close()
	if _, err := it.Next(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	// Cancelling the context ends the epoch with the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	it = l.Epoch(ctx, 0, 0)
	cancel()
	for {
		_, err := it.Next()
		if err == nil {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("after cancel: %v", err)
		}
		break
	}
	it.Close()
	// Breaking out of a range loop.
	n := 0
	for _, err := range l.Batches(context.Background(), 1, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
	// A full epoch ends with io.EOF.
	it = l.Epoch(context.Background(), 0, l.BatchesPerEpoch()-1)
	if _, err := it.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := it.Next(); err != io.EOF {
		t.Fatalf("after last batch: %v", err)
	}
	it.Close()
}

func TestDemo(t *testing.T) {
	for _, split := range []string{"train", "test"} {
		ds, err := Open("", split)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Len() < 20 || len(ds.Classes()) != 1 || ds.Classes()[0] != "NC" {
			t.Fatalf("%s: %d images, classes %v", split, ds.Len(), ds.Classes())
		}
	}
	ds, err := Open("demo", "train")
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() < 300 {
		t.Fatalf("demo train has %d images", ds.Len())
	}
	l, err := NewLoader(ds, LoaderConfig{BatchSize: 16, Resolution: 32, HFlip: true})
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Make(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Min(b.Images) != -1 || slices.Max(b.Images) < 0.5 {
		t.Fatalf("demo batch range [%g, %g]", slices.Min(b.Images), slices.Max(b.Images))
	}
	_, err = Open("demo", "val")
	checkErr(t, err, `no "val" split`)
}

func TestOpenCIFARAndDir(t *testing.T) {
	dir := t.TempDir()
	writeCIFAR(t, filepath.Join(dir, "test_batch.bin"), 10)
	ds, err := Open(dir, "test")
	if err != nil || ds.Len() != 10 {
		t.Fatalf("Open CIFAR: %v", err)
	}
	_, err = Open(dir, "train")
	checkErr(t, err, "data_batch_1.bin: missing")
	_, err = Open(filepath.Join(dir, "nope"), "")
	checkErr(t, err, "nope: no such folder")
}
