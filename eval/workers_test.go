package eval

import (
	"fmt"
	"image"
	"strings"
	"sync/atomic"
	"testing"
)

// TestParallelRowsRaisesPanicOnCaller: a panic in a worker reaches the calling goroutine (where
// sgan's top-level recover turns it into one line) after every other row is done.
func TestParallelRowsRaisesPanicOnCaller(t *testing.T) {
	var done atomic.Int32
	got := func() (r any) {
		defer func() { r = recover() }()
		parallelRows(50, func(i int) {
			if i == 7 {
				var xs []int
				_ = xs[i]
			}
			done.Add(1)
		})
		return nil
	}()
	if s := fmt.Sprint(got); !strings.Contains(s, "in a worker goroutine: runtime error: index out of range [7]") {
		t.Errorf("recovered %q", s)
	}
	if done.Load() < 1 {
		t.Errorf("%d rows done", done.Load())
	}
}

// panicDataset is a dataset whose image 2 makes its decoder panic.
type panicDataset struct{}

func (panicDataset) Len() int          { return 5 }
func (panicDataset) Classes() []string { return []string{""} }
func (panicDataset) Label(int) int     { return 0 }
func (panicDataset) Name(i int) string { return fmt.Sprintf("img%d.png", i) }
func (panicDataset) Load(i int) (image.Image, int, error) {
	if i == 2 {
		panic("decoder bug")
	}
	return image.NewGray(image.Rect(0, 0, 8, 8)), 0, nil
}

// TestLoadImagesRecovers: a decoder that panics on one file is that file's error.
func TestLoadImagesRecovers(t *testing.T) {
	_, err := LoadImages(panicDataset{}, 8, 1, 0, 0)
	if err == nil || err.Error() != "eval: img2.png: internal error while decoding: decoder bug (please report it with this file)" {
		t.Errorf("error %v", err)
	}
}
