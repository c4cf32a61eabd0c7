package figure

import (
	"image"
	"image/color"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// labelMargin is the blank space in pixels around caption text.
const labelMargin = 2

// Labeled returns img under a caption strip of Background holding text in
// black (basicfont 7x13; "\n" starts a new line). The result is as wide
// as the wider of img and the text, with img at the left. It is an
// *image.Gray when img is one, an *image.RGBA otherwise.
func Labeled(img image.Image, text string) image.Image {
	face := basicfont.Face7x13
	lines := strings.Split(text, "\n")
	d := &font.Drawer{Face: face}
	tw := 0
	for _, l := range lines {
		tw = max(tw, d.MeasureString(l).Ceil())
	}
	lineH := face.Metrics().Height.Ceil()
	stripH := len(lines)*lineH + 2*labelMargin
	var is image.Point
	if img != nil {
		is = img.Bounds().Size()
	}
	w := max(is.X, tw+2*labelMargin)
	dst := canvas(w, stripH+is.Y, allGray([]image.Image{img}), Background)
	d.Dst = dst
	d.Src = image.NewUniform(color.Black)
	ascent := face.Metrics().Ascent.Ceil()
	for k, l := range lines {
		d.Dot = fixed.P(labelMargin, labelMargin+k*lineH+ascent)
		d.DrawString(l)
	}
	if img != nil {
		paste(dst, image.Pt(0, stripH), img)
	}
	return dst
}
