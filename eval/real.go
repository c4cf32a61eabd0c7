package eval

import (
	"fmt"
	"slices"
	"sync"

	"sgan/data"
)

// LoadImages decodes images of ds at res x res with ch channels, exactly as the training loader
// does (Catmull-Rom resize, pixel/127.5 - 1, no flip or augmentation), with their labels. When
// max > 0 and ds is larger, a random subset of max images (drawn from seed, kept in dataset
// order) is loaded instead. Decoding runs on a few goroutines; the result is in order.
func LoadImages(ds data.Dataset, res, ch, max int, seed uint64) (Images, error) {
	idx := make([]int, ds.Len())
	for i := range idx {
		idx[i] = i
	}
	if max > 0 && ds.Len() > max {
		idx = newRNG(seed, streamSubset, uint64(ds.Len())).Perm(ds.Len())[:max]
		slices.Sort(idx)
	}
	n := len(idx)
	if n == 0 {
		return Images{}, fmt.Errorf("eval: the dataset has no images")
	}
	out := Images{N: n, C: ch, H: res, W: res, Pix: make([]float32, n*ch*res*res), Labels: make([]int, n)}
	d := out.Dim()
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				errs[j] = loadImage(ds, idx[j], out.Pix[j*d:(j+1)*d], &out.Labels[j], res, ch)
			}
		}()
	}
	for j := 0; j < n; j++ {
		next <- j
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Images{}, err
		}
	}
	return out, nil
}

// loadImage decodes image i of ds into pix and label. A decoder's panic on a hostile file is the
// file's error: it happens on a worker goroutine, where nothing else could recover it.
func loadImage(ds data.Dataset, i int, pix []float32, label *int, res, ch int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("eval: %s: internal error while decoding: %v (please report it with this file)", ds.Name(i), r)
		}
	}()
	img, l, err := ds.Load(i)
	if err != nil {
		return fmt.Errorf("eval: %s: %w", ds.Name(i), err)
	}
	data.Transform(pix, data.ToPlanes(img, res, ch), res, ch, false, data.Augment{}, nil)
	*label = l
	return nil
}
