package eval

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// SWDConfig tunes SWD; zero fields take the defaults noted.
type SWDConfig struct {
	DescPerImage int    // 7x7 patches drawn per image and level (default 64; Karras et al. use 128)
	MaxDesc      int    // cap on descriptors per set and level (default 32768)
	Dirs         int    // random projections per repeat (default 128)
	Repeats      int    // repeats with fresh projections (default 4: 512 projections in all)
	MinRes       int    // side of the coarsest pyramid level (default 16)
	Seed         uint64 // patch positions and projections
}

func (c SWDConfig) withDefaults() SWDConfig {
	if c.DescPerImage <= 0 {
		c.DescPerImage = 64
	}
	if c.MaxDesc <= 0 {
		c.MaxDesc = 32768
	}
	if c.Dirs <= 0 {
		c.Dirs = 128
	}
	if c.Repeats <= 0 {
		c.Repeats = 4
	}
	if c.MinRes <= 0 {
		c.MinRes = 16
	}
	return c
}

// SWDResult is the sliced Wasserstein distance (x1e3) per Laplacian level and their mean.
type SWDResult struct {
	Levels []int     `json:"levels"`    // side of each level, finest first
	Level  []float64 `json:"per_level"` // SWD x1e3 at each level
	Mean   float64   `json:"mean"`      // mean over levels
}

const patch = 7

// SWD is the Progressive GAN metric (Karras et al. 2018): both sets are decomposed into
// Laplacian pyramids (5x5 binomial filter, mirror borders, finest level first, down to MinRes),
// 7x7xC patches are drawn at random positions of each level, each set's descriptors are
// normalized per channel by that set's own mean and std, and the sliced Wasserstein distance is
// the mean absolute difference of the sorted projections onto random unit directions, averaged
// over directions and repeats, times 1e3. Both sets contribute the same number of descriptors
// (DescPerImage times the smaller set, at most MaxDesc). Pure Go, deterministic for a seed.
func SWD(a, b Images, cfg SWDConfig) (SWDResult, error) {
	cfg = cfg.withDefaults()
	if err := a.Check(); err != nil {
		return SWDResult{}, err
	}
	if err := b.Check(); err != nil {
		return SWDResult{}, err
	}
	if err := sameShape(a, b); err != nil {
		return SWDResult{}, err
	}
	if a.H < patch || a.W < patch {
		return SWDResult{}, fmt.Errorf("eval: SWD needs images of at least %dx%d", patch, patch)
	}
	levels := pyramidLevels(a.H, a.W, cfg.MinRes)
	m := min(cfg.MaxDesc, min(a.N, b.N)*cfg.DescPerImage)
	da := descriptors(a, levels, m, cfg.Seed, 0)
	db := descriptors(b, levels, m, cfg.Seed, 1)
	res := SWDResult{}
	for l := range levels {
		normalizeDesc(da[l], a.C)
		normalizeDesc(db[l], a.C)
		d := sliced(da[l], db[l], a.C*patch*patch, cfg, uint64(l))
		res.Levels = append(res.Levels, a.H>>l)
		res.Level = append(res.Level, d*1e3)
		res.Mean += d * 1e3
	}
	res.Mean /= float64(levels)
	return res, nil
}

// pyramidLevels is the number of levels from h x w halving down to minRes (at least one, and
// no level smaller than a patch).
func pyramidLevels(h, w, minRes int) int {
	n := 1
	for s := min(h, w); s/2 >= minRes && s/2 >= patch; s /= 2 {
		n++
	}
	return n
}

// descriptors draws m descriptors per level from the images of set (stream sub), each image
// contributing m/N or m/N+1 patches (images in a random order get the remainder).
func descriptors(set Images, levels, m int, seed, sub uint64) [][]float32 {
	dim := set.C * patch * patch
	out := make([][]float32, levels)
	for l := range out {
		out[l] = make([]float32, 0, m*dim)
	}
	r := newRNG(seed, streamSWDDesc, sub)
	counts := make([]int, set.N)
	for i, j := range r.Perm(set.N) {
		counts[j] = m / set.N
		if i < m%set.N {
			counts[j]++
		}
	}
	for i := 0; i < set.N; i++ {
		if counts[i] == 0 {
			continue
		}
		pyr := laplacian(set.At(i), set.C, set.H, set.W, levels)
		for l, p := range pyr {
			h, w := set.H>>l, set.W>>l
			for k := 0; k < counts[i]; k++ {
				y, x := r.IntN(h-patch+1), r.IntN(w-patch+1)
				for c := 0; c < set.C; c++ {
					plane := p[c*h*w:]
					for dy := 0; dy < patch; dy++ {
						out[l] = append(out[l], plane[(y+dy)*w+x:(y+dy)*w+x+patch]...)
					}
				}
			}
		}
	}
	return out
}

// binomial5 is the 1-D factor of the 5x5 Gaussian of cv2.pyrDown.
var binomial5 = [5]float32{1.0 / 16, 4.0 / 16, 6.0 / 16, 4.0 / 16, 1.0 / 16}

// mirror reflects i into [0, n) about the edge pixels (scipy's "mirror": d c b | a b c d | c b a).
func mirror(i, n int) int {
	if n == 1 {
		return 0
	}
	for i < 0 || i >= n {
		if i < 0 {
			i = -i
		}
		if i >= n {
			i = 2*(n-1) - i
		}
	}
	return i
}

