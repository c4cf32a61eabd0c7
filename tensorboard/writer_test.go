package tensorboard

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMaskedCRCKnownAnswers checks the package's masked CRC32C and the test decoder's against
// values computed elsewhere: CRC-32C check values (RFC 3720 B.4 and the usual "123456789"),
// masked by a table-driven Python implementation, and two checksums read from real TensorFlow
// event files (quoted in TensorBoard's data server tests, masked_crc.rs and tf_record.rs).
func TestMaskedCRCKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		data        []byte
		crc, masked uint32
	}{
		{"123456789", []byte("123456789"), 0xe3069283, 0xc78ab0e5},
		{"32 zero bytes", make([]byte, 32), 0x8a9136aa, 0x0fd7fffa},
		{"32 0xff bytes", bytes.Repeat([]byte{0xff}, 32), 0x62a8ab43, 0xf909b029},
		{"empty", nil, 0, 0xa282ead8},
		{"TensorFlow length 24", []byte{24, 0, 0, 0, 0, 0, 0, 0}, 0x4a65bfe4, 0x224b7fa3},
		{"TensorFlow file_version record", []byte("\x1a\x11CRC test, one two"), 0xf2d95a88, 0x5794d08a},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := crc32cByHand(tc.data); got != tc.crc {
				t.Errorf("test CRC32C = %#08x, want %#08x", got, tc.crc)
			}
			if got := maskByHand(tc.crc); got != tc.masked {
				t.Errorf("test mask = %#08x, want %#08x", got, tc.masked)
			}
			if got := maskedCRC(tc.data); got != tc.masked {
				t.Errorf("maskedCRC = %#08x, want %#08x", got, tc.masked)
			}
		})
	}
}

// realFirstRecord is the first record of an event file written by TensorFlow (from TensorBoard's
// tf_record.rs tests): Event{wall_time: 1599759586.0, file_version: "brain.Event:2"}.
var realFirstRecord = []byte("\x18\x00\x00\x00\x00\x00\x00\x00\xa3\x7f\x4b\x22" +
	"\x09\x00\x00\x80\x38\x99\xd6\xd7\x41\x1a\x0dbrain.Event:2" + "\x12\x4b\x36\xab")

// TestFirstRecordMatchesTensorFlow: the writer's first record is byte for byte TensorFlow's for
// the same wall time, and the test decoder reads TensorFlow's.
func TestFirstRecordMatchesTensorFlow(t *testing.T) {
	f := &fakeFile{room: -1}
	wt := time.Unix(1599759586, 0)
	if _, err := newWriter("fake", f, func() time.Time { return wt }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f.data, realFirstRecord) {
		t.Errorf("first record\n got % x\nwant % x", f.data, realFirstRecord)
	}
	evs, err := decodeBytes(realFirstRecord)
	if err != nil {
		t.Fatal(err)
	}
	if v := FileVersion; len(evs) != 1 || !reflect.DeepEqual(evs[0], tbEvent{WallTime: 1599759586, FileVersion: &v}) {
		t.Errorf("decoded TensorFlow's record as %+v", evs)
	}
}

func f32(v float32) *float32 { return &v }
func str(s string) *string   { return &s }
func i64(v int64) *int64     { return &v }

