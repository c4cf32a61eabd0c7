package data

import (
	"fmt"
	"math"
	"strings"
)

// Plane is a slicing direction in the canonical RAS frame (see Canonical).
type Plane int

// The three planes. The slice index runs along the world axis named by
// Plane.Axis: z (inferior to superior) for axial, y (posterior to anterior)
// for coronal, x (left to right) for sagittal.
const (
	Axial Plane = iota
	Coronal
	Sagittal
)

// ParsePlane reads "axial", "coronal" or "sagittal" (any case).
func ParsePlane(s string) (Plane, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "axial":
		return Axial, nil
	case "coronal":
		return Coronal, nil
	case "sagittal":
		return Sagittal, nil
	}
	return 0, fmt.Errorf("data: plane %q is not axial, coronal or sagittal", s)
}

// String is the plane's name.
func (p Plane) String() string {
	switch p {
	case Axial:
		return "axial"
	case Coronal:
		return "coronal"
	case Sagittal:
		return "sagittal"
	}
	return fmt.Sprintf("Plane(%d)", int(p))
}

// Axis is the canonical (RAS) voxel axis the slice index runs along: 2, 1, 0.
func (p Plane) Axis() int { return 2 - int(p) }

// Letter is the world axis of the slice index, used in slice file names
// (NAME_z087.png): 'z', 'y' or 'x'.
func (p Plane) Letter() byte { return "zyx"[p] }

// Reorientation tells how a stored volume was turned into its canonical
// form (see Canonical).
type Reorientation struct {
	// Codes are the stored voxel axes' directions in nibabel's notation:
	// the world direction each of i, j, k points to, e.g. "RAS" (already
	// canonical), "LPS" (DICOM-like), "PIR" (a sagittal acquisition).
	Codes string `json:"orientation"`
	// ObliqueDeg is the largest angle between a stored voxel axis and the
	// world axis it was assigned to; 0 for a volume aligned with the world
	// axes. Canonical does not resample, so an oblique volume's slices are
	// cut along the nearest world axis.
	ObliqueDeg float64 `json:"oblique_deg"`
}

// Canonical returns v with its voxels permuted and flipped so that voxel
// axes i, j, k point as closely as possible to world +x (right), +y
// (anterior), +z (superior): the RAS+ frame of NIfTI (DICOM's LPS
// coordinates are converted on reading). Each voxel axis is assigned the
// world axis its direction in v.Affine is closest to (the assignment
// maximising the summed direction cosines); no voxel is interpolated. The
// result's Affine maps its voxels to the same world points as before, and
// its Pixdim holds the voxel sizes along R, A, S (the affine's column
// norms). v is not modified.
func Canonical(v *Volume) (*Volume, Reorientation, error) {
	var ro Reorientation
	if len(v.Data) != v.Dim[0]*v.Dim[1]*v.Dim[2] {
		return nil, ro, fmt.Errorf("volume has %d voxels, its dimensions %v need %d", len(v.Data), v.Dim, v.Dim[0]*v.Dim[1]*v.Dim[2])
	}
	// Unit direction of each voxel axis.
	var u [3][3]float64 // u[a][w]: component w of voxel axis a
	var norm [3]float64
	for a := 0; a < 3; a++ {
		for w := 0; w < 3; w++ {
			norm[a] += v.Affine[w][a] * v.Affine[w][a]
		}
		norm[a] = math.Sqrt(norm[a])
		if !(norm[a] > 0) || math.IsInf(norm[a], 0) {
			return nil, ro, fmt.Errorf("the voxel-to-world matrix is degenerate (voxel axis %d has length %g; fix the NIfTI sform/qform or the DICOM orientation)", a, norm[a])
		}
		for w := 0; w < 3; w++ {
			u[a][w] = v.Affine[w][a] / norm[a]
		}
	}
	// perm[a] is the world axis of voxel axis a.
	perms := [6][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}}
	best, bestScore := 0, -1.0
	for n, p := range perms {
		s := math.Abs(u[0][p[0]]) + math.Abs(u[1][p[1]]) + math.Abs(u[2][p[2]])
		if s > bestScore+1e-12 {
			best, bestScore = n, s
		}
	}
	perm := perms[best]
	var sign [3]int
	codes := [3][2]byte{{'L', 'R'}, {'P', 'A'}, {'I', 'S'}}
	var code [3]byte
	for a := 0; a < 3; a++ {
		c := u[a][perm[a]]
		sign[a] = 1
		if c < 0 {
			sign[a] = -1
		}
		code[a] = codes[perm[a]][(sign[a]+1)/2]
		ro.ObliqueDeg = max(ro.ObliqueDeg, math.Acos(min(1, math.Abs(c)))*180/math.Pi)
	}
	ro.Codes = string(code[:])
	ro.ObliqueDeg = math.Round(ro.ObliqueDeg*100) / 100

	// New voxel n (along world axes) comes from old voxel o with
	// o[a] = n[perm[a]] (sign +) or dim[a]-1-n[perm[a]] (sign -).
	var nd [3]int
	for a := 0; a < 3; a++ {
		nd[perm[a]] = v.Dim[a]
	}
	out := &Volume{Dim: nd, Datatype: v.Datatype, Descrip: v.Descrip, Data: make([]float32, len(v.Data))}
	// stride[w]: step in the old data per step along new axis w; base: old
	// index of new voxel (0, 0, 0).
	oldStride := [3]int{1, v.Dim[0], v.Dim[0] * v.Dim[1]}
	var stride [3]int
	base := 0
	for a := 0; a < 3; a++ {
		stride[perm[a]] = sign[a] * oldStride[a]
		if sign[a] < 0 {
			base += (v.Dim[a] - 1) * oldStride[a]
		}
	}
	idx := 0
	for z := 0; z < nd[2]; z++ {
		for y := 0; y < nd[1]; y++ {
			o := base + y*stride[1] + z*stride[2]
			row := out.Data[idx : idx+nd[0]]
			for x := range row {
				row[x] = v.Data[o]
				o += stride[0]
			}
			idx += nd[0]
		}
	}
	// Affine: world = A_old * (F n + t), F[a][perm[a]] = sign[a],
	// t[a] = dim[a]-1 where sign[a] < 0.
	for r := 0; r < 3; r++ {
		out.Affine[r][3] = v.Affine[r][3]
		for a := 0; a < 3; a++ {
			out.Affine[r][perm[a]] = v.Affine[r][a] * float64(sign[a])
			if sign[a] < 0 {
				out.Affine[r][3] += v.Affine[r][a] * float64(v.Dim[a]-1)
			}
		}
	}
	for a := 0; a < 3; a++ {
		out.Pixdim[perm[a]] = norm[a]
	}
	return out, ro, nil
}

