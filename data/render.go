package data

import (
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
)

// SliceSelect chooses which slices of a volume are kept (see ParseSliceSelect).
type SliceSelect struct {
	// Mode is "all", "middle", "index" or "percent".
	Mode string
	// N is the slice count of "middle".
	N int
	// From and To bound "index" (slice indices, To excluded) and "percent"
	// (percent of the brain's extent, To excluded).
	From, To float64
}

// ParseSliceSelect reads a --slices value:
//
//	all        every slice with enough foreground (SliceOptions.MinForeground)
//	middle:N   N consecutive slices centred on the middle of the brain, i.e.
//	           of the span from the first to the last slice with enough
//	           foreground (the choice of the well-known ADNI AD/NC slice
//	           release is the middle 20)
//	A:B        slices A to B-1, counted in the canonical frame from the
//	           inferior (axial), posterior (coronal) or left (sagittal) end
//	P%:Q%      the part of the brain's span from P% to Q%
//
// Except with "all", the chosen slices are kept whatever their foreground.
func ParseSliceSelect(s string) (SliceSelect, error) {
	s = strings.TrimSpace(s)
	bad := func() (SliceSelect, error) {
		return SliceSelect{}, fmt.Errorf("data: --slices %q: give all, middle:N (e.g. middle:20), A:B (slice indices, e.g. 60:100) or P%%:Q%% (of the brain's extent, e.g. 40%%:60%%)", s)
	}
	switch {
	case s == "" || s == "all":
		return SliceSelect{Mode: "all"}, nil
	case strings.HasPrefix(s, "middle:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "middle:"))
		if err != nil || n < 1 || n > MaxSliceSide {
			return bad()
		}
		return SliceSelect{Mode: "middle", N: n}, nil
	}
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return bad()
	}
	pa, pb := strings.HasSuffix(a, "%"), strings.HasSuffix(b, "%")
	if pa != pb {
		return bad()
	}
	if pa {
		from, err1 := strconv.ParseFloat(strings.TrimSuffix(a, "%"), 64)
		to, err2 := strconv.ParseFloat(strings.TrimSuffix(b, "%"), 64)
		if err1 != nil || err2 != nil || !(from >= 0 && from < to && to <= 100) {
			return bad()
		}
		return SliceSelect{Mode: "percent", From: from, To: to}, nil
	}
	from, err1 := strconv.Atoi(a)
	to, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || from < 0 || to <= from {
		return bad()
	}
	return SliceSelect{Mode: "index", From: float64(from), To: float64(to)}, nil
}

// String is the --slices spelling of s.
func (s SliceSelect) String() string {
	switch s.Mode {
	case "middle":
		return fmt.Sprintf("middle:%d", s.N)
	case "index":
		return fmt.Sprintf("%d:%d", int(s.From), int(s.To))
	case "percent":
		return fmt.Sprintf("%g%%:%g%%", s.From, s.To)
	}
	return "all"
}

// MaxSliceSide bounds the side of an output image in pixels.
const MaxSliceSide = 4096

// cutOptions control cutVolume.
type cutOptions struct {
	plane           Plane
	size            int // output side (0: native, padded to a square)
	bits            int // 8 or 16
	lowPct, highPct float64
	minFg           float64 // negative: no foreground test
	sel             SliceSelect
}

// cutSlice is one rendered slice.
type cutSlice struct {
	index int // along the plane's axis in the canonical frame
	img   image.Image
}

// cutResult is what cutVolume made of a canonical volume.
type cutResult struct {
	slices []cutSlice
	n      int     // slices in the plane
	lo, hi float64 // intensity window
	fgSpan [2]int  // first and last slice with enough foreground
}

// cutVolume windows canonical volume v by percentiles of its nonzero
// voxels, chooses slices in the plane, and renders them.
func cutVolume(v *Volume, opt cutOptions) (cutResult, error) {
	var res cutResult
	lo, hi, err := windowRange(v.Data, opt.lowPct, opt.highPct)
	if err != nil {
		return res, err
	}
	res.lo, res.hi = lo, hi
	pv := viewOf(v, opt.plane)
	res.n = pv.n
	buf := make([]float32, pv.w*pv.h)
	// Foreground per slice, on the native grid.
	fg := make([]bool, pv.n)
	res.fgSpan = [2]int{-1, -1}
	thr := lo + 25.5/255*(hi-lo) // rounds to >= 26 of 255 after windowing
	for s := 0; s < pv.n; s++ {
		pv.extract(v.Data, s, buf)
		cnt := 0
		for _, x := range buf {
			if float64(x) >= thr {
				cnt++
			}
		}
		fg[s] = opt.minFg < 0 || float64(cnt) >= opt.minFg*float64(len(buf))
		if fg[s] && cnt > 0 {
			if res.fgSpan[0] < 0 {
				res.fgSpan[0] = s
			}
			res.fgSpan[1] = s
		}
	}
	var keep []int
	first, last := res.fgSpan[0], res.fgSpan[1]
	switch opt.sel.Mode {
	case "middle", "percent":
		if first < 0 {
			return res, fmt.Errorf("no %s slice has %.0f%% foreground pixels (lower --min-fg)", opt.plane, 100*max(0, opt.minFg))
		}
		a, b := 0, 0
		if opt.sel.Mode == "middle" {
			n := min(opt.sel.N, pv.n)
			a = (first+last+1)/2 - n/2
			a = min(max(a, 0), pv.n-n)
			b = a + n
		} else {
			span := float64(last - first + 1)
			a = first + int(math.Floor(opt.sel.From/100*span+0.5))
			b = first + int(math.Floor(opt.sel.To/100*span+0.5))
			b = max(b, a+1)
		}
		for s := a; s < b && s < pv.n; s++ {
			keep = append(keep, s)
		}
	case "index":
		for s := int(opt.sel.From); s < int(opt.sel.To) && s < pv.n; s++ {
			keep = append(keep, s)
		}
		if len(keep) == 0 {
			return res, fmt.Errorf("--slices %s is past the volume's %d %s slices", opt.sel, pv.n, opt.plane)
		}
	default:
		for s := 0; s < pv.n; s++ {
			if fg[s] {
				keep = append(keep, s)
			}
		}
	}
	rs, err := newResampler(pv, opt.size)
	if err != nil {
		return res, err
	}
	for _, s := range keep {
		pv.extract(v.Data, s, buf)
		res.slices = append(res.slices, cutSlice{index: s, img: rs.render(buf, lo, hi, opt.bits)})
	}
	return res, nil
}

