package data

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// The reference anatomy, in the canonical RAS voxel grid: an ellipsoid
// head with an intensity ramp from inferior to superior, a brighter
// anterior half and a bright marker cube in the left-anterior-superior
// corner. Values are even, so a DICOM slope of 2 stores them exactly.
var (
	refDim     = [3]int{22, 26, 18}
	refSpacing = [3]float64{0.9, 1.0, 1.2}
	refOrigin  = [3]float64{-9.45, -12.5, -10.2}
)

func refValue(x, y, z int) int {
	if inMarker(x, y, z) {
		return 2000
	}
	fx := (float64(x) - float64(refDim[0]-1)/2) / (float64(refDim[0]) / 2)
	fy := (float64(y) - float64(refDim[1]-1)/2) / (float64(refDim[1]) / 2)
	fz := (float64(z) - float64(refDim[2]-1)/2) / (float64(refDim[2]) / 2)
	if fx*fx+fy*fy+fz*fz > 0.9 {
		return 0
	}
	v := 300 + 20*z
	if y >= refDim[1]/2 {
		v += 200
	}
	return v
}

// inMarker: x 3-5 (left), y 19-21 (anterior), z 12-14 (superior).
func inMarker(x, y, z int) bool {
	return x >= 3 && x < 6 && y >= refDim[1]-7 && y < refDim[1]-4 && z >= refDim[2]-6 && z < refDim[2]-3
}

func refAffine() [3][4]float64 {
	var m [3][4]float64
	for r := 0; r < 3; r++ {
		m[r][r] = refSpacing[r]
		m[r][3] = refOrigin[r]
	}
	return m
}

func refVolume() *Volume {
	v := &Volume{Dim: refDim, Pixdim: refSpacing, Affine: refAffine(), Data: make([]float32, refDim[0]*refDim[1]*refDim[2])}
	for z := 0; z < refDim[2]; z++ {
		for y := 0; y < refDim[1]; y++ {
			for x := 0; x < refDim[0]; x++ {
				v.Data[x+refDim[0]*(y+refDim[1]*z)] = float32(refValue(x, y, z))
			}
		}
	}
	return v
}

// storage is one way of storing the reference anatomy: the world direction
// of each stored voxel axis, and a rotation making it oblique.
type storage struct {
	codes string
	rot   [3][3]float64
}

func axisCodes(codes string) (perm, sign [3]int) {
	for a, ch := range codes {
		switch ch {
		case 'R', 'L':
			perm[a] = 0
		case 'A', 'P':
			perm[a] = 1
		case 'S', 'I':
			perm[a] = 2
		}
		sign[a] = 1
		if ch == 'L' || ch == 'P' || ch == 'I' {
			sign[a] = -1
		}
	}
	return perm, sign
}

func rotation(axis int, deg float64) [3][3]float64 {
	c, s := math.Cos(deg*math.Pi/180), math.Sin(deg*math.Pi/180)
	r := [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}
	a, b := (axis+1)%3, (axis+2)%3
	r[a][a], r[a][b], r[b][a], r[b][b] = c, -s, s, c
	return r
}

var identity3 = [3][3]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}

func mulAffine(r [3][3]float64, m [3][4]float64) [3][4]float64 {
	var out [3][4]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 4; j++ {
			for k := 0; k < 3; k++ {
				out[i][j] += r[i][k] * m[k][j]
			}
		}
	}
	return out
}

// stored returns the stored dimensions, the stored voxel values and the
// stored affine of st.
func (st storage) stored() (dim [3]int, value func(i, j, k int) int, aff [3][4]float64) {
	perm, sign := axisCodes(st.codes)
	for a := 0; a < 3; a++ {
		dim[a] = refDim[perm[a]]
	}
	value = func(i, j, k int) int {
		s := [3]int{i, j, k}
		var n [3]int
		for a := 0; a < 3; a++ {
			n[perm[a]] = s[a]
			if sign[a] < 0 {
				n[perm[a]] = dim[a] - 1 - s[a]
			}
		}
		return refValue(n[0], n[1], n[2])
	}
	aff[0][3], aff[1][3], aff[2][3] = refOrigin[0], refOrigin[1], refOrigin[2]
	for a := 0; a < 3; a++ {
		w := perm[a]
		aff[w][a] = float64(sign[a]) * refSpacing[w]
		if sign[a] < 0 {
			aff[w][3] += refSpacing[w] * float64(dim[a]-1)
		}
	}
	return dim, value, mulAffine(st.rot, aff)
}

func (st storage) writeNIfTI(t testing.TB, path string, qform bool) {
	dim, value, aff := st.stored()
	b := niftiBytes(niftiSpec{dim: dim, datatype: niftiInt16, affine: &aff, qform: qform,
		values: func(i, j, k int) float64 { return float64(value(i, j, k)) }})
	writeFile(t, path, gzipBytes(b))
}

