package project

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"path/filepath"

	"sgan/figure"
)

// hot is the "hot" colour map: black, red, yellow, white as v goes from 0 to 1.
func hot(v float64) color.RGBA {
	c := func(x float64) uint8 { return uint8(math.Round(255 * min(1, max(0, x)))) }
	return color.RGBA{c(3 * v), c(3*v - 1), c(3*v - 2), 255}
}

// diverging maps v in [-1, 1] to blue (negative), white (0) and red (positive).
func diverging(v float64) color.RGBA {
	v = min(1, max(-1, v))
	f := func(x float64) uint8 { return uint8(math.Round(255 * x)) }
	if v < 0 {
		return color.RGBA{f(1 + v), f(1 + v), 255, 255}
	}
	return color.RGBA{255, f(1 - v), f(1 - v), 255}
}

// gray8 is the 8-bit level of a [-1, 1] value, channels averaged, at pixel i of a CHW image.
func gray8(pix []float32, ch, n, i int) float64 {
	var s float32
	for c := 0; c < ch; c++ {
		s += pix[c*n+i]
	}
	return float64(figure.Level(s / float32(ch)))
}

// AbsDiffImage shows |a - b| (on the 0-1 intensity scale, channels averaged) in gray, black for
// 0 and white from vmax on.
func AbsDiffImage(a, b []float32, ch, side int, vmax float64) image.Image {
	m := AnomalyMap(a, b, ch, side, 0)
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i, v := range m {
		img.Pix[i] = uint8(math.Round(255 * min(1, float64(v)/vmax)))
	}
	return img
}

// HeatOverlay draws the anomaly map over the scan (channels averaged, in gray): each pixel is
// blended toward the hot colour of v/vmax with opacity 0.75 min(1, v/vmax), so well
// reconstructed regions show the scan, poorly reconstructed ones glow, and the anatomy stays
// visible under the strongest residuals.
func HeatOverlay(scan []float32, amap []float32, ch, side int, vmax float64) image.Image {
	n := side * side
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := 0; i < n; i++ {
		g := gray8(scan, ch, n, i)
		v := min(1, float64(amap[i])/vmax)
		h := hot(v)
		a := 0.75 * v
		mix := func(c uint8) uint8 { return uint8(math.Round((1-a)*g + a*float64(c))) }
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = mix(h.R), mix(h.G), mix(h.B), 255
	}
	return img
}

// SignedDiffImage shows b - a (on the 0-1 intensity scale, channels averaged) in the diverging
// map: red where b is brighter, blue where darker, white where equal, saturating at +-vmax.
func SignedDiffImage(a, b []float32, ch, side int, vmax float64) image.Image {
	n := side * side
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := 0; i < n; i++ {
		var d float64
		for c := 0; c < ch; c++ {
			d += float64(b[c*n+i]-a[c*n+i]) / float64(2*ch)
		}
		col := diverging(d / vmax)
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = col.R, col.G, col.B, 255
	}
	return img
}

// at is image i of an N*C*R*R batch.
func at(pix []float32, i, size int) []float32 { return pix[i*size : (i+1)*size] }

// zoom is the integer magnification that brings a side-pixel image to at least 96 pixels, so
// that small images stay legible beside their captions.
func zoom(side int) int { return max(1, (96+side-1)/side) }

// enlarge magnifies img k times (nearest neighbour), keeping its type (*image.Gray or RGBA).
func enlarge(img image.Image, k int) image.Image {
	if k == 1 {
		return img
	}
	b := img.Bounds()
	r := image.Rect(0, 0, b.Dx()*k, b.Dy()*k)
	if g, ok := img.(*image.Gray); ok {
		out := image.NewGray(r)
		for y := 0; y < r.Dy(); y++ {
			for x := 0; x < r.Dx(); x++ {
				out.Pix[y*out.Stride+x] = g.GrayAt(b.Min.X+x/k, b.Min.Y+y/k).Y
			}
		}
		return out
	}
	out := image.NewRGBA(r)
	for y := 0; y < r.Dy(); y++ {
		for x := 0; x < r.Dx(); x++ {
			out.Set(x, y, img.At(b.Min.X+x/k, b.Min.Y+y/k))
		}
	}
	return out
}

// panelColumns is how many columns of per-target panels a figure of n targets uses: one up to
// 10 targets, then up to 4 so that a test set of 40 stays a readable page.
func panelColumns(n int) int { return min(4, max(1, (n+9)/10)) }

