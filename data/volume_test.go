package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCIFAR10(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 5; i++ {
		writeCIFAR(t, filepath.Join(dir, "data_batch_"+itoa(i)[1:]+".bin"), 7)
	}
	writeCIFAR(t, filepath.Join(dir, "test_batch.bin"), 13)
	if !IsCIFAR10Dir(dir) {
		t.Fatal("IsCIFAR10Dir false")
	}
	tr, err := OpenCIFAR10(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 35 || tr.Classes()[0] != "airplane" || tr.Classes()[9] != "truck" {
		t.Fatalf("len %d classes %v", tr.Len(), tr.Classes())
	}
	for _, i := range []int{0, 6, 7, 20, 34} {
		img, label, err := tr.Load(i)
		if err != nil {
			t.Fatal(err)
		}
		want := (i % 7) % 10
		if label != want || tr.Label(i) != want {
			t.Fatalf("image %d label %d/%d, want %d", i, label, tr.Label(i), want)
		}
		r, g, b, _ := img.At(31, 31).RGBA()
		if r>>8 != uint32(want) || g>>8 != uint32(10+want) || b>>8 != uint32(20+want) {
			t.Fatalf("image %d pixel %d %d %d", i, r>>8, g>>8, b>>8)
		}
	}
	if !strings.HasSuffix(tr.Name(8), "data_batch_2.bin#1") {
		t.Errorf("Name(8) = %q", tr.Name(8))
	}
	writeFile(t, filepath.Join(dir, "batches.meta.txt"), []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"))
	te, err := OpenCIFAR10(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if te.Len() != 13 || te.Classes()[9] != "j" {
		t.Fatalf("test len %d classes %v", te.Len(), te.Classes())
	}
	// Errors.
	writeFile(t, filepath.Join(dir, "test_batch.bin"), make([]byte, 100))
	_, err = OpenCIFAR10(dir, false)
	checkErr(t, err, "test_batch.bin", "whole number")
	_, err = OpenCIFAR10(t.TempDir(), true)
	checkErr(t, err, "data_batch_1.bin: missing CIFAR-10 file")
}

func TestReadNIfTI(t *testing.T) {
	dim := [3]int{5, 4, 3}
	val := func(i, j, k int) float64 { return float64(i + 10*j + 100*k - 50) }
	tests := []struct {
		name         string
		order        binary.ByteOrder
		datatype     int
		slope, inter float32
		voxOffset    float32
		gz           bool
		want         func(i, j, k int) float64
	}{
		{"int16 slope LE .nii", binary.LittleEndian, niftiInt16, 0.5, 3, 0, false, func(i, j, k int) float64 { return val(i, j, k)*0.5 + 3 }},
		{"int16 slope BE .nii.gz", binary.BigEndian, niftiInt16, 0.5, 3, 0, true, func(i, j, k int) float64 { return val(i, j, k)*0.5 + 3 }},
		{"int16 slope 0 ignored", binary.LittleEndian, niftiInt16, 0, 7, 0, false, val},
		{"uint8", binary.LittleEndian, niftiUint8, 1, 0, 0, true, func(i, j, k int) float64 { return float64(uint8(val(i, j, k) + 50)) }},
		{"int8", binary.BigEndian, niftiInt8, 1, 0, 0, false, func(i, j, k int) float64 { return float64(int8(val(i, j, k) / 4)) }},
		{"uint16", binary.LittleEndian, niftiUint16, 2, 0, 0, false, func(i, j, k int) float64 { return (val(i, j, k) + 50) * 2 }},
		{"int32 vox_offset 400", binary.BigEndian, niftiInt32, 1, 0, 400, true, val},
		{"float32", binary.LittleEndian, niftiFloat32, 0, 0, 0, false, func(i, j, k int) float64 { return val(i, j, k) / 8 }},
		{"float64 BE", binary.BigEndian, niftiFloat64, 0, 0, 0, true, func(i, j, k int) float64 { return val(i, j, k) / 8 }},
	}
	dir := t.TempDir()
	for n, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := func(i, j, k int) float64 {
				switch tc.datatype {
				case niftiUint8:
					return val(i, j, k) + 50
				case niftiInt8:
					return val(i, j, k) / 4
				case niftiUint16:
					return val(i, j, k) + 50
				case niftiFloat32, niftiFloat64:
					return val(i, j, k) / 8
				}
				return val(i, j, k)
			}
			b := niftiBytes(niftiSpec{order: tc.order, dim: dim, datatype: tc.datatype, slope: tc.slope, inter: tc.inter, voxOffset: tc.voxOffset, values: raw})
			name := filepath.Join(dir, "v"+itoa(n)+".nii")
			if tc.gz {
				b, name = gzipBytes(b), name+".gz"
			}
			writeFile(t, name, b)
			v, err := ReadNIfTIFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if v.Dim != dim || v.Datatype != tc.datatype {
				t.Fatalf("dim %v datatype %d", v.Dim, v.Datatype)
			}
			for k := 0; k < dim[2]; k++ {
				for j := 0; j < dim[1]; j++ {
					for i := 0; i < dim[0]; i++ {
						if got, want := float64(v.At(i, j, k)), tc.want(i, j, k); math.Abs(got-want) > 1e-4 {
							t.Fatalf("voxel %d,%d,%d = %g, want %g", i, j, k, got, want)
						}
					}
				}
			}
		})
	}
}

