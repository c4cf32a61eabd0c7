package figure

import (
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/png"
	"io"
	"sgan/internal/safefile"
)

// SavePNG writes img to path as a PNG, atomically (temporary file in the
// same folder, fsync, rename), creating the folder if needed. An
// *image.Gray is written as an 8-bit grayscale PNG. Errors name the path.
func SavePNG(path string, img image.Image) error {
	if img == nil {
		return fmt.Errorf("figure: save %s: nil image", path)
	}
	return save(path, func(w io.Writer) error {
		return png.Encode(w, img)
	})
}

// grayPalette is the 256-level gray palette of gray GIF frames.
var grayPalette = func() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.Gray{Y: uint8(i)}
	}
	return p
}()

// gifFrame converts m to a paletted frame with its origin at (0, 0):
// exact 256-gray palette for *image.Gray, Plan 9 palette with
// Floyd-Steinberg dithering otherwise.
func gifFrame(m image.Image) *image.Paletted {
	b := m.Bounds()
	r := image.Rect(0, 0, b.Dx(), b.Dy())
	if g, ok := m.(*image.Gray); ok {
		p := image.NewPaletted(r, grayPalette)
		for y := 0; y < b.Dy(); y++ {
			si := g.PixOffset(b.Min.X, b.Min.Y+y)
			copy(p.Pix[y*p.Stride:y*p.Stride+b.Dx()], g.Pix[si:si+b.Dx()])
		}
		return p
	}
	p := image.NewPaletted(r, palette.Plan9)
	draw.FloydSteinberg.Draw(p, r, m, b.Min)
	return p
}

// SaveGIF writes frames to path as an animated GIF that loops forever,
// showing each frame for delay hundredths of a second. *image.Gray frames
// use an exact 256-gray palette; other frames are dithered
// (Floyd-Steinberg) to the Plan 9 palette. The canvas is as large as the
// largest frame. The write is atomic like SavePNG's. Errors name the path.
func SaveGIF(path string, frames []image.Image, delay int) error {
	if err := checkGIF(frames, delay); err != nil {
		return fmt.Errorf("figure: save %s: %w", path, err)
	}
	return save(path, func(w io.Writer) error {
		return EncodeGIF(w, frames, delay)
	})
}

// EncodeGIF writes frames to w as SaveGIF does (for a web page or any other stream).
func EncodeGIF(w io.Writer, frames []image.Image, delay int) error {
	if err := checkGIF(frames, delay); err != nil {
		return fmt.Errorf("figure: gif: %w", err)
	}
	g := &gif.GIF{LoopCount: 0}
	for _, m := range frames {
		p := gifFrame(m)
		g.Image = append(g.Image, p)
		g.Delay = append(g.Delay, delay)
		g.Config.Width = max(g.Config.Width, p.Rect.Dx())
		g.Config.Height = max(g.Config.Height, p.Rect.Dy())
	}
	return gif.EncodeAll(w, g)
}

// checkGIF rejects an animation without frames, with a nil frame or a negative delay.
func checkGIF(frames []image.Image, delay int) error {
	if len(frames) == 0 {
		return fmt.Errorf("no frames")
	}
	if delay < 0 {
		return fmt.Errorf("negative delay %d", delay)
	}
	for k, m := range frames {
		if m == nil {
			return fmt.Errorf("frame %d is nil", k)
		}
	}
	return nil
}

// save writes path atomically through encode (safefile); errors name the path.
func save(path string, encode func(io.Writer) error) error {
	if err := safefile.WriteWith(path, encode); err != nil {
		return fmt.Errorf("figure: %w", err)
	}
	return nil
}