// writeDICOM writes st as a DICOM series in dir, one file per stored k,
// with shuffled file names and write order, stored as value/2 + 500
// (slope 2, intercept -1000).
func (st storage) writeDICOM(t testing.TB, dir, ts string, seed uint64) {
	dim, value, aff := st.stored()
	var rowDir, colDir [3]float64
	for r := 0; r < 3; r++ {
		rowDir[r] = aff[r][0] / math.Abs(refSpacingOf(aff, 0))
		colDir[r] = aff[r][1] / math.Abs(refSpacingOf(aff, 1))
	}
	rl, cl := lps(rowDir), lps(colDir)
	order := rand.New(rand.NewPCG(seed, 1)).Perm(dim[2])
	for n, k := range order {
		var world [3]float64
		for r := 0; r < 3; r++ {
			world[r] = aff[r][2]*float64(k) + aff[r][3]
		}
		k := k
		b := dicomBytes(dcmSpec{
			ts: ts, seriesUID: "1.2.826.0.1.3680043.2.1125." + st.codes, seriesNumber: 3, instance: k + 1,
			pos: lps(world), iop: [6]float64{rl[0], rl[1], rl[2], cl[0], cl[1], cl[2]},
			spacing: [2]float64{refSpacingOf(aff, 1), refSpacingOf(aff, 0)}, rows: dim[1], cols: dim[0],
			slope: 2, inter: -1000, sequence: n%2 == 0,
			pixel: func(r, c int) int { return value(c, r, k)/2 + 500 },
		})
		writeFile(t, filepath.Join(dir, fmt.Sprintf("IM_%04d.dcm", rand.New(rand.NewPCG(seed, uint64(n))).IntN(10000)*100+n)), b)
	}
}

func refSpacingOf(aff [3][4]float64, a int) float64 {
	return math.Sqrt(aff[0][a]*aff[0][a] + aff[1][a]*aff[1][a] + aff[2][a]*aff[2][a])
}

// TestSameAnatomyEveryStorage is the orientation test: one anatomy stored
// as NIfTI with several affines (sform and qform, left- and right-handed,
// permuted, oblique) and as DICOM series (axial, sagittal, coronal, oblique;
// three transfer syntaxes; files in shuffled order) must give the same
// canonical volume and the same slices in every plane.
func TestSameAnatomyEveryStorage(t *testing.T) {
	dir := t.TempDir()
	type variant struct {
		name  string
		st    storage
		dicom string // transfer syntax, or "" for NIfTI
		qform bool
	}
	variants := []variant{
		{"nifti RAS sform", storage{"RAS", identity3}, "", false},
		{"nifti LPS sform", storage{"LPS", identity3}, "", false},
		{"nifti LAS qform (radiological storage)", storage{"LAS", identity3}, "", true},
		{"nifti PIR sform (sagittal)", storage{"PIR", identity3}, "", false},
		{"nifti ASL qform", storage{"ASL", identity3}, "", true},
		{"nifti IPL sform", storage{"IPL", identity3}, "", false},
		{"nifti RAS sform oblique 8 deg", storage{"RAS", rotation(2, 8)}, "", false},
		{"nifti PIR qform oblique 12 deg", storage{"PIR", rotation(0, 12)}, "", true},
		{"dicom axial LPS explicit LE", storage{"LPS", identity3}, tsExplicitLE, false},
		{"dicom axial LPI implicit LE", storage{"LPI", identity3}, tsImplicitLE, false},
		{"dicom sagittal PIR implicit LE", storage{"PIR", identity3}, tsImplicitLE, false},
		{"dicom coronal LIP explicit BE", storage{"LIP", identity3}, tsExplicitBE, false},
		{"dicom sagittal PIR oblique 10 deg", storage{"PIR", rotation(1, 10)}, tsExplicitLE, false},
	}
	ref := refVolume()
	refC, ro, err := Canonical(ref)
	if err != nil || ro.Codes != "RAS" || ro.ObliqueDeg != 0 {
		t.Fatalf("reference: %v %+v", err, ro)
	}
	refCuts := map[Plane]cutResult{}
	for _, p := range []Plane{Axial, Coronal, Sagittal} {
		refCuts[p], err = cutVolume(refC, cutOptions{plane: p, size: 32, bits: 8, lowPct: 0.5, highPct: 99.5, minFg: -1, sel: SliceSelect{Mode: "all"}})
		if err != nil {
			t.Fatal(err)
		}
	}
	for n, vt := range variants {
		t.Run(vt.name, func(t *testing.T) {
			var v *Volume
			if vt.dicom == "" {
				p := filepath.Join(dir, fmt.Sprintf("v%d.nii.gz", n))
				vt.st.writeNIfTI(t, p, vt.qform)
				if v, err = ReadNIfTIFile(p); err != nil {
					t.Fatal(err)
				}
			} else {
				d := filepath.Join(dir, fmt.Sprintf("dcm%d", n))
				vt.st.writeDICOM(t, d, vt.dicom, uint64(n))
				files, _ := filepath.Glob(filepath.Join(d, "*.dcm"))
				series, err := ReadDICOMFolder(files)
				if err != nil {
					t.Fatal(err)
				}
				if len(series) != 1 || series[0].Err != nil || series[0].Files != len(files) {
					t.Fatalf("series %+v", series)
				}
				v = series[0].Volume
			}
			c, ro, err := Canonical(v)
			if err != nil {
				t.Fatal(err)
			}
			wantCodes := vt.st.codes
			if vt.dicom != "" && wantCodes == "LPI" {
				// DICOM slices are stacked along the normal (row x column
				// direction, here superior), whatever the files' order.
				wantCodes = "LPS"
			}
			if ro.Codes != wantCodes {
				t.Errorf("orientation %s, want %s", ro.Codes, wantCodes)
			}
			if c.Dim != refDim {
				t.Fatalf("canonical dims %v, want %v", c.Dim, refDim)
			}
			for a := 0; a < 3; a++ {
				if !approx(c.Pixdim[a], refSpacing[a], 1e-4) {
					t.Errorf("spacing %v, want %v", c.Pixdim, refSpacing)
				}
			}
			wantAff := mulAffine(vt.st.rot, refAffine())
			for r := 0; r < 3; r++ {
				for col := 0; col < 4; col++ {
					if !approx(c.Affine[r][col], wantAff[r][col], 2e-3) {
						t.Fatalf("affine %v, want %v", c.Affine, wantAff)
					}
				}
			}
			for i := range c.Data {
				if c.Data[i] != refC.Data[i] {
					x, y, z := i%refDim[0], i/refDim[0]%refDim[1], i/(refDim[0]*refDim[1])
					t.Fatalf("voxel (%d,%d,%d) = %g, want %g", x, y, z, c.Data[i], refC.Data[i])
				}
			}
			for p, want := range refCuts {
				got, err := cutVolume(c, cutOptions{plane: p, size: 32, bits: 8, lowPct: 0.5, highPct: 99.5, minFg: -1, sel: SliceSelect{Mode: "all"}})
				if err != nil {
					t.Fatal(err)
				}
				if len(got.slices) != len(want.slices) {
					t.Fatalf("%s: %d slices, want %d", p, len(got.slices), len(want.slices))
				}
				// NIfTI stores the affine as float32 (0.9 mm becomes
				// 0.89999998), which may move a resampled pixel by one level.
				for i := range got.slices {
					g, w := got.slices[i].img.(*image.Gray).Pix, want.slices[i].img.(*image.Gray).Pix
					for k := range g {
						if d := int(g[k]) - int(w[k]); d < -1 || d > 1 {
							t.Fatalf("%s slice %d pixel %d = %d, the reference's %d", p, i, k, g[k], w[k])
						}
					}
				}
			}
		})
	}
}

