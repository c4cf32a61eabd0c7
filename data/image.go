package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on the images the readers decode (PNG, JPEG and any other format registered with
// package image), checked against the size an image's header declares before any pixel is
// allocated: a 74-byte PNG header claiming 100000x100000 RGBA must give a one-line error, not
// 40 GB of allocation. They are policy, far above any MRI slice (256x256 is typical, 1024x1024
// large).
const (
	// MaxImageSide bounds an image's width and height in pixels.
	MaxImageSide = 16384
	// MaxImagePixels bounds width x height (4096x4096). Decoding costs up to 8 bytes a pixel for
	// a 16-bit RGBA PNG (twice that while de-interlacing) and about 20 for a progressive
	// 4-component JPEG (coefficients and image), so one image takes at most about 350 MB; an
	// 8-bit gray one, 16 MiB.
	MaxImagePixels = 1 << 24
	// MaxImageHeaderBytes bounds the bytes read before the image size is known (a JPEG may put
	// metadata segments before its frame header); they are kept in memory for the decoder.
	MaxImageHeaderBytes = 16 << 20
)

// imageLimits are the limits in force; tests lower them to exercise refusals on small images.
var imageLimits = struct{ side, pixels, header int }{MaxImageSide, MaxImagePixels, MaxImageHeaderBytes}

// LimitError reports an input beyond one of the package's limits.
type LimitError struct {
	What  string // what exceeded it, e.g. "image width 100000"
	Limit string // the constant's name, e.g. "MaxImageSide"
	Value int64  // the limit in force
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s exceeds the limit data.%s = %d", e.What, e.Limit, e.Value)
}

// CheckImageConfig refuses an image size beyond MaxImageSide or MaxImagePixels.
func CheckImageConfig(cfg image.Config) error {
	switch w, h := cfg.Width, cfg.Height; {
	case w <= 0 || h <= 0:
		return fmt.Errorf("image size %dx%d is empty", w, h)
	case w > imageLimits.side:
		return &LimitError{fmt.Sprintf("image width %d", w), "MaxImageSide", int64(imageLimits.side)}
	case h > imageLimits.side:
		return &LimitError{fmt.Sprintf("image height %d", h), "MaxImageSide", int64(imageLimits.side)}
	case w*h > imageLimits.pixels:
		return &LimitError{fmt.Sprintf("image size %dx%d (%d pixels)", w, h, w*h), "MaxImagePixels", int64(imageLimits.pixels)}
	}
	return nil
}

// DecodeImageConfig reads an image's format and size from its header without decoding it,
// refusing one beyond the limits (CheckImageConfig).
func DecodeImageConfig(r io.Reader) (image.Config, string, error) {
	cfg, format, err := image.DecodeConfig(&limitedReader{r: r, n: int64(imageLimits.header)})
	if err != nil {
		return cfg, format, decodeErr(err)
	}
	return cfg, format, CheckImageConfig(cfg)
}

// DecodeImage decodes an image in any registered format (PNG and JPEG here), after checking the
// size its header declares against MaxImageSide and MaxImagePixels, so that nothing is allocated
// for an image beyond them. Errors are one line; the caller adds the file's name.
func DecodeImage(r io.Reader) (image.Image, string, error) {
	var head bytes.Buffer
	lr := &limitedReader{r: io.TeeReader(r, &head), n: int64(imageLimits.header)}
	cfg, format, err := image.DecodeConfig(lr)
	if err != nil {
		return nil, format, decodeErr(err)
	}
	if err := CheckImageConfig(cfg); err != nil {
		return nil, format, err
	}
	// The decoder reads the header again from the bytes kept, then the rest of the file.
	img, format, err := image.Decode(io.MultiReader(&head, r))
	if err != nil {
		return nil, format, decodeErr(err)
	}
	if b := img.Bounds(); b.Dx() > cfg.Width || b.Dy() > cfg.Height {
		return nil, format, fmt.Errorf("decoded a %dx%d image, but its header says %dx%d", b.Dx(), b.Dy(), cfg.Width, cfg.Height)
	}
	return img, format, nil
}

// limitedReader reads at most n bytes, then fails with a LimitError (io.LimitReader would
// report a clean end of file, which a decoder may take for a truncated image).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, &LimitError{"image header (the bytes before the image size)", "MaxImageHeaderBytes", int64(imageLimits.header)}
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// decodeErr keeps a LimitError as is and flattens other decoder errors to one line.
func decodeErr(err error) error {
	var le *LimitError
	if errors.As(err, &le) {
		return le
	}
	if s := err.Error(); strings.ContainsFunc(s, unicode.IsControl) {
		return errors.New(oneLine(s))
	}
	return err
}

// CheckClassFolder refuses a class name that cannot be used as one folder name: empty, starting
// with a dot ("." and ".." included), holding a slash, a backslash, a NUL or another control
// character, invalid UTF-8, or longer than 255 bytes. Class names come from folder names and
// from checkpoints (which may be hostile), and sgan sample --export makes folders of them.
func CheckClassFolder(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("class name %q is not a plain folder name (%s)", name, why)
	}
	switch {
	case name == "":
		return bad("it is empty")
	case name[0] == '.':
		return bad("it starts with a dot")
	case len(name) > 255:
		return bad("it is longer than 255 bytes")
	case !utf8.ValidString(name):
		return bad("it is not valid UTF-8")
	case strings.ContainsAny(name, `/\`):
		return bad("it holds a slash or backslash")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return bad("it holds a control character")
		}
	}
	return nil
}