// TestWriterRoundTrip writes scalars, images and a purge marker, reads the file back with the
// test decoder and checks every field.
func TestWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	before := time.Now()
	w, err := NewWriter(filepath.Join(dir, "run")) // created if missing
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	clock := time.Unix(1700000000, 250_000_000)
	w.now = func() time.Time { clock = clock.Add(time.Second); return clock }

	w.PurgeFrom(40)
	w.Scalar("loss/g", 40, 1.5)
	w.Scalar("loss/d", 41, -0.25)
	w.Scalar("nan", 42, math.NaN())
	w.Scalar("big", 1<<40, 3e38)
	w.Scalars(43, map[string]float64{"lr": 0.002, "ada_p": 0.125, "img_per_s": 37.5})
	w.Scalars(43, nil) // nothing
	imgs := testImages()
	for i, im := range imgs {
		if err := w.Image(fmt.Sprintf("samples/%d", i), int64(50+i), im.img); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, err := decodeFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 7+len(imgs) {
		t.Fatalf("%d events, want %d", len(evs), 7+len(imgs))
	}
	first := evs[0]
	if first.FileVersion == nil || *first.FileVersion != "brain.Event:2" || first.Step != 0 {
		t.Errorf("first event %+v, want file_version brain.Event:2 at step 0", first)
	}
	if lo, hi := float64(before.UnixNano())/1e9-1e-3, float64(after.UnixNano())/1e9+1e-3; first.WallTime < lo || first.WallTime > hi {
		t.Errorf("first event's wall time %f not within [%f, %f]", first.WallTime, lo, hi)
	}
	wall := func(i int) float64 { return 1700000000.25 + float64(i) }
	want := []tbEvent{
		{WallTime: wall(1), Step: 40, SessionStatus: i64(1)},
		{WallTime: wall(2), Step: 40, Summary: &tbSummary{[]tbValue{{Tag: "loss/g", Simple: f32(1.5)}}}},
		{WallTime: wall(3), Step: 41, Summary: &tbSummary{[]tbValue{{Tag: "loss/d", Simple: f32(-0.25)}}}},
		{WallTime: wall(4), Step: 42, Summary: &tbSummary{[]tbValue{{Tag: "nan", Simple: f32(float32(math.NaN()))}}}},
		{WallTime: wall(5), Step: 1 << 40, Summary: &tbSummary{[]tbValue{{Tag: "big", Simple: f32(3e38)}}}},
		{WallTime: wall(6), Step: 43, Summary: &tbSummary{[]tbValue{
			{Tag: "ada_p", Simple: f32(0.125)}, {Tag: "img_per_s", Simple: f32(37.5)}, {Tag: "lr", Simple: f32(0.002)}}}},
	}
	for i, w := range want {
		got := evs[1+i]
		// NaN != NaN: compare the scalars' bits.
		if !reflect.DeepEqual(fmt.Sprintf("%+v", flat(got)), fmt.Sprintf("%+v", flat(w))) {
			t.Errorf("event %d:\n got %s\nwant %s", 1+i, flat(got), flat(w))
		}
	}
	for i, im := range imgs {
		e := evs[7+i]
		tag := fmt.Sprintf("samples/%d", i)
		if e.Step != int64(50+i) || e.WallTime != wall(7+i) || e.Summary == nil || len(e.Summary.Values) != 1 {
			t.Errorf("%s: event %+v, want one value at step %d, wall time %f", im.name, e, 50+i, wall(7+i))
			continue
		}
		v := e.Summary.Values[0]
		if v.Tag != tag || v.Image == nil {
			t.Errorf("%s: value %q (image %v), want image %q", im.name, v.Tag, v.Image != nil, tag)
			continue
		}
		checkImage(t, im.name, *v.Image, im.img, im.colorspace)
	}
}

// flat prints an event with pointers followed and floats as bits.
func flat(e tbEvent) string {
	s := fmt.Sprintf("wall=%v step=%d", e.WallTime, e.Step)
	if e.FileVersion != nil {
		s += " file_version=" + *e.FileVersion
	}
	if e.SessionStatus != nil {
		s += fmt.Sprintf(" session_log.status=%d", *e.SessionStatus)
	}
	if e.Summary != nil {
		s += " summary{"
		for _, v := range e.Summary.Values {
			s += fmt.Sprintf(" %q:", v.Tag)
			if v.Simple != nil {
				s += fmt.Sprintf("simple=%v(%#x)", *v.Simple, math.Float32bits(*v.Simple))
			}
			if v.Image != nil {
				s += fmt.Sprintf("image=%dx%d/%d", v.Image.Width, v.Image.Height, v.Image.Colorspace)
			}
		}
		s += " }"
	}
	return s
}

type testImage struct {
	name       string
	img        image.Image
	colorspace int64
}

// testImages covers the kinds of picture the trainer logs and the encoder's branches; sizes are
// not square, so a swapped width and height shows.
func testImages() []testImage {
	gray := image.NewGray(image.Rect(0, 0, 7, 5))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 37)
	}
	sub := image.NewGray(image.Rect(0, 0, 9, 9))
	for i := range sub.Pix {
		sub.Pix[i] = uint8(255 - i)
	}
	gray16 := image.NewGray16(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		gray16.SetGray16(i%3, i/3, color.Gray16{Y: uint16(i * 10007)})
	}
	rgb := image.NewRGBA(image.Rect(0, 0, 6, 4))
	for y := range 4 {
		for x := range 6 {
			rgb.SetRGBA(x, y, color.RGBA{uint8(40 * x), uint8(60 * y), uint8(x * y * 9), 255})
		}
	}
	rgba := image.NewNRGBA(image.Rect(0, 0, 3, 3))
	for i := range 9 {
		rgba.SetNRGBA(i%3, i/3, color.NRGBA{uint8(i * 20), 200, uint8(255 - i), uint8(i * 28)})
	}
	return []testImage{
		{"gray 7x5", gray, 1},
		{"gray sub-image with origin (2,3)", sub.SubImage(image.Rect(2, 3, 8, 7)), 1},
		{"gray16 3x2", gray16, 1},
		{"opaque RGBA 6x4", rgb, 3},
		{"translucent NRGBA 3x3", rgba, 4},
	}
}

