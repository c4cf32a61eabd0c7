package data

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

// pngChunk writes one PNG chunk with its CRC.
func pngChunk(w io.Writer, typ string, data []byte) {
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(data)))
	w.Write(n[:])
	io.WriteString(w, typ)
	w.Write(data)
	c := crc32.NewIEEE()
	io.WriteString(c, typ)
	c.Write(data)
	binary.BigEndian.PutUint32(n[:], c.Sum32())
	w.Write(n[:])
}

// pngIHDR is an IHDR chunk's data: w x h, bit depth 8, colour type ct (0 gray, 6 RGBA).
func pngIHDR(w, h int, ct byte) []byte {
	b := make([]byte, 13)
	binary.BigEndian.PutUint32(b[0:], uint32(w))
	binary.BigEndian.PutUint32(b[4:], uint32(h))
	b[8], b[9] = 8, ct
	return b
}

// hostilePNG is a complete, tiny PNG (74 bytes) whose header claims w x h RGBA pixels and whose
// pixel data is a few bytes: decoding it whole would allocate 4*w*h bytes.
func hostilePNG(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	pngChunk(&b, "IHDR", pngIHDR(w, h, 6))
	pngChunk(&b, "IDAT", []byte{0x78, 0x01, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 0})
	pngChunk(&b, "IEND", nil)
	return b.Bytes()
}

// hostileJPEG is a JPEG header (SOI, a baseline frame header, a scan header, EOI) claiming
// w x h gray pixels.
func hostileJPEG(w, h int) []byte {
	return []byte{0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0,
		0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0xFF, 0xD9}
}

// writeZeroPNG streams a valid side x side 8-bit gray PNG, all black, to w without holding its
// pixels: the zlib stream repeats one compressed run of zero rows (every back-reference in it
// reads zeros, wherever it lands), so a 30000x30000 image (900 MB of pixels) is written in well
// under a second as about 1 MB.
func writeZeroPNG(t testing.TB, w io.Writer, side int) {
	t.Helper()
	bw := bufio.NewWriter(w)
	bw.WriteString("\x89PNG\r\n\x1a\n")
	pngChunk(bw, "IHDR", pngIHDR(side, side, 0))
	rowBytes := side + 1 // filter byte + pixels
	segRows := min(side, 1000)
	segment := func(rows int) (body, tail []byte) {
		var z bytes.Buffer
		fw, err := flate.NewWriter(&z, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(make([]byte, rows*rowBytes))
		fw.Flush() // byte-aligned, not final
		body = bytes.Clone(z.Bytes())
		fw.Close() // the final (empty) block
		return body, z.Bytes()[len(body):]
	}
	full, tail := segment(segRows)
	var idat bytes.Buffer
	idat.Write([]byte{0x78, 0xDA})
	for r := 0; r+segRows <= side; r += segRows {
		idat.Write(full)
	}
	if rest := side % segRows; rest > 0 {
		body, _ := segment(rest)
		idat.Write(body)
	}
	idat.Write(tail)
	// Adler-32 of n zero bytes: a stays 1, b grows by 1 a byte.
	n := uint64(side) * uint64(rowBytes)
	binary.Write(&idat, binary.BigEndian, uint32(n%65521)<<16|1)
	for b := idat.Bytes(); len(b) > 0; {
		k := min(len(b), 1<<20)
		pngChunk(bw, "IDAT", b[:k])
		b = b[k:]
	}
	pngChunk(bw, "IEND", nil)
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteZeroPNGIsValid(t *testing.T) {
	for _, side := range []int{7, 1000, 2500} {
		var b bytes.Buffer
		writeZeroPNG(t, &b, side)
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatalf("side %d: %v", side, err)
		}
		g, ok := img.(*image.Gray)
		if !ok || g.Bounds().Dx() != side || g.Bounds().Dy() != side || g.Pix[len(g.Pix)-1] != 0 {
			t.Fatalf("side %d: decoded %T %v", side, img, img.Bounds())
		}
	}
}

// allocated is the number of bytes f allocates (runtime.MemStats.TotalAlloc), with its result.
func allocated(f func() error) (uint64, error) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, err
}

