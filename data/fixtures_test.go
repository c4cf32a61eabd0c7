package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// testImage is a w x h image whose left half is bright and right half dark,
// so a horizontal flip is visible. Gray when gray, else RGBA with a red tint.
func testImage(w, h int, gray bool, level uint8) image.Image {
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				v := level / 4
				if x < w/2 {
					v = level
				}
				g.SetGray(x, y, color.Gray{v})
			}
		}
		return g
	}
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := level / 4
			if x < w/2 {
				v = level
			}
			m.SetRGBA(x, y, color.RGBA{v, v / 2, v / 3, 255})
		}
	}
	return m
}

// writeImage writes img to path as PNG or JPEG by extension.
func writeImage(t testing.TB, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	switch filepath.Ext(path) {
	case ".png", ".PNG":
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
	default:
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// makeADNI writes root/{train,test}/{AD,NC}/ images: per split and class,
// n images of mixed formats and sizes.
func makeADNI(t testing.TB, root string, n int) {
	t.Helper()
	exts := []string{".jpeg", ".png", ".JPG", ".jpg"}
	for _, split := range []string{"train", "test"} {
		for ci, class := range []string{"NC", "AD"} { // unsorted on purpose
			for i := 0; i < n; i++ {
				ext := exts[i%len(exts)]
				w, h := 40+8*(i%3), 48
				img := testImage(w, h, (i+ci)%2 == 0, 200)
				writeImage(t, filepath.Join(root, split, class, class+"_"+itoa(i)+ext), img)
			}
		}
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return "0" + digits[i:i+1]
	}
	return digits[i/10:i/10+1] + digits[i%10:i%10+1]
}

// niftiSpec describes a synthetic NIfTI-1 file.
type niftiSpec struct {
	order        binary.ByteOrder
	dim          [3]int
	datatype     int
	slope, inter float32
	voxOffset    float32
	flipY        bool // negative j step in the sform
	values       func(i, j, k int) float64
	// affine, when set, replaces the default sform (identity, or flipY):
	// written as the sform, or as the qform (quaternion, pixdim and qfac)
	// with sform_code 0 when qform is set.
	affine *[3][4]float64
	qform  bool
}

// niftiBytes encodes s as a single-file NIfTI-1 image.
func niftiBytes(s niftiSpec) []byte {
	if s.order == nil {
		s.order = binary.LittleEndian
	}
	if s.voxOffset == 0 {
		s.voxOffset = 352
	}
	hdr := make([]byte, 348)
	bo := s.order
	bo.PutUint32(hdr[0:], 348)
	put16 := func(off, v int) { bo.PutUint16(hdr[off:], uint16(int16(v))) }
	putf := func(off int, v float32) { bo.PutUint32(hdr[off:], math.Float32bits(v)) }
	put16(40, 3)
	for a := 0; a < 3; a++ {
		put16(42+2*a, s.dim[a])
		putf(80+4*a, 1)
	}
	put16(48, 1)
	put16(70, s.datatype)
	putf(108, s.voxOffset)
	putf(112, s.slope)
	putf(116, s.inter)
	switch {
	case s.affine != nil && s.qform:
		b, c, d, qfac, pix := quaternOf(*s.affine)
		put16(252, 1) // qform_code
		putf(76, float32(qfac))
		for a := 0; a < 3; a++ {
			putf(80+4*a, float32(pix[a]))
		}
		putf(256, float32(b))
		putf(260, float32(c))
		putf(264, float32(d))
		putf(268, float32(s.affine[0][3]))
		putf(272, float32(s.affine[1][3]))
		putf(276, float32(s.affine[2][3]))
	case s.affine != nil:
		put16(254, 2) // sform_code
		for r := 0; r < 3; r++ {
			for c := 0; c < 4; c++ {
				putf(280+16*r+4*c, float32(s.affine[r][c]))
			}
		}
	default:
		put16(254, 2) // sform_code
		putf(280, 1)
		if s.flipY {
			putf(296+4, -1)
		} else {
			putf(296+4, 1)
		}
		putf(312+8, 1)
	}
	copy(hdr[344:], "n+1\x00")
	var buf bytes.Buffer
	buf.Write(hdr)
	buf.Write(make([]byte, int(s.voxOffset)-348))
	for k := 0; k < s.dim[2]; k++ {
		for j := 0; j < s.dim[1]; j++ {
			for i := 0; i < s.dim[0]; i++ {
				v := s.values(i, j, k)
				switch s.datatype {
				case niftiUint8:
					buf.WriteByte(uint8(v))
				case niftiInt8:
					buf.WriteByte(byte(int8(v)))
				case niftiInt16:
					binary.Write(&buf, bo, int16(v))
				case niftiUint16:
					binary.Write(&buf, bo, uint16(v))
				case niftiInt32:
					binary.Write(&buf, bo, int32(v))
				case niftiUint32:
					binary.Write(&buf, bo, uint32(v))
				case niftiFloat32:
					binary.Write(&buf, bo, float32(v))
				case niftiFloat64:
					binary.Write(&buf, bo, v)
				}
			}
		}
	}
	return buf.Bytes()
}

// quaternOf decomposes the 3x3 part of an affine into the NIfTI qform:
// quaternion (b, c, d) of the rotation, qfac (-1 for a left-handed
// matrix) and the voxel sizes (NIfTI-1 method 2, as nifti_mat44_to_quatern).
func quaternOf(m [3][4]float64) (b, c, d, qfac float64, pix [3]float64) {
	var R [3][3]float64
	for col := 0; col < 3; col++ {
		pix[col] = math.Sqrt(m[0][col]*m[0][col] + m[1][col]*m[1][col] + m[2][col]*m[2][col])
		for r := 0; r < 3; r++ {
			R[r][col] = m[r][col] / pix[col]
		}
	}
	det := R[0][0]*(R[1][1]*R[2][2]-R[1][2]*R[2][1]) - R[0][1]*(R[1][0]*R[2][2]-R[1][2]*R[2][0]) + R[0][2]*(R[1][0]*R[2][1]-R[1][1]*R[2][0])
	qfac = 1
	if det < 0 {
		qfac = -1
		for r := 0; r < 3; r++ {
			R[r][2] = -R[r][2]
		}
	}
	a := R[0][0] + R[1][1] + R[2][2] + 1
	if a > 0.5 {
		a = 0.5 * math.Sqrt(a)
		b = 0.25 * (R[2][1] - R[1][2]) / a
		c = 0.25 * (R[0][2] - R[2][0]) / a
		d = 0.25 * (R[1][0] - R[0][1]) / a
	} else {
		xd := 1 + R[0][0] - (R[1][1] + R[2][2])
		yd := 1 + R[1][1] - (R[0][0] + R[2][2])
		zd := 1 + R[2][2] - (R[0][0] + R[1][1])
		switch {
		case xd > 1:
			b = 0.5 * math.Sqrt(xd)
			c = 0.25 * (R[0][1] + R[1][0]) / b
			d = 0.25 * (R[0][2] + R[2][0]) / b
			a = 0.25 * (R[2][1] - R[1][2]) / b
		case yd > 1:
			c = 0.5 * math.Sqrt(yd)
			b = 0.25 * (R[0][1] + R[1][0]) / c
			d = 0.25 * (R[1][2] + R[2][1]) / c
			a = 0.25 * (R[0][2] - R[2][0]) / c
		default:
			d = 0.5 * math.Sqrt(zd)
			b = 0.25 * (R[0][2] + R[2][0]) / d
			c = 0.25 * (R[1][2] + R[2][1]) / d
			a = 0.25 * (R[1][0] - R[0][1]) / d
		}
		if a < 0 {
			b, c, d = -b, -c, -d
		}
	}
	return b, c, d, qfac, pix
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// phantom is a brain-like volume: an ellipsoid whose anterior (high j) half
// is brighter, empty in the first and last two slices.
func phantom(i, j, k int, dim [3]int) float64 {
	if k < 2 || k >= dim[2]-2 {
		return 0
	}
	x := (float64(i) - float64(dim[0]-1)/2) / (float64(dim[0]) / 2)
	y := (float64(j) - float64(dim[1]-1)/2) / (float64(dim[1]) / 2)
	if x*x+y*y > 0.8 {
		return 0
	}
	if j >= dim[1]/2 {
		return 1000
	}
	return 400
}

// writeCIFAR writes a CIFAR-10 binary file of n records with label r%10 and
// every pixel of channel c equal to 10*c + r%10.
func writeCIFAR(t testing.TB, path string, n int) {
	t.Helper()
	var buf bytes.Buffer
	for r := 0; r < n; r++ {
		buf.WriteByte(byte(r % 10))
		for c := 0; c < 3; c++ {
			buf.Write(bytes.Repeat([]byte{byte(10*c + r%10)}, 1024))
		}
	}
	writeFile(t, path, buf.Bytes())
}
