package figure

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
)

// DefaultPad is the padding in pixels GridFromBatch uses.
const DefaultPad = 2

// Background is the background of the figures this package lays out
// itself (GridFromBatch, StyleMix, Labeled, Pairs): white, so that the
// black background of MRI slices stays distinct from the padding.
var Background color.Color = color.Gray{Y: 255}

// canvas returns a w×h image filled with bg: *image.Gray if gray is set
// and bg is an opaque gray, *image.RGBA otherwise.
func canvas(w, h int, gray bool, bg color.Color) draw.Image {
	r := image.Rect(0, 0, w, h)
	var dst draw.Image
	if gray && isGray(bg) {
		dst = image.NewGray(r)
	} else {
		dst = image.NewRGBA(r)
	}
	draw.Draw(dst, r, image.NewUniform(bg), image.Point{}, draw.Src)
	return dst
}

// allGray reports whether every non-nil image is an *image.Gray.
func allGray(imgs []image.Image) bool {
	for _, m := range imgs {
		if m == nil {
			continue
		}
		if _, ok := m.(*image.Gray); !ok {
			return false
		}
	}
	return true
}

// paste copies src onto dst with src's top-left corner at at.
func paste(dst draw.Image, at image.Point, src image.Image) {
	sb := src.Bounds()
	r := image.Rectangle{Min: at, Max: at.Add(sb.Size())}
	if d, ok := dst.(*image.Gray); ok {
		if s, ok := src.(*image.Gray); ok {
			w := sb.Dx()
			for y := 0; y < sb.Dy(); y++ {
				di := d.PixOffset(at.X, at.Y+y)
				si := s.PixOffset(sb.Min.X, sb.Min.Y+y)
				copy(d.Pix[di:di+w], s.Pix[si:si+w])
			}
			return
		}
	}
	draw.Draw(dst, r, src, sb.Min, draw.Src)
}

// Grid lays imgs out in rows of cols cells (row-major), with pad pixels
// of bg between the cells and around the whole grid. Every cell is as
// large as the largest image; a smaller image sits at its cell's top-left
// and a nil image leaves its cell as background. With cols <= 0 or cols
// greater than len(imgs), all images go in one row. The result is
// cols*cw + (cols+1)*pad wide and rows*ch + (rows+1)*pad high, where
// rows = ceil(len(imgs)/cols). It is an *image.Gray when every image is
// one and bg is an opaque gray, an *image.RGBA otherwise. No images give
// an empty image. It panics on a negative pad.
func Grid(imgs []image.Image, cols, pad int, bg color.Color) image.Image {
	if pad < 0 {
		panic(fmt.Sprintf("figure: negative pad %d", pad))
	}
	n := len(imgs)
	if n == 0 {
		return image.NewRGBA(image.Rectangle{})
	}
	if cols <= 0 || cols > n {
		cols = n
	}
	rows := (n + cols - 1) / cols
	var cw, ch int
	for _, m := range imgs {
		if m == nil {
			continue
		}
		s := m.Bounds().Size()
		cw = max(cw, s.X)
		ch = max(ch, s.Y)
	}
	dst := canvas(cols*cw+(cols+1)*pad, rows*ch+(rows+1)*pad, allGray(imgs), bg)
	for k, m := range imgs {
		if m == nil {
			continue
		}
		r, c := k/cols, k%cols
		paste(dst, image.Pt(pad+c*(cw+pad), pad+r*(ch+pad)), m)
	}
	return dst
}

// GridFromBatch converts every image of an NCHW batch with ToImage and
// lays them out with Grid in rows of cols, DefaultPad and Background.
func GridFromBatch(pix []float32, n, c, h, w, cols int) image.Image {
	return Grid(BatchImages(pix, n, c, h, w), cols, DefaultPad, Background)
}

// StyleMix builds the style-mixing figure of the StyleGAN paper: the top
// row holds the column (destination) images colDst, the left column the
// row (source) images rowSrc, cell (r, c) holds mixed[r][c], and the
// top-left corner is empty. Cells are separated and surrounded by pad
// pixels of Background. It panics unless mixed is len(rowSrc) rows of
// len(colDst) images.
func StyleMix(rowSrc, colDst []image.Image, mixed [][]image.Image, pad int) image.Image {
	if len(mixed) != len(rowSrc) {
		panic(fmt.Sprintf("figure: %d rows of mixed images for %d row sources", len(mixed), len(rowSrc)))
	}
	cols := len(colDst) + 1
	cells := make([]image.Image, 0, cols*(len(rowSrc)+1))
	cells = append(cells, nil)
	cells = append(cells, colDst...)
	for r, row := range mixed {
		if len(row) != len(colDst) {
			panic(fmt.Sprintf("figure: mixed row %d has %d images for %d column destinations", r, len(row), len(colDst)))
		}
		cells = append(cells, rowSrc[r])
		cells = append(cells, row...)
	}
	return Grid(cells, cols, pad, Background)
}

// Pairs builds the memorization-check figure: one row per pair, the
// generated image gen[i] and its nearest real image real[i] side by side
// (pad pixels apart and around) under the caption captions[i], e.g. the
// distance. Missing captions are blank. It panics unless gen and real
// have the same length.
func Pairs(gen, real []image.Image, captions []string, pad int) image.Image {
	if len(gen) != len(real) {
		panic(fmt.Sprintf("figure: %d generated images for %d real ones", len(gen), len(real)))
	}
	rows := make([]image.Image, len(gen))
	for i := range gen {
		text := ""
		if i < len(captions) {
			text = captions[i]
		}
		rows[i] = Labeled(Grid([]image.Image{gen[i], real[i]}, 2, pad, Background), text)
	}
	return Grid(rows, 1, 0, Background)
}
