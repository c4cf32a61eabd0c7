package eval

import (
	"fmt"
	"math"
	"slices"
)

// CopyConfig tunes the data-copying test; zero fields take the defaults noted.
type CopyConfig struct {
	Percentile float64 // the test->train NN distance percentile below which a sample counts as a copy (default 5)
}

// CopyResult is the memorization / data-copying test of generated images against the training
// set, with the held-out test set as the yardstick of "how close an unseen image gets".
type CopyResult struct {
	Space       string  `json:"space"`        // "pixel" (RMS per value, [-1, 1] units) or "domain" (feature distance)
	Percentile  float64 `json:"percentile"`   // see CopyConfig
	Threshold   float64 `json:"threshold"`    // that percentile of the test->train NN distances
	CopyFrac    float64 `json:"copy_frac"`    // share of generated images closer to a training image than Threshold; ~Percentile/100 when generated images are as novel as test images
	GenMedian   float64 `json:"gen_median"`   // median generated->train NN distance
	TestMedian  float64 `json:"test_median"`  // median test->train NN distance
	MedianRatio float64 `json:"median_ratio"` // GenMedian / TestMedian: << 1 copies, ~1 like held-out data
	MeehanZU    float64 `json:"meehan_zu"`    // Meehan et al. 2020's Mann-Whitney Z_U (one cell): << 0 data-copying, >> 0 far from the data

	GenNN   []float64 `json:"-"` // per generated image: distance to its nearest training image
	GenIdx  []int     `json:"-"` // per generated image: that training image's index
	TestNN  []float64 `json:"-"` // per test image: distance to its nearest training image
	Closest []int     `json:"-"` // generated indices, nearest pairs first
}

// Suspect reports memorization: more than twice the expected share of generated images sit
// closer to a training image than all but Percentile% of unseen test images do, and the
// distance distributions differ significantly toward the training data (Z_U < -2).
func (r CopyResult) Suspect() bool {
	return r.CopyFrac > 2*r.Percentile/100 && r.MeehanZU < -2
}

// CopyTest measures how close generated images come to training images compared with held-out
// test images, in pixel space (RMS difference per value). See CopyResult.
func CopyTest(gen, train, test Images, cfg CopyConfig) (CopyResult, error) {
	for _, b := range []Images{gen, train, test} {
		if err := b.Check(); err != nil {
			return CopyResult{}, err
		}
	}
	if err := sameShape(gen, train); err != nil {
		return CopyResult{}, err
	}
	if err := sameShape(test, train); err != nil {
		return CopyResult{}, err
	}
	td, err := testNearestPixels(train, test)
	if err != nil {
		return CopyResult{}, err
	}
	return copyTestPixels(gen, train, td, cfg)
}

// testNearestPixels is each test image's RMS pixel distance to its nearest training image: the
// reference CopyTest compares generated images with, the same for every model scored.
func testNearestPixels(train, test Images) ([]float64, error) {
	_, td, err := nearest(test.Pix, train.Pix, test.N, train.N, train.Dim())
	scaleRMS(td, train.Dim())
	return td, err
}

// copyTestPixels is CopyTest given testNearestPixels(train, test).
func copyTestPixels(gen, train Images, td []float64, cfg CopyConfig) (CopyResult, error) {
	gi, gd, err := nearest(gen.Pix, train.Pix, gen.N, train.N, gen.Dim())
	if err != nil {
		return CopyResult{}, err
	}
	scaleRMS(gd, gen.Dim())
	return copyStats("pixel", gd, gi, td, cfg), nil
}

// scaleRMS turns Euclidean distances between d-value vectors into RMS differences per value.
func scaleRMS(dist []float64, d int) {
	scale := 1 / math.Sqrt(float64(d))
	for i := range dist {
		dist[i] *= scale
	}
}

// CopyTestFeatures is CopyTest on feature vectors (e.g. the domain features).
func CopyTestFeatures(gen, train, test Features, cfg CopyConfig) (CopyResult, error) {
	if gen.D != train.D || test.D != train.D {
		return CopyResult{}, fmt.Errorf("eval: copy test of %d-, %d- and %d-dimensional features", gen.D, train.D, test.D)
	}
	_, td, err := nearest(test.X, train.X, test.N, train.N, gen.D)
	if err != nil {
		return CopyResult{}, err
	}
	return copyTestFeatures(gen, train, td, cfg)
}

// copyTestFeatures is CopyTestFeatures given the test features' nearest-training distances.
func copyTestFeatures(gen, train Features, td []float64, cfg CopyConfig) (CopyResult, error) {
	gi, gd, err := nearest(gen.X, train.X, gen.N, train.N, gen.D)
	if err != nil {
		return CopyResult{}, err
	}
	return copyStats("domain", gd, gi, td, cfg), nil
}

func copyStats(space string, gd []float64, gi []int, td []float64, cfg CopyConfig) CopyResult {
	if cfg.Percentile <= 0 {
		cfg.Percentile = 5
	}
	r := CopyResult{Space: space, Percentile: cfg.Percentile, GenNN: gd, GenIdx: gi, TestNN: td}
	r.Threshold = percentile(td, cfg.Percentile)
	n := 0
	for _, v := range gd {
		if v < r.Threshold {
			n++
		}
	}
	r.CopyFrac = float64(n) / float64(len(gd))
	r.GenMedian = percentile(gd, 50)
	r.TestMedian = percentile(td, 50)
	r.MedianRatio = r.GenMedian / r.TestMedian
	r.MeehanZU = mannWhitneyZ(td, gd)
	r.Closest = make([]int, len(gd))
	for i := range r.Closest {
		r.Closest[i] = i
	}
	slices.SortStableFunc(r.Closest, func(a, b int) int {
		switch {
		case gd[a] < gd[b]:
			return -1
		case gd[a] > gd[b]:
			return 1
		}
		return 0
	})
	return r
}

// percentile is the p-th percentile of v with linear interpolation (numpy's default).
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// mannWhitneyZ is Meehan et al.'s Z_U for one cell: U counts the (test, generated) pairs in
// which the generated sample lies farther from the training set than the test sample (ties
// count half), standardized under the null of equal distributions. Negative: generated samples
// sit closer to the training data than unseen data does (copying).
func mannWhitneyZ(test, gen []float64) float64 {
	m, n := float64(len(test)), float64(len(gen))
	if m == 0 || n == 0 {
		return math.NaN()
	}
	u := mannWhitneyU(test, gen)
	return (u - m*n/2) / math.Sqrt(m*n*(m+n+1)/12)
}

// mannWhitneyU counts the pairs (x in a, y in b) with x < y, ties counting one half.
func mannWhitneyU(a, b []float64) float64 {
	s := slices.Clone(a)
	slices.Sort(s)
	var u float64
	for _, y := range b {
		below, _ := slices.BinarySearch(s, y) // values of a < y
		upto := below
		for upto < len(s) && s[upto] == y {
			upto++
		}
		u += float64(below) + float64(upto-below)/2
	}
	return u
}