// TestSliceConventions checks by hand where the left-anterior-superior
// marker lands in each plane: axial anterior up and the subject's left on
// the image's left (neurological, as `sgan data slice` has always written);
// coronal superior up, left on the left; sagittal superior up, anterior on
// the left.
func TestSliceConventions(t *testing.T) {
	c, _, err := Canonical(refVolume())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		plane Plane
		index int // a slice through the marker
	}{
		{Axial, refDim[2] - 5},
		{Coronal, refDim[1] - 6},
		{Sagittal, 4},
	}
	for _, tc := range tests {
		t.Run(tc.plane.String(), func(t *testing.T) {
			res, err := cutVolume(c, cutOptions{plane: tc.plane, size: 0, bits: 16, lowPct: 0.5, highPct: 99.5, minFg: -1, sel: SliceSelect{Mode: "index", From: float64(tc.index), To: float64(tc.index + 1)}})
			if err != nil {
				t.Fatal(err)
			}
			img := res.slices[0].img.(*image.Gray16)
			b := img.Bounds()
			var sx, sy, n float64
			for y := 0; y < b.Dy(); y++ {
				for x := 0; x < b.Dx(); x++ {
					if img.Gray16At(x, y).Y > 60000 {
						sx, sy, n = sx+float64(x), sy+float64(y), n+1
					}
				}
			}
			if n == 0 {
				t.Fatal("marker not found")
			}
			cx, cy := sx/n/float64(b.Dx()), sy/n/float64(b.Dy())
			if cx > 0.4 || cy > 0.4 {
				t.Fatalf("marker centre at (%.2f, %.2f) of the image, want the top-left corner", cx, cy)
			}
		})
	}
}

// TestCanonicalErrors covers degenerate affines.
func TestCanonicalErrors(t *testing.T) {
	v := refVolume()
	v.Affine[0][0] = 0
	v.Affine[1][0] = math.NaN()
	if _, _, err := Canonical(v); err == nil {
		t.Fatal("no error for a NaN affine")
	}
	v = refVolume()
	v.Data = v.Data[:10]
	if _, _, err := Canonical(v); err == nil {
		t.Fatal("no error for short data")
	}
}