// blur5 convolves each h x w plane of x (c planes) with the separable binomial filter times gain.
func blur5(x []float32, c, h, w int, gain float32) []float32 {
	tmp := make([]float32, len(x))
	out := make([]float32, len(x))
	for p := 0; p < c; p++ {
		src, t, dst := x[p*h*w:(p+1)*h*w], tmp[p*h*w:(p+1)*h*w], out[p*h*w:(p+1)*h*w]
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				var s float32
				for k := -2; k <= 2; k++ {
					s += binomial5[k+2] * src[y*w+mirror(xx+k, w)]
				}
				t[y*w+xx] = s
			}
		}
		for y := 0; y < h; y++ {
			for xx := 0; xx < w; xx++ {
				var s float32
				for k := -2; k <= 2; k++ {
					s += binomial5[k+2] * t[mirror(y+k, h)*w+xx]
				}
				dst[y*w+xx] = s * gain
			}
		}
	}
	return out
}

// pyrDown is cv2.pyrDown: blur, keep even rows and columns.
func pyrDown(x []float32, c, h, w int) []float32 {
	b := blur5(x, c, h, w, 1)
	h2, w2 := h/2, w/2
	out := make([]float32, c*h2*w2)
	for p := 0; p < c; p++ {
		for y := 0; y < h2; y++ {
			for xx := 0; xx < w2; xx++ {
				out[(p*h2+y)*w2+xx] = b[(p*h+2*y)*w+2*xx]
			}
		}
	}
	return out
}

// pyrUp is cv2.pyrUp: zero-insertion upsampling to h x w, then the filter times 4.
func pyrUp(x []float32, c, h, w int) []float32 {
	up := make([]float32, c*h*w)
	h2, w2 := h/2, w/2
	for p := 0; p < c; p++ {
		for y := 0; y < h2; y++ {
			for xx := 0; xx < w2; xx++ {
				up[(p*h+2*y)*w+2*xx] = x[(p*h2+y)*w2+xx]
			}
		}
	}
	return blur5(up, c, h, w, 4)
}

// laplacian is the Laplacian pyramid of one CHW image, finest level first; the last level is
// the Gaussian residual.
func laplacian(img []float32, c, h, w, levels int) [][]float32 {
	pyr := [][]float32{append([]float32(nil), img...)}
	for l := 1; l < levels; l++ {
		ph, pw := h>>(l-1), w>>(l-1)
		down := pyrDown(pyr[l-1], c, ph, pw)
		up := pyrUp(down, c, ph, pw)
		for i := range pyr[l-1] {
			pyr[l-1][i] -= up[i]
		}
		pyr = append(pyr, down)
	}
	return pyr
}

// normalizeDesc subtracts each channel's mean and divides by its std over all descriptors of
// the set (Karras et al.'s finalize_descriptors).
func normalizeDesc(d []float32, c int) {
	per := patch * patch
	dim := c * per
	n := len(d) / dim
	for ch := 0; ch < c; ch++ {
		var s, ss float64
		for i := 0; i < n; i++ {
			for _, v := range d[i*dim+ch*per : i*dim+(ch+1)*per] {
				s += float64(v)
				ss += float64(v) * float64(v)
			}
		}
		cnt := float64(n * per)
		mean := s / cnt
		std := math.Sqrt(max(ss/cnt-mean*mean, 0))
		if std < 1e-8 {
			std = 1
		}
		for i := 0; i < n; i++ {
			seg := d[i*dim+ch*per : i*dim+(ch+1)*per]
			for k := range seg {
				seg[k] = float32((float64(seg[k]) - mean) / std)
			}
		}
	}
}

// sliced is the sliced Wasserstein-1 distance between two equal-sized descriptor sets: per
// random unit direction, project, sort, and average |a_i - b_i|; the mean over all directions.
func sliced(a, b []float32, dim int, cfg SWDConfig, level uint64) float64 {
	n := len(a) / dim
	total := cfg.Dirs * cfg.Repeats
	dirs := make([]float32, total*dim)
	r := newRNG(cfg.Seed, streamSWDDirs, level)
	for k := 0; k < total; k++ {
		d := dirs[k*dim : (k+1)*dim]
		var ss float64
		for i := range d {
			v := r.NormFloat64()
			d[i] = float32(v)
			ss += v * v
		}
		inv := float32(1 / math.Sqrt(ss))
		for i := range d {
			d[i] *= inv
		}
	}
	results := make([]float64, total)
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan int)
	var wp workerPanic
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				wp.capture()
				for range next { // keep taking work, so the sender never blocks
				}
			}()
			pa, pb := make([]float32, n), make([]float32, n)
			for k := range next {
				d := dirs[k*dim : (k+1)*dim]
				project(pa, a, d)
				project(pb, b, d)
				slices.Sort(pa)
				slices.Sort(pb)
				var s float64
				for i := range pa {
					s += math.Abs(float64(pa[i] - pb[i]))
				}
				results[k] = s / float64(n)
			}
		}()
	}
	for k := 0; k < total; k++ {
		next <- k
	}
	close(next)
	wg.Wait()
	wp.repanic()
	var s float64
	for _, v := range results {
		s += v
	}
	return s / float64(total)
}

// project writes the dot products of each row of x (len(d) wide) with d into out.
func project(out, x, d []float32) {
	dim := len(d)
	for i := range out {
		row := x[i*dim : (i+1)*dim]
		var s float32
		for j, v := range row {
			s += v * d[j]
		}
		out[i] = s
	}
}
