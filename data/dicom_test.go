package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// axialSpec is a 3x4 axial slice at height z.
func axialSpec(ts string, instance int, z float64) dcmSpec {
	return dcmSpec{ts: ts, seriesUID: "1.2.3.9", seriesNumber: 2, instance: instance,
		pos: [3]float64{-10, -20, z}, iop: [6]float64{1, 0, 0, 0, 1, 0}, spacing: [2]float64{0.5, 0.25},
		rows: 3, cols: 4, pixel: func(r, c int) int { return 100*instance + 10*r + c }}
}

func TestParseDICOMImage(t *testing.T) {
	tests := []struct {
		name string
		spec dcmSpec
		want func(r, c int) float64
	}{
		{"explicit LE", axialSpec(tsExplicitLE, 1, 5), func(r, c int) float64 { return float64(100 + 10*r + c) }},
		{"implicit LE with sequences", func() dcmSpec { s := axialSpec(tsImplicitLE, 1, 5); s.sequence = true; return s }(), func(r, c int) float64 { return float64(100 + 10*r + c) }},
		{"explicit BE with sequences", func() dcmSpec { s := axialSpec(tsExplicitBE, 1, 5); s.sequence = true; return s }(), func(r, c int) float64 { return float64(100 + 10*r + c) }},
		{"no preamble (implicit LE)", axialSpec("", 1, 5), func(r, c int) float64 { return float64(100 + 10*r + c) }},
		{"8 bit, slope and intercept", func() dcmSpec {
			s := axialSpec(tsExplicitLE, 1, 5)
			s.bitsAlloc, s.slope, s.inter = 8, 0.5, -3
			return s
		}(), func(r, c int) float64 { return float64(100+10*r+c)*0.5 - 3 }},
		{"12 of 16 bits, signed", func() dcmSpec {
			s := axialSpec(tsExplicitLE, 1, 5)
			s.bitsStored, s.signed = 12, true
			s.pixel = func(r, c int) int { return (-50 + 10*r + c) & 0xfff } // 12-bit two's complement
			return s
		}(), func(r, c int) float64 { return float64(-50 + 10*r + c) }},
		{"12 of 16 bits, garbage in the high bits", func() dcmSpec {
			s := axialSpec(tsExplicitLE, 1, 5)
			s.bitsStored = 12
			s.pixel = func(r, c int) int { return 0xf000 | (10*r + c) }
			return s
		}(), func(r, c int) float64 { return float64(10*r + c) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			im, err := parseDICOMImage(dicomBytes(tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			if im.Rows != 3 || im.Cols != 4 || im.Position != [3]float64{-10, -20, 5} || im.Spacing != [2]float64{0.5, 0.25} || im.SeriesUID != "1.2.3.9" || im.SeriesNumber != 2 || im.Instance != 1 {
				t.Fatalf("header %+v", im)
			}
			for r := 0; r < 3; r++ {
				for c := 0; c < 4; c++ {
					if got := float64(im.Pixels[r*4+c]); got != tc.want(r, c) {
						t.Fatalf("pixel (%d,%d) = %g, want %g", r, c, got, tc.want(r, c))
					}
				}
			}
		})
	}
}

// nested returns an explicit-LE data set of depth undefined-length
// sequences, each holding one undefined-length item.
func nested(depth int) []byte {
	w := &dcmWriter{bo: binary.LittleEndian}
	for i := 0; i < depth; i++ {
		w.raw(0x0008, 0x1140, "SQ", 0xffffffff)
		w.raw(0xfffe, 0xe000, "", 0xffffffff)
	}
	for i := 0; i < depth; i++ {
		w.raw(0xfffe, 0xe00d, "", 0)
		w.raw(0xfffe, 0xe0dd, "", 0)
	}
	return w.buf.Bytes()
}

// TestDICOMHostile: broken and hostile files give one-line errors, never a
// panic, and allocate little whatever they declare.
func TestDICOMHostile(t *testing.T) {
	good := dicomBytes(axialSpec(tsExplicitLE, 1, 5))
	withExtra := func(extra []byte) []byte {
		s := axialSpec(tsExplicitLE, 1, 5)
		s.extra = extra
		return dicomBytes(s)
	}
	elem := func(group, el uint16, vr string, length uint32) []byte {
		w := &dcmWriter{bo: binary.LittleEndian}
		w.raw(group, el, vr, length)
		return w.buf.Bytes()
	}
	short16 := func(group, el uint16, vr string, length uint16) []byte {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint16(b, group)
		binary.LittleEndian.PutUint16(b[2:], el)
		copy(b[4:], vr)
		binary.LittleEndian.PutUint16(b[6:], length)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a DICOM file"},
		{"text", []byte(strings.Repeat("hello ", 40)), "DICOM"},
		{"truncated in the pixel data", good[:len(good)-7], "past the end"},
		{"truncated in the meta group", good[:150], "meta information"},
		{"OB claiming 4 GB", withExtra(elem(0x0009, 0x0010, "OB", 0xfffffff0)), "declares 4294967280 bytes"},
		{"UN claiming 4 GB", withExtra(elem(0x0009, 0x0010, "UN", 0xfffffff0)), "declares"},
		{"string of undefined length", withExtra(short16(0x0008, 0x0080, "LO", 0xffff)), "undefined length"},
		{"sequences 200 deep", withExtra(nested(200)), "MaxDICOMNesting"},
		{"non-item in a sequence", withExtra(append(elem(0x0008, 0x1140, "SQ", 8), short16(0x0008, 0x0080, "LO", 0)...)), "not an item"},
		{"bad VR", withExtra(short16(0x0008, 0x0080, "l\x01", 0)), "invalid VR"},
		{"JPEG lossless", func() []byte { s := axialSpec("1.2.840.10008.1.2.4.70", 1, 5); return dicomBytes(s) }(), "not supported"},
		{"deflated", func() []byte { s := axialSpec("1.2.840.10008.1.2.1.99", 1, 5); return dicomBytes(s) }(), "not supported"},
		{"multi-frame", func() []byte { s := axialSpec(tsExplicitLE, 1, 5); s.frames = 3; return dicomBytes(s) }(), "multi-frame"},
		{"rows 60000", func() []byte { s := axialSpec(tsExplicitLE, 1, 5); s.declRows = 60000; return dicomBytes(s) }(), "MaxDICOMSide"},
		{"rows 4 of 3", func() []byte { s := axialSpec(tsExplicitLE, 1, 5); s.declRows = 4; return dicomBytes(s) }(), "pixel data has 24 bytes"},
		{"no position", func() []byte { s := axialSpec(tsExplicitLE, 1, 5); s.noPosition = true; return dicomBytes(s) }(), "ImagePositionPatient"},
		{"huge file", make([]byte, MaxDICOMFileBytes+1), "MaxDICOMFileBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := parseDICOMImage(tc.data)
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tc.want)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 16<<20 {
				t.Errorf("allocated %d MiB", d>>20)
			}
		})
	}
}