// resampler maps a w x h slice with pixel sizes dw x dh onto a square of
// side x side pixels covering the slice's larger physical extent, centred
// (the rest is black), with a Catmull-Rom filter widened when shrinking.
type resampler struct {
	w, h, side int
	cols, rows []taps
	tmp        []float32
	out        []float32
}

// taps are the source pixels and weights of one output pixel.
type taps struct {
	first int
	wt    []float32
}

func newResampler(pv planeView, size int) (*resampler, error) {
	extW, extH := float64(pv.w)*pv.dw, float64(pv.h)*pv.dh
	ext := max(extW, extH)
	if size == 0 {
		size = int(math.Round(ext / min(pv.dw, pv.dh)))
	}
	if size < 1 || size > MaxSliceSide {
		return nil, fmt.Errorf("output side %d pixels is out of range (1-%d; give a --size)", size, MaxSliceSide)
	}
	r := &resampler{w: pv.w, h: pv.h, side: size}
	r.cols = makeTaps(pv.w, pv.dw, ext, size)
	r.rows = makeTaps(pv.h, pv.dh, ext, size)
	r.tmp = make([]float32, pv.h*size)
	r.out = make([]float32, size*size)
	return r, nil
}

// makeTaps resamples n source pixels of size d, centred in ext, to size
// output pixels spanning ext.
func makeTaps(n int, d, ext float64, size int) []taps {
	out := make([]taps, size)
	off := (ext - float64(n)*d) / 2
	scale := ext / float64(size) / d // output pixel in source pixels
	widen := max(1, scale)
	radius := 2 * widen
	for p := range out {
		u := ((float64(p)+0.5)*ext/float64(size)-off)/d - 0.5
		lo, hi := int(math.Ceil(u-radius)), int(math.Floor(u+radius))
		var sum float64
		wts := make([]float64, hi-lo+1)
		for i := lo; i <= hi; i++ {
			k := catmullRom((float64(i) - u) / widen)
			wts[i-lo] = k
			sum += k
		}
		first, last := max(lo, 0), min(hi, n-1)
		if first > last || sum == 0 {
			out[p] = taps{first: 0}
			continue
		}
		t := taps{first: first, wt: make([]float32, last-first+1)}
		for i := first; i <= last; i++ {
			t.wt[i-first] = float32(wts[i-lo] / sum)
		}
		out[p] = t
	}
	return out
}

func catmullRom(x float64) float64 {
	x = math.Abs(x)
	switch {
	case x < 1:
		return (1.5*x-2.5)*x*x + 1
	case x < 2:
		return ((-0.5*x+2.5)*x-4)*x + 2
	}
	return 0
}

// render windows buf (w x h) to [lo, hi] (black..white; values outside are
// clipped first, so that a few extreme voxels do not bleed into their
// neighbours), resamples it, and returns an 8-bit (image.Gray) or 16-bit
// (image.Gray16) image. The padding around the slice is black.
func (r *resampler) render(buf []float32, lo, hi float64, bits int) image.Image {
	s := r.side
	flo, span := float32(lo), float32(hi-lo)
	for y := 0; y < r.h; y++ {
		src := buf[y*r.w : (y+1)*r.w]
		dst := r.tmp[y*s : (y+1)*s]
		for x, t := range r.cols {
			var acc float32
			for k, wt := range t.wt {
				acc += wt * min(span, max(0, src[t.first+k]-flo))
			}
			dst[x] = acc
		}
	}
	for y, t := range r.rows {
		dst := r.out[y*s : (y+1)*s]
		clear(dst)
		for k, wt := range t.wt {
			src := r.tmp[(t.first+k)*s : (t.first+k+1)*s]
			for x := range dst {
				dst[x] += wt * src[x]
			}
		}
	}
	scale := 1 / (hi - lo)
	if bits == 16 {
		img := image.NewGray16(image.Rect(0, 0, s, s))
		for i, x := range r.out {
			q := uint16(math.Round(min(1, max(0, float64(x)*scale)) * 65535))
			img.Pix[2*i], img.Pix[2*i+1] = uint8(q>>8), uint8(q)
		}
		return img
	}
	img := image.NewGray(image.Rect(0, 0, s, s))
	for i, x := range r.out {
		img.Pix[i] = uint8(math.Round(min(1, max(0, float64(x)*scale)) * 255))
	}
	return img
}