// TestImageLimits: images beyond MaxImageSide or MaxImagePixels are refused from their header
// alone, by the loader (with and without skip_bad), data info (Config) and DecodeImage, with one
// line naming the file and the limit, allocating next to nothing.
func TestImageLimits(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "NC", "big30000.png")
	if err := os.MkdirAll(filepath.Dir(big), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	writeZeroPNG(t, f, 30000)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file  string
		data  []byte // nil: already written
		limit string
	}{
		{"hostile.png", hostilePNG(100000, 100000), "image width 100000 exceeds the limit data.MaxImageSide = 16384"},
		{"tall.png", hostilePNG(16, 20000), "image height 20000 exceeds the limit data.MaxImageSide"},
		{"wide.jpg", hostileJPEG(65000, 8), "image width 65000 exceeds the limit data.MaxImageSide"},
		{"square.png", hostilePNG(16384, 16384), "image size 16384x16384 (268435456 pixels) exceeds the limit data.MaxImagePixels = 16777216"},
		{"square.jpg", hostileJPEG(8192, 4096), "image size 8192x4096 (33554432 pixels) exceeds the limit data.MaxImagePixels"},
		{"big30000.png", nil, "image width 30000 exceeds the limit data.MaxImageSide"},
	}
	for _, tc := range cases {
		if tc.data != nil {
			writeFile(t, filepath.Join(dir, "NC", tc.file), tc.data)
		}
	}
	for i := 0; i < 4; i++ {
		writeImage(t, filepath.Join(dir, "NC", "ok"+itoa(i)+".png"), testImage(8, 8, true, 100))
	}
	fo, err := OpenDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i := 0; i < fo.Len(); i++ {
		index[filepath.Base(fo.Name(i))] = i
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			i := index[tc.file]
			name := filepath.Join(dir, "NC", tc.file)
			n, err := allocated(func() error { _, _, err := fo.Load(i); return err })
			checkErr(t, err, name+": "+tc.limit, "skip_bad")
			if firstLine(err) != "" {
				t.Errorf("multi-line error %q", err)
			}
			t.Logf("Load allocated %d bytes: %v", n, err)
			if n > 1<<20 {
				t.Errorf("refusing %s allocated %d bytes", tc.file, n)
			}
			_, err = fo.Config(i)
			checkErr(t, err, name+": "+tc.limit)
			r, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			_, _, err = DecodeImage(r)
			var le *LimitError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), tc.limit) {
				t.Errorf("DecodeImage: %v, want a LimitError %q", err, tc.limit)
			}
		})
	}
	// The loader: without skip_bad the epoch ends with the first one; with it they are skipped,
	// reported and the good images remain.
	l, err := NewLoader(fo, LoaderConfig{BatchSize: 10, Resolution: 8, Workers: 2, NoShuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	it := l.Epoch(context.Background(), 0, 0)
	_, err = it.Next()
	it.Close()
	checkErr(t, err, "exceeds the limit data.Max")
	l, err = NewLoader(fo, LoaderConfig{BatchSize: 4, Resolution: 8, Workers: 2, SkipBad: true})
	if err != nil {
		t.Fatal(err)
	}
	n, err := allocated(func() error {
		for range 2 {
			for _, err := range l.Batches(context.Background(), 0, 0) {
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("two epochs with skip_bad allocated %d bytes; %s", n, l.SkipReport())
	if n > 8<<20 || l.Skipped() != len(cases) {
		t.Errorf("skip_bad: allocated %d bytes, skipped %d, want %d", n, l.Skipped(), len(cases))
	}
	// data info counts them as bad, naming the first.
	info, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := info.Splits[0]; s.Bad != len(cases) || !strings.Contains(s.FirstBad.Error(), "exceeds the limit data.Max") {
		t.Errorf("data info: %d bad, first %v", s.Bad, s.FirstBad)
	}
}

// TestImageLimitsLowered: the limits refuse real, decodable images too (lowered here so the
// images stay small), and an image within them decodes.
func TestImageLimitsLowered(t *testing.T) {
	saved := imageLimits
	defer func() { imageLimits = saved }()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testImage(300, 200, false, 200)); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	for _, tc := range []struct {
		side, pixels, header int
		want                 string
	}{
		{MaxImageSide, MaxImagePixels, MaxImageHeaderBytes, ""},
		{299, MaxImagePixels, MaxImageHeaderBytes, "image width 300 exceeds the limit data.MaxImageSide = 299"},
		{300, 300 * 200, MaxImageHeaderBytes, ""},
		{300, 300*200 - 1, MaxImageHeaderBytes, "image size 300x200 (60000 pixels) exceeds the limit data.MaxImagePixels = 59999"},
		{300, 300 * 200, 16, "image header (the bytes before the image size) exceeds the limit data.MaxImageHeaderBytes = 16"},
	} {
		imageLimits.side, imageLimits.pixels, imageLimits.header = tc.side, tc.pixels, tc.header
		img, _, err := DecodeImage(bytes.NewReader(file))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("limits %+v: %v", imageLimits, err)
		case tc.want == "" && img.Bounds() != image.Rect(0, 0, 300, 200):
			t.Errorf("limits %+v: decoded %v", imageLimits, img.Bounds())
		case tc.want != "" && (err == nil || err.Error() != tc.want):
			t.Errorf("limits %+v: error %v, want %q", imageLimits, err, tc.want)
		}
	}
}

// fakeMagic starts the files of a format registered only in tests, whose decoder must never be
// reached for an image beyond the limits.
const fakeMagic = "SGANFAKE"

var fakeDecodes atomic.Int32

func init() {
	image.RegisterFormat("sganfake", fakeMagic, func(r io.Reader) (image.Image, error) {
		var b [len(fakeMagic) + 9]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, err
		}
		fakeDecodes.Add(1)
		if b[len(b)-1] == 'P' {
			panic("fake decoder bug")
		}
		return image.NewGray(image.Rect(0, 0, int(binary.BigEndian.Uint32(b[8:])), int(binary.BigEndian.Uint32(b[12:])))), nil
	}, func(r io.Reader) (image.Config, error) {
		var b [len(fakeMagic) + 8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return image.Config{}, err
		}
		return image.Config{ColorModel: color.GrayModel, Width: int(binary.BigEndian.Uint32(b[8:])), Height: int(binary.BigEndian.Uint32(b[12:]))}, nil
	})
}

func fakeImage(w, h int, panics bool) []byte {
	b := append([]byte(fakeMagic), 0, 0, 0, 0, 0, 0, 0, 0, 'x')
	binary.BigEndian.PutUint32(b[8:], uint32(w))
	binary.BigEndian.PutUint32(b[12:], uint32(h))
	if panics {
		b[len(b)-1] = 'P'
	}
	return b
}

// TestImageLimitsAnyFormat: the size check covers every registered format, and a decoder that
// panics on a file makes that file's error in the loader (skipped under skip_bad) instead of
// ending the process from a worker goroutine.
func TestImageLimitsAnyFormat(t *testing.T) {
	fakeDecodes.Store(0)
	_, _, err := DecodeImage(bytes.NewReader(fakeImage(1<<30, 1, false)))
	if err == nil || !strings.Contains(err.Error(), "MaxImageSide") || fakeDecodes.Load() != 0 {
		t.Fatalf("oversized fake image: %v (decoder called %d times)", err, fakeDecodes.Load())
	}
	if img, _, err := DecodeImage(bytes.NewReader(fakeImage(5, 4, false))); err != nil || img.Bounds().Dx() != 5 {
		t.Fatalf("small fake image: %v", err)
	}
	dir := t.TempDir()
	for i := 0; i < 4; i++ {
		writeImage(t, filepath.Join(dir, "x"+itoa(i)+".png"), testImage(8, 8, true, 100))
	}
	writeFile(t, filepath.Join(dir, "crash.png"), fakeImage(8, 8, true)) // in the first batch
	fo, err := OpenDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, skip := range []bool{false, true} {
		l, err := NewLoader(fo, LoaderConfig{BatchSize: 4, Resolution: 8, Workers: 2, SkipBad: skip, NoShuffle: true})
		if err != nil {
			t.Fatal(err)
		}
		var got error
		for _, err := range l.Batches(context.Background(), 0, 0) {
			got = errors.Join(got, err)
		}
		if !skip {
			checkErr(t, got, filepath.Join(dir, "crash.png"), "internal error while decoding: fake decoder bug")
		} else if got != nil || l.Skipped() != 1 {
			t.Errorf("skip_bad: %v, skipped %d", got, l.Skipped())
		}
	}
}

// TestSkipReport: what skip_bad skipped is counted and the first MaxSkipNames are named, the
// first with its error, in one line.
func TestSkipReport(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 6; i++ {
		writeImage(t, filepath.Join(dir, "NC", "good"+itoa(i)+".png"), testImage(8, 8, true, 100))
	}
	for i := 0; i < 7; i++ {
		writeFile(t, filepath.Join(dir, "NC", "bad"+itoa(i)+".png"), []byte("garbage"))
	}
	fo, err := OpenDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLoader(fo, LoaderConfig{BatchSize: 4, Resolution: 8, Workers: 1, SkipBad: true, NoShuffle: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := l.SkipReport(); s.Count != 0 || s.String() != "" {
		t.Errorf("before reading: %+v %q", s, s.String())
	}
	allBatches(t, l, 0, 0)
	r := l.SkipReport()
	if r.Count != 7 || len(r.First) != MaxSkipNames {
		t.Fatalf("report %+v, want 7 skipped, %d named", r, MaxSkipNames)
	}
	// Workers: 1 and no shuffling: found in order.
	bad := func(i int) string { return filepath.Join(dir, "NC", "bad"+itoa(i)+".png") }
	want := "skipped 7 unreadable images (data.skip_bad): data: " + bad(0) + ": cannot decode image: image: unknown format; also " +
		bad(1) + ", " + bad(2) + ", " + bad(3) + ", " + bad(4) + " and 2 more"
	if got := r.String(); got != want {
		t.Errorf("report\n%s\nwant\n%s", got, want)
	}
	one := SkipReport{Count: 1, First: []SkippedImage{{Name: "x.png"}}}
	if got := one.String(); got != "skipped 1 unreadable image (data.skip_bad): x.png" {
		t.Errorf("one: %q", got)
	}
}

// TestEmptyClassFolders: a class folder without images is listed (Folder, data info), a warning
// for unconditional training and an error naming it for conditional training.
func TestEmptyClassFolders(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []string{"AD", "NC"} {
		for i := 0; i < 3; i++ {
			writeImage(t, filepath.Join(dir, "train", c, "x"+itoa(i)+".png"), testImage(8, 8, true, 100))
		}
	}
	writeFile(t, filepath.Join(dir, "train", "MCI", "notes.txt"), []byte("to do"))
	if err := os.MkdirAll(filepath.Join(dir, "train", "EMCI"), 0o755); err != nil {
		t.Fatal(err)
	}
	fo, err := OpenDir(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	wantEmpty := []string{filepath.Join(dir, "train", "EMCI"), filepath.Join(dir, "train", "MCI")}
	if got := fo.EmptyClasses(); strings.Join(got, "|") != strings.Join(wantEmpty, "|") || len(fo.Classes()) != 2 {
		t.Fatalf("empty %v, classes %v", got, fo.Classes())
	}
	for _, tc := range []struct {
		conditional bool
		warn, err   string
	}{
		{false, "data: ignoring 2 class folder(s) without images: " + strings.Join(wantEmpty, ", "), ""},
		{true, "", "data: " + wantEmpty[0] + ": class folder holds no .jpg, .jpeg or .png image, and data.conditional = true takes the classes from the folders (add images to it or remove it)"},
	} {
		warn, err := CheckClasses(fo, tc.conditional)
		if warn != tc.warn || (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("conditional %v: warning %q, error %v; want %q, %q", tc.conditional, warn, err, tc.warn, tc.err)
		}
	}
	// Without empty folders (and for other datasets) there is nothing to say.
	demo, err := Open("demo", "train")
	if err != nil {
		t.Fatal(err)
	}
	if warn, err := CheckClasses(demo, true); warn != "" || err != nil {
		t.Errorf("demo: %q %v", warn, err)
	}
	info, err := Inspect(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	info.Write(&b)
	if !strings.Contains(b.String(), "empty class folder (ignored; refused with data.conditional): "+filepath.Join("train", "MCI")) {
		t.Errorf("data info:\n%s", b.String())
	}
}

func TestCheckClassFolder(t *testing.T) {
	for _, tc := range []struct {
		name, why string // why "" = accepted
	}{
		{"AD", ""},
		{"NC", ""},
		{"Alzheimer's disease (mild)", ""},
		{"démence", ""},
		{"", "it is empty"},
		{".", "it starts with a dot"},
		{"..", "it starts with a dot"},
		{".hidden", "it starts with a dot"},
		{"../../../x", "it starts with a dot"},
		{"a/../../x", "it holds a slash or backslash"},
		{"/etc", "it holds a slash or backslash"},
		{`..\x`, "it starts with a dot"},
		{`a\b`, "it holds a slash or backslash"},
		{"a\x00b", "it holds a control character"},
		{"a\nb", "it holds a control character"},
		{"\xff", "it is not valid UTF-8"},
		{strings.Repeat("a", 256), "it is longer than 255 bytes"},
	} {
		err := CheckClassFolder(tc.name)
		if (err == nil) != (tc.why == "") || (err != nil && !strings.HasSuffix(err.Error(), "is not a plain folder name ("+tc.why+")")) {
			t.Errorf("CheckClassFolder(%q) = %v, want %q", tc.name, err, tc.why)
		}
	}
}

// TestBuildWorkerRecovers: a panic while reading a source (a parser's bug on a hostile file)
// becomes that source's problem instead of ending the process from a worker goroutine.
func TestBuildWorkerRecovers(t *testing.T) {
	o, err := processSourceSafe(nil, BuildOptions{}, t.TempDir()) // nil source: processSource panics
	if err != nil || !strings.HasPrefix(o.err, "internal error while reading it: runtime error: invalid memory address") {
		t.Errorf("recovered source: %q, %v", o.err, err)
	}
}
