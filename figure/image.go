package figure

import (
	"fmt"
	"image"
	"image/color"
	"math"
)

// Level maps a generator output value to an 8-bit level:
// round((clamp(x, -1, 1)+1)*127.5). NaN maps to 0.
func Level(x float32) uint8 {
	v := float64(x)
	switch {
	case v != v: // NaN
		return 0
	case v <= -1:
		return 0
	case v >= 1:
		return 255
	}
	return uint8(math.Round((v + 1) * 127.5))
}

// checkBatch panics unless pix holds an n×c×h×w batch and 0 <= i < n.
func checkBatch(pix []float32, n, c, h, w, i int) {
	if c != 1 && c != 3 {
		panic(fmt.Sprintf("figure: %d channels, want 1 or 3", c))
	}
	if n < 0 || h < 0 || w < 0 {
		panic(fmt.Sprintf("figure: negative shape [%d %d %d %d]", n, c, h, w))
	}
	if len(pix) < n*c*h*w {
		panic(fmt.Sprintf("figure: %d values for shape [%d %d %d %d], want %d", len(pix), n, c, h, w, n*c*h*w))
	}
	if i < 0 || i >= n {
		panic(fmt.Sprintf("figure: image %d out of range [0, %d)", i, n))
	}
}

// ToImage converts image i of an NCHW batch pix (shape n×c×h×w, values
// nominally in [-1, 1], see Level) to an 8-bit image: *image.Gray for
// c = 1, opaque *image.RGBA for c = 3. It panics on any other c, on a
// slice shorter than n*c*h*w or on i outside [0, n).
func ToImage(pix []float32, n, c, h, w, i int) image.Image {
	checkBatch(pix, n, c, h, w, i)
	plane := h * w
	src := pix[i*c*plane : (i+1)*c*plane]
	r := image.Rect(0, 0, w, h)
	if c == 1 {
		img := image.NewGray(r)
		for y := 0; y < h; y++ {
			row := img.Pix[y*img.Stride : y*img.Stride+w]
			for x := range row {
				row[x] = Level(src[y*w+x])
			}
		}
		return img
	}
	img := image.NewRGBA(r)
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < w; x++ {
			k := y*w + x
			row[4*x+0] = Level(src[k])
			row[4*x+1] = Level(src[plane+k])
			row[4*x+2] = Level(src[2*plane+k])
			row[4*x+3] = 255
		}
	}
	return img
}

// BatchImages converts every image of an NCHW batch with ToImage.
func BatchImages(pix []float32, n, c, h, w int) []image.Image {
	imgs := make([]image.Image, n)
	for i := range imgs {
		imgs[i] = ToImage(pix, n, c, h, w, i)
	}
	return imgs
}

// isGray reports whether c is an opaque gray.
func isGray(c color.Color) bool {
	r, g, b, a := c.RGBA()
	return a == 0xffff && r == g && g == b
}