func TestNIfTIErrors(t *testing.T) {
	dir := t.TempDir()
	good := niftiBytes(niftiSpec{dim: [3]int{4, 4, 4}, datatype: niftiInt16, values: func(i, j, k int) float64 { return 1 }})
	bad := func(edit func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		edit(b)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"png file", []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("x", 400)), "not a NIfTI-1 volume"},
		{"short", []byte("hello"), "shorter than the 348-byte header"},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2}, "not a NIfTI volume"},
		{"analyze magic", bad(func(b []byte) { copy(b[344:], "\x00\x00\x00\x00") }), `magic`},
		{"pair", bad(func(b []byte) { copy(b[344:], "ni1\x00") }), ".hdr/.img"},
		{"datatype", bad(func(b []byte) { binary.LittleEndian.PutUint16(b[70:], 128) }), "unsupported NIfTI datatype 128"},
		{"truncated", good[:len(good)-10], "truncated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".nii")
			writeFile(t, p, tc.data)
			_, err := ReadNIfTIFile(p)
			checkErr(t, err, "data: "+p+": ", tc.want)
		})
	}
	_, err := ReadNIfTIFile(filepath.Join(dir, "missing.nii.gz"))
	checkErr(t, err, "missing.nii.gz: no such file")
	_, err = SliceVolumes([]string{filepath.Join(dir, "png_file.nii")}, t.TempDir(), "NC", 0, SliceOptions{})
	checkErr(t, err, "png_file.nii: not a NIfTI-1 volume")
}

