package data

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"golang.org/x/image/draw"
)

// Augment is optional extra augmentation for small medical datasets, applied
// after the resize and before the flip. The zero value is off. Every draw
// is deterministic given (seed, epoch, image index).
type Augment struct {
	// RotateDeg rotates by a uniform angle in [-RotateDeg, RotateDeg]
	// degrees about the centre (bilinear; corners filled with black).
	RotateDeg float64
	// Brightness multiplies intensities by a uniform gain in
	// [1-Brightness, 1+Brightness] (e.g. 0.05 for ±5%). Black stays black.
	Brightness float64
	// Contrast applies a gamma in [1-Contrast, 1+Contrast] to intensities
	// scaled to [0, 1]; it changes contrast while keeping black and white.
	Contrast float64
}

// Enabled reports whether any augmentation is on.
func (a Augment) Enabled() bool { return a.RotateDeg != 0 || a.Brightness != 0 || a.Contrast != 0 }

func (a Augment) validate() error {
	if a.RotateDeg < 0 || a.RotateDeg > 45 {
		return fmt.Errorf("data: augment rotation %g degrees is out of range (use 0-45; a few degrees is typical)", a.RotateDeg)
	}
	if a.Brightness < 0 || a.Brightness >= 1 || a.Contrast < 0 || a.Contrast >= 1 {
		return fmt.Errorf("data: augment brightness %g / contrast %g out of range (use fractions in [0, 1), e.g. 0.05)", a.Brightness, a.Contrast)
	}
	return nil
}

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// sampleRNG is the random source of image index at (seed, epoch).
func sampleRNG(seed int64, epoch, index int) *rand.Rand {
	a := mix64(uint64(seed) ^ mix64(uint64(epoch)+0x5851f42d4c957f2d))
	return rand.New(rand.NewPCG(a, mix64(uint64(index)^0x2545f4914f6cdd1d)))
}

// Permutation is the shuffled order of n images for (seed, epoch).
func Permutation(n int, seed int64, epoch int) []int {
	r := rand.New(rand.NewPCG(mix64(uint64(seed)), mix64(uint64(epoch)^0x9e3779b97f4a7c15)))
	return r.Perm(n)
}

// ToPlanes resizes img to side x side (Catmull-Rom, antialiased when
// shrinking; a non-square image is stretched) and returns channels planes
// of 8-bit pixels, CHW order. channels is 1 (luminance, ITU-R 601 weights)
// or 3 (RGB; a gray image is replicated).
func ToPlanes(img image.Image, side, channels int) []uint8 {
	n := side * side
	out := make([]uint8, channels*n)
	b := img.Bounds()
	if g, ok := img.(*image.Gray); ok && channels == 1 && b.Dx() == side && b.Dy() == side {
		for y := 0; y < side; y++ {
			copy(out[y*side:(y+1)*side], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return out
	}
	var rgba *image.RGBA
	if r, ok := img.(*image.RGBA); ok && b.Dx() == side && b.Dy() == side && b.Min == (image.Point{}) {
		rgba = r
	} else {
		rgba = image.NewRGBA(image.Rect(0, 0, side, side))
		if b.Dx() == side && b.Dy() == side {
			draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
		} else {
			scalerFor(side, side, b.Dx(), b.Dy()).Scale(rgba, rgba.Bounds(), img, b, draw.Src, nil)
		}
	}
	for y := 0; y < side; y++ {
		row := rgba.Pix[y*rgba.Stride:]
		for x := 0; x < side; x++ {
			r, g, bl := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
			p := y*side + x
			if channels == 1 {
				out[p] = uint8((19595*r + 38470*g + 7471*bl + 1<<15) >> 16)
			} else {
				out[p], out[n+p], out[2*n+p] = uint8(r), uint8(g), uint8(bl)
			}
		}
	}
	return out
}

var (
	scalers     sync.Map // [4]int{dw, dh, sw, sh} -> draw.Scaler
	scalerCount atomic.Int32
)

// scalerFor returns a Catmull-Rom scaler with precomputed weights for these
// sizes (concurrency-safe), cached for up to 256 distinct size pairs.
func scalerFor(dw, dh, sw, sh int) draw.Scaler {
	key := [4]int{dw, dh, sw, sh}
	if s, ok := scalers.Load(key); ok {
		return s.(draw.Scaler)
	}
	if scalerCount.Load() >= 256 {
		return draw.CatmullRom
	}
	s, loaded := scalers.LoadOrStore(key, draw.CatmullRom.NewScaler(dw, dh, sw, sh))
	if !loaded {
		scalerCount.Add(1)
	}
	return s.(draw.Scaler)
}

// Transform turns cached 8-bit planes into normalised floats in [-1, 1]
// (pixel/127.5 - 1), written to dst (len channels*side*side). It draws, in
// order, the horizontal flip (p = 0.5, when hflip) and then the
// augmentation parameters from rng, so the result depends only on rng's seed.
func Transform(dst []float32, planes []uint8, side, channels int, hflip bool, aug Augment, rng *rand.Rand) {
	flip := false
	if hflip {
		flip = rng.Float64() < 0.5
	}
	n := side * side
	if !aug.Enabled() {
		for c := 0; c < channels; c++ {
			src, out := planes[c*n:(c+1)*n], dst[c*n:(c+1)*n]
			for y := 0; y < side; y++ {
				s, o := src[y*side:(y+1)*side], out[y*side:(y+1)*side]
				if flip {
					for x := range o {
						o[x] = float32(s[side-1-x])/127.5 - 1
					}
				} else {
					for x := range o {
						o[x] = float32(s[x])/127.5 - 1
					}
				}
			}
		}
		return
	}
	angle := (rng.Float64()*2 - 1) * aug.RotateDeg * math.Pi / 180
	gain := 1 + (rng.Float64()*2-1)*aug.Brightness
	gamma := 1 + (rng.Float64()*2-1)*aug.Contrast
	cos, sin := math.Cos(angle), math.Sin(angle)
	c0 := float64(side-1) / 2
	for c := 0; c < channels; c++ {
		src, out := planes[c*n:(c+1)*n], dst[c*n:(c+1)*n]
		at := func(x, y int) float64 {
			if x < 0 || y < 0 || x >= side || y >= side {
				return 0
			}
			return float64(src[y*side+x])
		}
		for y := 0; y < side; y++ {
			for x := 0; x < side; x++ {
				// Inverse-rotate the output pixel into the source.
				dx, dy := float64(x)-c0, float64(y)-c0
				sx, sy := cos*dx+sin*dy+c0, -sin*dx+cos*dy+c0
				x0, y0 := int(math.Floor(sx)), int(math.Floor(sy))
				fx, fy := sx-float64(x0), sy-float64(y0)
				v := (at(x0, y0)*(1-fx)+at(x0+1, y0)*fx)*(1-fy) + (at(x0, y0+1)*(1-fx)+at(x0+1, y0+1)*fx)*fy
				v = math.Pow(v/255, gamma) * gain
				v = min(1, max(0, v))
				ox := x
				if flip {
					ox = side - 1 - x
				}
				out[y*side+ox] = float32(v*2 - 1)
			}
		}
	}
}
