package data

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"slices"
	"strings"
	"testing"
)

// Fuzz targets for the parsers of untrusted files. Seeds: the committed
// corpora under testdata/fuzz/ plus the f.Add calls. Run one with e.g.
//
//	go test -run '^$' -fuzz FuzzParseDICOM -fuzztime 60s -parallel 1 ./data

// FuzzReadNIfTI: no panic; a volume read has the voxels its dims say.
func FuzzReadNIfTI(f *testing.F) {
	f.Add(niftiBytes(niftiSpec{dim: [3]int{3, 2, 2}, datatype: niftiInt16, slope: 2, values: func(i, j, k int) float64 { return float64(i + j + k) }}))
	aff := [3][4]float64{{0, 0, -1, 5}, {-1, 0, 0, 3}, {0, 1, 0, -2}}
	f.Add(gzipBytes(niftiBytes(niftiSpec{dim: [3]int{2, 3, 2}, datatype: niftiFloat32, affine: &aff, qform: true, values: func(i, j, k int) float64 { return float64(i * j) }})))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := ReadNIfTI(bytes.NewReader(b))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(v.Data) != v.Dim[0]*v.Dim[1]*v.Dim[2] || len(v.Data) > MaxVolumeVoxels {
			t.Fatalf("dims %v, %d voxels", v.Dim, len(v.Data))
		}
		if c, _, err := Canonical(v); err == nil && len(c.Data) != len(v.Data) {
			t.Fatalf("canonical has %d voxels, want %d", len(c.Data), len(v.Data))
		}
	})
}

// FuzzParseDICOM: no panic; an image read has Rows x Columns pixels.
func FuzzParseDICOM(f *testing.F) {
	f.Add(dicomBytes(axialSpec(tsExplicitLE, 1, 5)))
	s := axialSpec(tsImplicitLE, 2, 6)
	s.sequence = true
	f.Add(dicomBytes(s))
	s = axialSpec(tsExplicitBE, 3, 7)
	s.sequence, s.bitsStored, s.signed = true, 12, true
	f.Add(dicomBytes(s))
	f.Fuzz(func(t *testing.T, b []byte) {
		im, err := parseDICOMImage(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if len(im.Pixels) != im.Rows*im.Cols || im.Rows > MaxDICOMSide || im.Cols > MaxDICOMSide {
			t.Fatalf("%dx%d image with %d pixels", im.Cols, im.Rows, len(im.Pixels))
		}
	})
}

// FuzzReadDiagnoses: no panic; classes are never empty, and a subject is
// either classed or conflicting.
func FuzzReadDiagnoses(f *testing.F) {
	f.Add([]byte("Image Data ID,Subject,Group\nI1,002_S_0295,CN\nI2,002_S_0413,AD\n"))
	f.Add([]byte("RID,PTID,DX_bl,DX\n2,011_S_0002,CN,CN\n3,011_S_0003,AD,\"Dementia\"\n3,011_S_0003,AD,MCI\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ReadDiagnoses(bytes.NewReader(b), "", "", map[string]string{"CN": "NC"})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		for id, c := range d.Class {
			if c == "" || id == "" || d.Conflict[id] != nil {
				t.Fatalf("subject %q class %q conflict %v", id, c, d.Conflict[id])
			}
		}
	})
}

// FuzzDecodeManifest: no panic reading a dataset.json.
func FuzzDecodeManifest(f *testing.F) {
	f.Add([]byte(`{"format":"sgan-dataset/1","splits":{"train":{"AD":["a","b"]},"test":{"AD":["b"]}},"slices":[{"file":"train/AD/x.png","subject":"a"}]}`))
	f.Add([]byte(`{"format":"other"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(bytes.NewReader(b))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		both := m.SubjectsInBothSplits()
		if !slices.IsSorted(both) {
			t.Fatalf("unsorted %v", both)
		}
	})
}

// FuzzDecodeImage: no panic and no allocation beyond what the limits allow (the fuzz script's
// watchdog stops a worker past 1 GB); an image decoded is within MaxImageSide and
// MaxImagePixels and no larger than its header says.
func FuzzDecodeImage(f *testing.F) {
	enc := func(img image.Image, jpg bool) []byte {
		var b bytes.Buffer
		var err error
		if jpg {
			err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
		} else {
			err = png.Encode(&b, img)
		}
		if err != nil {
			f.Fatal(err)
		}
		return b.Bytes()
	}
	f.Add(enc(testImage(9, 7, true, 200), false))
	f.Add(enc(testImage(9, 7, false, 200), false))
	f.Add(enc(testImage(16, 16, true, 200), true))
	f.Add(enc(testImage(17, 9, false, 200), true))
	pal := image.NewPaletted(image.Rect(0, 0, 5, 3), color.Palette{color.Black, color.White})
	pal.Pix[3] = 1
	f.Add(enc(pal, false))
	g16 := image.NewGray16(image.Rect(0, 0, 4, 4))
	g16.Pix[5] = 0x80
	f.Add(enc(g16, false))
	f.Add(hostilePNG(100000, 100000))
	f.Add(hostileJPEG(65000, 8))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, _, err := DecodeImage(bytes.NewReader(b))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		cfg, _, err := DecodeImageConfig(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("decoded, but the header is refused: %v", err)
		}
		r := img.Bounds()
		if r.Dx() > MaxImageSide || r.Dy() > MaxImageSide || r.Dx()*r.Dy() > MaxImagePixels || r.Dx() > cfg.Width || r.Dy() > cfg.Height {
			t.Fatalf("decoded %v from a header of %dx%d", r, cfg.Width, cfg.Height)
		}
	})
}