func TestSliceVolumes(t *testing.T) {
	dir := t.TempDir()
	dim := [3]int{24, 32, 12}
	for _, flip := range []bool{false, true} {
		name := "up"
		if flip {
			name = "down"
		}
		vals := func(i, j, k int) float64 {
			if flip {
				j = dim[1] - 1 - j // stored posterior-to-anterior reversed
			}
			return phantom(i, j, k, dim)
		}
		b := niftiBytes(niftiSpec{dim: dim, datatype: niftiInt16, slope: 2, flipY: flip, values: vals})
		writeFile(t, filepath.Join(dir, "vols", name+".nii.gz"), gzipBytes(b))
	}
	out := filepath.Join(dir, "out")
	st, err := SliceVolumes([]string{filepath.Join(dir, "vols")}, out, "AD", 0.3, SliceOptions{Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	if st.Volumes != 2 || st.Train+st.Test != 2*8 || st.Skipped != 2*4 || st.Test == 0 || len(st.Warnings) != 0 {
		t.Fatalf("stats %+v", st)
	}
	f, err := OpenDir(out, "train")
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != st.Train || f.Classes()[0] != "AD" {
		t.Fatalf("train len %d classes %v", f.Len(), f.Classes())
	}
	for i := 0; i < f.Len(); i++ {
		if !strings.Contains(f.Name(i), "_z0") {
			t.Fatalf("name %s", f.Name(i))
		}
		r, err := os.Open(filepath.Join(out, "train", "AD", filepath.Base(f.Name(i))))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds().Dx() != 16 || img.Bounds().Dy() != 16 {
			t.Fatalf("size %v", img.Bounds())
		}
		// Anterior (bright) half must be at the top in both volumes.
		var top, bottom uint32
		for x := 0; x < 16; x++ {
			for y := 0; y < 8; y++ {
				g, _, _, _ := img.At(x, y).RGBA()
				top += g
				g, _, _, _ = img.At(x, 15-y).RGBA()
				bottom += g
			}
		}
		if top <= bottom {
			t.Fatalf("%s: anterior not at top (top %d, bottom %d)", f.Name(i), top, bottom)
		}
	}
	// Re-slicing gives the same split.
	st2, err := SliceVolumes([]string{filepath.Join(dir, "vols")}, filepath.Join(dir, "out2"), "AD", 0.3, SliceOptions{Size: 16})
	if err != nil || st2.Test != st.Test {
		t.Fatalf("rerun %+v %v", st2, err)
	}
	_, err = SliceVolumes([]string{filepath.Join(dir, "vols")}, out, "a/b", 0, SliceOptions{})
	checkErr(t, err, "not a folder name")
	_, err = SliceVolumes([]string{filepath.Join(dir, "nothing")}, out, "AD", 0, SliceOptions{})
	checkErr(t, err, "nothing: no such file or folder")
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zeros is an endless stream of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestNIfTILimits: hostile headers fail with one-line errors before any
// large allocation, and a stream is read no further than the voxels it
// declares (a decompression bomb is not inflated).
func TestNIfTILimits(t *testing.T) {
	small := niftiBytes(niftiSpec{dim: [3]int{4, 4, 4}, datatype: niftiUint8, values: func(i, j, k int) float64 { return 1 }})
	edit := func(f func(b []byte)) []byte {
		b := append([]byte(nil), small...)
		f(b)
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"32767^3 voxels", edit(func(b []byte) {
			for a := 0; a < 3; a++ {
				binary.LittleEndian.PutUint16(b[42+2*a:], 32767)
			}
		}), "MaxVolumeVoxels"},
		{"vox_offset 1e9", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[108:], math.Float32bits(1e9)) }), "MaxNIfTIExtension"},
		{"vox_offset NaN", edit(func(b []byte) { binary.LittleEndian.PutUint32(b[108:], math.Float32bits(float32(math.NaN()))) }), "vox_offset"},
		{"negative dim", edit(func(b []byte) { binary.LittleEndian.PutUint16(b[44:], 0xffff) }), "dim[2] = -1"},
		{"400^3 int16 in 1 kB", edit(func(b []byte) {
			for a := 0; a < 3; a++ {
				binary.LittleEndian.PutUint16(b[42+2*a:], 400)
			}
			binary.LittleEndian.PutUint16(b[70:], niftiInt16)
		}), "truncated NIfTI file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := ReadNIfTI(bytes.NewReader(tc.data))
			runtime.ReadMemStats(&after)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tc.want)
			}
			if d := after.TotalAlloc - before.TotalAlloc; d > 32<<20 {
				t.Errorf("allocated %d MiB for a %d-byte file", d>>20, len(tc.data))
			}
		})
	}
	// An endless stream after a 64^3 uint8 header: only the header and the
	// declared voxels are consumed (plus the buffered reader's read-ahead).
	hdr := niftiBytes(niftiSpec{dim: [3]int{64, 64, 64}, datatype: niftiUint8, values: func(i, j, k int) float64 { return 0 }})[:352]
	cr := &countingReader{r: io.MultiReader(bytes.NewReader(hdr), zeros{})}
	v, err := ReadNIfTI(cr)
	if err != nil || len(v.Data) != 64*64*64 {
		t.Fatalf("endless stream: %v", err)
	}
	if want := int64(352 + 64*64*64); cr.n > want+8192 {
		t.Errorf("read %d bytes of an endless stream, want about %d", cr.n, want)
	}
	// A gzip bomb: 16^3 voxels declared, 64 MiB of zeros compressed to
	// about 64 kB. Reading stops after the voxels, near the start of the
	// compressed stream.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(niftiBytes(niftiSpec{dim: [3]int{16, 16, 16}, datatype: niftiUint8, values: func(i, j, k int) float64 { return 3 }}))
	io.CopyN(zw, zeros{}, 64<<20)
	zw.Close()
	cr = &countingReader{r: bytes.NewReader(gz.Bytes())}
	if v, err = ReadNIfTI(cr); err != nil || v.At(15, 15, 15) != 3 {
		t.Fatalf("bomb: %v", err)
	}
	if cr.n > int64(gz.Len())/10 {
		t.Errorf("read %d of the bomb's %d compressed bytes", cr.n, gz.Len())
	}
}