// rows lays out one captioned panel of cells per target (magnified by zoom(side)) under a
// header.
func rows(header string, cells [][]image.Image, captions []string, side int) image.Image {
	k := zoom(side)
	var panels []image.Image
	for i, c := range cells {
		big := make([]image.Image, len(c))
		for j, img := range c {
			big[j] = enlarge(img, k)
		}
		panels = append(panels, figure.Labeled(figure.Grid(big, len(big), figure.DefaultPad, figure.Background), captions[i]))
	}
	return figure.Labeled(figure.Grid(panels, panelColumns(len(panels)), 4, figure.Background), header)
}

// shortName is a file's base name.
func shortName(t Target) string { return filepath.Base(t.Name) }

// ProjectionFigure is proj.png: per target, the target, its reconstruction and |difference|
// (black 0, white from vmax on the 0-1 scale), captioned with PSNR and SSIM.
func ProjectionFigure(r *Result, ch, side int, vmax float64) image.Image {
	size := ch * side * side
	var cells [][]image.Image
	var caps []string
	for i, t := range r.Targets {
		rec := at(r.Recon, i, size)
		cells = append(cells, []image.Image{
			figure.ToImage(t.Pix, 1, ch, side, side, 0),
			figure.ToImage(rec, 1, ch, side, side, 0),
			AbsDiffImage(t.Pix, rec, ch, side, vmax),
		})
		caps = append(caps, fmt.Sprintf("%s  %.1f dB  SSIM %.3f", shortName(t), r.PSNR[i], r.SSIM[i]))
	}
	return rows(fmt.Sprintf("target | reconstruction | |diff| (white = %.2f)", vmax), cells, caps, side)
}

// AnomalyFigure is anomaly.png: per target, the scan and the smoothed residual over it (hot,
// saturating at vmax), captioned with the anomaly score.
func AnomalyFigure(r *Result, maps [][]float32, scores []float64, ch, side int, vmax float64) image.Image {
	var cells [][]image.Image
	var caps []string
	for i, t := range r.Targets {
		cells = append(cells, []image.Image{figure.ToImage(t.Pix, 1, ch, side, side, 0), HeatOverlay(t.Pix, maps[i], ch, side, vmax)})
		caps = append(caps, fmt.Sprintf("%s  score %.3f", shortName(t), scores[i]))
	}
	return rows(fmt.Sprintf("scan | |scan - reconstruction|, smoothed (hot, full at %.2f)", vmax), cells, caps, side)
}

// CounterfactualFigure is counterfactual.png: per target, the target, its reconstruction (own
// class), the counterfactual (class to) and the signed change counterfactual - reconstruction
// (red brighter, blue darker, saturating at +-vmax).
func CounterfactualFigure(r *Result, cf []float32, from []string, to string, ch, side int, vmax float64) image.Image {
	size := ch * side * side
	var cells [][]image.Image
	var caps []string
	for i, t := range r.Targets {
		rec, c := at(r.Recon, i, size), at(cf, i, size)
		cells = append(cells, []image.Image{
			figure.ToImage(t.Pix, 1, ch, side, side, 0),
			figure.ToImage(rec, 1, ch, side, side, 0),
			figure.ToImage(c, 1, ch, side, side, 0),
			SignedDiffImage(rec, c, ch, side, vmax),
		})
		caps = append(caps, fmt.Sprintf("%s  %s -> %s", shortName(t), from[i], to))
	}
	return rows(fmt.Sprintf("target | reconstruction | as %s | change (red brighter, blue darker, full at %.2f)", to, vmax), cells, caps, side)
}

// OptimizationFrames are proj.gif's frames: the first targets and the images at each snapshot.
func OptimizationFrames(r *Result, ch, side int) []image.Image {
	var frames []image.Image
	for _, f := range r.Frames {
		var cells []image.Image
		for i := 0; i < f.N; i++ {
			cells = append(cells, figure.ToImage(r.Targets[i].Pix, 1, ch, side, side, 0), figure.ToImage(f.Pix, f.N, ch, side, side, i))
		}
		for j := range cells {
			cells[j] = enlarge(cells[j], zoom(side))
		}
		frames = append(frames, figure.Labeled(figure.Grid(cells, 2, figure.DefaultPad, figure.Background), fmt.Sprintf("target | step %d", f.Step)))
	}
	return frames
}