// checkImage decodes the logged PNG and compares its header fields and every pixel with src.
func checkImage(t *testing.T, name string, got tbImage, src image.Image, colorspace int64) {
	t.Helper()
	b := src.Bounds()
	if got.Width != int64(b.Dx()) || got.Height != int64(b.Dy()) || got.Colorspace != colorspace {
		t.Errorf("%s: Image{width %d, height %d, colorspace %d}, want {%d, %d, %d}", name,
			got.Width, got.Height, got.Colorspace, b.Dx(), b.Dy(), colorspace)
	}
	dec, err := png.Decode(bytes.NewReader(got.PNG))
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	var cs int64
	switch dec.(type) {
	case *image.Gray, *image.Gray16:
		cs = 1
	case *image.RGBA, *image.RGBA64:
		cs = 3
	case *image.NRGBA, *image.NRGBA64:
		cs = 4
	}
	if cs != got.Colorspace {
		t.Errorf("%s: the PNG decodes to %T, not colorspace %d", name, dec, got.Colorspace)
	}
	db := dec.Bounds()
	if db.Dx() != b.Dx() || db.Dy() != b.Dy() {
		t.Fatalf("%s: PNG is %dx%d, want %dx%d", name, db.Dx(), db.Dy(), b.Dx(), b.Dy())
	}
	for y := range b.Dy() {
		for x := range b.Dx() {
			want := color.NRGBA64Model.Convert(src.At(b.Min.X+x, b.Min.Y+y))
			if have := color.NRGBA64Model.Convert(dec.At(db.Min.X+x, db.Min.Y+y)); have != want {
				t.Errorf("%s: pixel (%d,%d) = %v, want %v", name, x, y, have, want)
				return
			}
		}
	}
}

// TestFileNames: each Writer makes its own file, named as TensorFlow's tools do, starting with the
// file_version record.
func TestFileNames(t *testing.T) {
	dir := t.TempDir()
	before := time.Now().Unix()
	var ws []*Writer
	for range 3 {
		w, err := NewWriter(dir)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	after := time.Now().Unix()
	host, _ := os.Hostname()
	re := regexp.MustCompile(`^events\.out\.tfevents\.(\d+)\.(.+)\.(\d+)\.(\d+)$`)
	seen := map[string]bool{}
	prevN := int64(-1)
	for _, w := range ws {
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(w.Path())
		m := re.FindStringSubmatch(name)
		if m == nil || filepath.Dir(w.Path()) != dir {
			t.Fatalf("file %s is not %s/events.out.tfevents.<time>.<host>.<pid>.<n>", w.Path(), dir)
		}
		sec, _ := strconv.ParseInt(m[1], 10, 64)
		n, _ := strconv.ParseInt(m[4], 10, 64)
		if sec < before || sec > after || m[2] != host || m[3] != strconv.Itoa(os.Getpid()) || n <= prevN {
			t.Errorf("file %s: want time in [%d, %d], host %s, pid %d, n > %d", name, before, after, host, os.Getpid(), prevN)
		}
		prevN = n
		seen[name] = true
		evs, err := decodeFile(w.Path())
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].FileVersion == nil || *evs[0].FileVersion != FileVersion {
			t.Errorf("%s: events %v, want the file_version record alone", name, evs)
		}
	}
	if len(seen) != len(ws) {
		t.Errorf("%d writers made %d files", len(ws), len(seen))
	}
	if _, err := NewWriter(filepath.Join(dir, filepath.Base(ws[0].Path()))); err == nil || !strings.Contains(err.Error(), ws[0].Path()) {
		t.Errorf("NewWriter under a file: error %v, want one naming %s", err, ws[0].Path())
	}
}