// writeSeries writes specs as files f00.dcm, f01.dcm, ... in dir.
func writeSeries(t *testing.T, dir string, specs ...dcmSpec) []string {
	var files []string
	for i, s := range specs {
		p := filepath.Join(dir, fmt.Sprintf("f%02d.dcm", i))
		writeFile(t, p, dicomBytes(s))
		files = append(files, p)
	}
	return files
}

func TestReadDICOMFolder(t *testing.T) {
	dir := t.TempDir()
	tilted := axialSpec(tsExplicitLE, 2, 6)
	tilted.iop = [6]float64{1, 0, 0, 0, 0.8, 0.6}
	other := axialSpec(tsExplicitLE, 1, 5)
	other.seriesUID, other.seriesNumber = "1.2.3.10", 1
	wide := axialSpec(tsExplicitLE, 2, 6)
	wide.cols = 5
	tests := []struct {
		name  string
		specs []dcmSpec
		want  string // error of the (only) series
	}{
		{"one slice", []dcmSpec{axialSpec(tsExplicitLE, 1, 5)}, "1 slice"},
		{"same position twice", []dcmSpec{axialSpec(tsExplicitLE, 1, 5), axialSpec(tsExplicitLE, 2, 6), axialSpec(tsExplicitLE, 3, 6)}, "share a slice position"},
		{"a missing slice", []dcmSpec{axialSpec(tsExplicitLE, 1, 5), axialSpec(tsExplicitLE, 2, 6), axialSpec(tsExplicitLE, 3, 8), axialSpec(tsExplicitLE, 4, 9)}, "uneven slice spacing"},
		{"mixed orientation", []dcmSpec{axialSpec(tsExplicitLE, 1, 5), tilted}, "differ in orientation"},
		{"mixed sizes", []dcmSpec{axialSpec(tsExplicitLE, 1, 5), wide}, "differ in size"},
	}
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := writeSeries(t, filepath.Join(dir, fmt.Sprint(n)), tc.specs...)
			series, err := ReadDICOMFolder(files)
			if err != nil {
				t.Fatal(err)
			}
			if len(series) != 1 || series[0].Err == nil || !strings.Contains(series[0].Err.Error(), tc.want) {
				t.Fatalf("series %+v, want an error containing %q", series, tc.want)
			}
		})
	}
	// Two series in one folder; slices in reverse file order.
	files := writeSeries(t, filepath.Join(dir, "two"), axialSpec(tsExplicitLE, 3, 7), axialSpec(tsExplicitLE, 2, 6), axialSpec(tsExplicitLE, 1, 5), other,
		func() dcmSpec { s := other; s.instance, s.pos[2] = 2, 7; return s }())
	series, err := ReadDICOMFolder(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 2 || series[0].UID != "1.2.3.10" || series[1].UID != "1.2.3.9" || series[0].Err != nil || series[1].Err != nil {
		t.Fatalf("series %+v", series)
	}
	v := series[1].Volume
	if v.Dim != [3]int{4, 3, 3} || v.Pixdim != [3]float64{0.25, 0.5, 1} {
		t.Fatalf("volume %v %v", v.Dim, v.Pixdim)
	}
	if v.At(0, 0, 0) != 100 || v.At(3, 2, 2) != 323 {
		t.Fatalf("voxels %g %g: slices not sorted by position", v.At(0, 0, 0), v.At(3, 2, 2))
	}
	// Voxel (i, j, k) at LPS (-10 + 0.25 i, -20 + 0.5 j, 5 + k): RAS negates x and y.
	want := [3][4]float64{{-0.25, 0, 0, 10}, {0, -0.5, 0, 20}, {0, 0, 1, 5}}
	for r := range 3 {
		for c := range 4 {
			if math.Abs(v.Affine[r][c]-want[r][c]) > 1e-9 {
				t.Fatalf("affine %v, want %v", v.Affine, want)
			}
		}
	}
	// A file without pixel data (a DICOMDIR) is ignored; a folder of such
	// files is not a series.
	dirFile := func() []byte {
		w := &dcmWriter{bo: binary.LittleEndian}
		w.str(0x0004, 0x1130, "CS", "ADNI")
		b := dicomBytes(axialSpec(tsExplicitLE, 1, 5))
		i := bytes.Index(b, []byte{0x08, 0x00, 0x16, 0x00}) // the data set's first element
		return append(b[:i:i], w.buf.Bytes()...)
	}
	withDir := writeSeries(t, filepath.Join(dir, "withdir"), axialSpec(tsExplicitLE, 1, 5), axialSpec(tsExplicitLE, 2, 6))
	writeFile(t, filepath.Join(dir, "withdir", "DICOMDIR"), dirFile())
	if series, err := ReadDICOMFolder(append(withDir, filepath.Join(dir, "withdir", "DICOMDIR"))); err != nil || len(series) != 1 || series[0].Files != 2 || series[0].Err != nil {
		t.Fatalf("with a DICOMDIR: %+v %v", series, err)
	}
	if _, err := ReadDICOMFolder([]string{filepath.Join(dir, "withdir", "DICOMDIR")}); err == nil || !strings.Contains(err.Error(), "none of the 1 DICOM files has pixel data") {
		t.Fatalf("only a DICOMDIR: %v", err)
	}
	// A corrupt file fails the folder, naming the file.
	bad := writeSeries(t, filepath.Join(dir, "bad"), axialSpec(tsExplicitLE, 1, 5), axialSpec(tsExplicitLE, 2, 6))
	writeFile(t, bad[1], bytes.Repeat([]byte{0xff}, 300))
	if _, err := ReadDICOMFolder(bad); err == nil || !strings.HasPrefix(err.Error(), "f01.dcm: ") {
		t.Fatalf("corrupt file: %v", err)
	}
}