// planeView describes the slices of a canonical volume in one plane: n
// slices of w x h pixels (image row 0 at the top), with pixel sizes dw x dh.
type planeView struct {
	n, w, h int
	dw, dh  float64
	// base and steps locate pixel (col, row) of slice s in the volume data:
	// base + s*sStep + col*cStep + row*rStep.
	base, sStep, cStep, rStep int
}

// viewOf returns how canonical volume v is cut in plane p. Conventions (as
// `sgan data slice` has always written axial slices): axial slices have
// anterior at the top and the subject's right on the image's right
// (neurological convention: viewed from above); coronal slices have
// superior at the top and the subject's right on the image's right (viewed
// from behind); sagittal slices have superior at the top and anterior on
// the left (viewed from the subject's left).
func viewOf(v *Volume, p Plane) planeView {
	nx, ny, nz := v.Dim[0], v.Dim[1], v.Dim[2]
	sx, sy, sz := 1, nx, nx*ny
	switch p {
	case Coronal:
		// columns x (left to right), rows z descending.
		return planeView{n: ny, w: nx, h: nz, dw: v.Pixdim[0], dh: v.Pixdim[2], base: (nz - 1) * sz, sStep: sy, cStep: sx, rStep: -sz}
	case Sagittal:
		// columns y descending (anterior on the left), rows z descending.
		return planeView{n: nx, w: ny, h: nz, dw: v.Pixdim[1], dh: v.Pixdim[2], base: (ny-1)*sy + (nz-1)*sz, sStep: sx, cStep: -sy, rStep: -sz}
	default:
		// columns x (left to right), rows y descending (anterior at the top).
		return planeView{n: nz, w: nx, h: ny, dw: v.Pixdim[0], dh: v.Pixdim[1], base: (ny - 1) * sy, sStep: sz, cStep: sx, rStep: -sy}
	}
}

// extract copies slice s into buf (len w*h, row-major, row 0 at the top).
func (pv planeView) extract(data []float32, s int, buf []float32) {
	o0 := pv.base + s*pv.sStep
	for r := 0; r < pv.h; r++ {
		o := o0 + r*pv.rStep
		row := buf[r*pv.w : (r+1)*pv.w]
		for c := range row {
			row[c] = data[o]
			o += pv.cStep
		}
	}
}