// TestDecoderRejectsCorruption proves the round-trip tests can fail: any damaged byte of a record
// makes the decoder's CRC checks fail, and a cut file reads as torn.
func TestDecoderRejectsCorruption(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.Scalar("x", 1, 2)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodeBytes(good); err != nil {
		t.Fatalf("undamaged file: %v", err)
	}
	second := len(realFirstRecord) // the file_version record has the same length as TensorFlow's
	for _, tc := range []struct {
		name string
		edit func([]byte) []byte
		want error
	}{
		{"length", func(b []byte) []byte { b[second] ^= 1; return b }, errLengthCRC},
		{"length CRC", func(b []byte) []byte { b[second+9] ^= 0x40; return b }, errLengthCRC},
		{"data", func(b []byte) []byte { b[second+14] ^= 0x80; return b }, errDataCRC},
		{"data CRC", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, errDataCRC},
		{"first record's data", func(b []byte) []byte { b[20] ^= 4; return b }, errDataCRC},
		{"cut in the data CRC", func(b []byte) []byte { return b[:len(b)-2] }, errTorn},
		{"cut in the header", func(b []byte) []byte { return b[:second+5] }, errTorn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeBytes(tc.edit(bytes.Clone(good)))
			if !errors.Is(err, tc.want) {
				t.Errorf("decoding: %v, want %v", err, tc.want)
			}
		})
	}
}

// fakeFile is an in-memory file that runs out of room: a write past room (-1: unlimited) is cut
// short with ENOSPC, as on a full disk.
type fakeFile struct {
	data                    []byte
	room                    int
	truncErr, syncErr       error
	writes, syncs, closings int
}

func (f *fakeFile) Write(p []byte) (int, error) {
	f.writes++
	if f.room >= 0 && len(p) > f.room {
		n := f.room
		f.data, f.room = append(f.data, p[:n]...), 0
		return n, syscall.ENOSPC
	}
	if f.room >= 0 {
		f.room -= len(p)
	}
	f.data = append(f.data, p...)
	return len(p), nil
}

func (f *fakeFile) Truncate(n int64) error {
	if f.truncErr != nil {
		return f.truncErr
	}
	f.data = f.data[:n]
	return nil
}

func (f *fakeFile) Sync() error  { f.syncs++; return f.syncErr }
func (f *fakeFile) Close() error { f.closings++; return nil }

// scalarsOf lists the steps of the scalar events of a file's bytes, which must decode whole.
func scalarsOf(t *testing.T, b []byte) []int64 {
	t.Helper()
	evs, err := decodeBytes(b)
	if err != nil {
		t.Fatalf("file does not end at a record boundary or is damaged: %v", err)
	}
	var steps []int64
	for _, e := range evs {
		if e.Summary != nil {
			steps = append(steps, e.Step)
		}
	}
	return steps
}

// TestFlushWritesWholeRecords: records reach the file only whole, on Flush or in megabyte
// batches, and Flush syncs.
func TestFlushWritesWholeRecords(t *testing.T) {
	f := &fakeFile{room: -1}
	w, err := newWriter("run/events", f, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	header := len(f.data)
	w.Scalar("a", 1, 1)
	w.Scalar("a", 2, 2)
	if len(f.data) != header || f.syncs != 1 {
		t.Errorf("before Flush: %d bytes and %d syncs, want %d (the header) and 1", len(f.data), f.syncs, header)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := scalarsOf(t, f.data); !reflect.DeepEqual(got, []int64{1, 2}) || f.syncs != 2 {
		t.Errorf("after Flush: steps %v and %d syncs, want [1 2] and 2", got, f.syncs)
	}
	// Without Flush, pending records go out in whole batches of about a megabyte.
	n, writes, size := 0, f.writes, len(f.data)
	for f.writes < writes+3 {
		n++
		w.Scalar(strings.Repeat("t", 1000), int64(2+n), 0)
		if len(f.data) != size {
			if len(f.data)-size < autoWriteBytes {
				t.Errorf("a write of %d bytes before Flush, want at least %d", len(f.data)-size, autoWriteBytes)
			}
			scalarsOf(t, f.data)
			size = len(f.data)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := scalarsOf(t, f.data); len(got) != 2+n {
		t.Errorf("%d scalars in the file, want %d", len(got), 2+n)
	}
}

// TestWriteErrors: a full disk is reported by Flush with the path, leaves the file at its last
// whole record, and loses nothing once there is room again.
func TestWriteErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		room      int   // bytes that fit after the header
		truncErr  error // cutting back the partial record fails
		syncErr   error
		want      error
		recovered []int64 // steps in the file after room is made and Flush is called again
	}{
		{name: "disk full mid-record", room: 50, want: syscall.ENOSPC, recovered: []int64{1, 2, 3}},
		{name: "disk full at a boundary", room: 0, want: syscall.ENOSPC, recovered: []int64{1, 2, 3}},
		{name: "cannot cut back", room: 50, truncErr: syscall.EIO, want: syscall.ENOSPC, recovered: nil},
		{name: "sync fails", room: -1, syncErr: syscall.EIO, want: syscall.EIO, recovered: []int64{1, 2, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeFile{room: -1}
			w, err := newWriter("run/events.out.tfevents.1", f, time.Now)
			if err != nil {
				t.Fatal(err)
			}
			f.room, f.truncErr, f.syncErr = tc.room, tc.truncErr, tc.syncErr
			header := len(f.data)
			for s := int64(1); s <= 3; s++ {
				w.Scalar("loss", s, float64(s))
			}
			err = w.Flush()
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), "run/events.out.tfevents.1") {
				t.Fatalf("Flush: %v, want an error wrapping %v that names the file", err, tc.want)
			}
			if tc.truncErr == nil && tc.syncErr == nil && len(f.data) != header {
				t.Errorf("after the failed write the file has %d bytes, want %d (cut back to the header)", len(f.data), header)
			}
			f.room, f.syncErr = -1, nil
			err = w.Flush()
			if (tc.truncErr == nil) != (err == nil) {
				t.Errorf("Flush with room again: %v", err)
			}
			if tc.truncErr == nil {
				if got := scalarsOf(t, f.data); !reflect.DeepEqual(got, tc.recovered) {
					t.Errorf("steps %v in the file, want %v", got, tc.recovered)
				}
			}
			if err := w.Close(); (tc.truncErr == nil) != (err == nil) {
				t.Errorf("Close: %v", err)
			}
			if f.closings != 1 {
				t.Errorf("file closed %d times", f.closings)
			}
		})
	}
}

// TestClosed: Close is idempotent; afterwards nothing is written and Flush and Image fail.
func TestClosed(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	w.Scalar("x", 1, 1)
	w.Scalars(1, map[string]float64{"y": 2})
	w.PurgeFrom(1)
	if err := w.Flush(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Flush after Close: %v, want os.ErrClosed", err)
	}
	if err := w.Image("i", 1, image.NewGray(image.Rect(0, 0, 1, 1))); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Image after Close: %v, want os.ErrClosed", err)
	}
	if evs, err := decodeFile(w.Path()); err != nil || len(evs) != 1 {
		t.Errorf("file after Close: %d events (%v), want the header alone", len(evs), err)
	}
}

func TestImageErrors(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, img := range []image.Image{nil, image.NewGray(image.Rect(0, 0, 0, 5)), image.NewRGBA(image.Rect(3, 3, 3, 3))} {
		if err := w.Image("bad", 1, img); err == nil || !strings.Contains(err.Error(), `"bad"`) {
			t.Errorf("Image(%T with no pixels): %v, want an error naming the tag", img, err)
		}
	}
}

// TestConcurrentWriters: events from several goroutines all arrive, whole (run with -race).
func TestConcurrentWriters(t *testing.T) {
	w, err := NewWriter(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				w.Scalar(fmt.Sprintf("g%d", g), int64(i), float64(i))
				if i%50 == 0 {
					if err := w.Flush(); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	evs, err := decodeFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, e := range evs[1:] {
		count[e.Summary.Values[0].Tag]++
	}
	if want := (map[string]int{"g0": 200, "g1": 200, "g2": 200, "g3": 200}); !reflect.DeepEqual(count, want) {
		t.Errorf("events per tag %v, want %v", count, want)
	}
}

// TestNilWriter: a nil *Writer is a valid writer that logs nothing.
func TestNilWriter(t *testing.T) {
	var w *Writer
	w.Scalar("x", 1, 1)
	w.Scalars(1, map[string]float64{"y": 2})
	w.PurgeFrom(1)
	if err := w.Image("i", 1, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Error(err)
	}
	if err := w.Flush(); err != nil {
		t.Error(err)
	}
	if err := w.Close(); err != nil {
		t.Error(err)
	}
	if w.Path() != "" {
		t.Errorf("Path() = %q", w.Path())
	}
}
