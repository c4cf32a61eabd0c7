package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strings"
)

// NIfTI-1 datatype codes read by ReadNIfTI.
const (
	niftiUint8   = 2
	niftiInt16   = 4
	niftiInt32   = 8
	niftiFloat32 = 16
	niftiFloat64 = 64
	niftiInt8    = 256
	niftiUint16  = 512
	niftiUint32  = 768
)

const niftiHeaderSize = 348

// Limits on what a volume file may declare, checked before anything is
// allocated for it: a hostile or broken header must give a one-line error,
// not exhaust memory.
const (
	// MaxVolumeVoxels bounds the voxels of one 3D volume (2^26: 512x512x256
	// or 400^3; a 1 mm whole-head T1 has ~16M, ADNI's MPRAGE ~11M). Its
	// float32 data take up to 256 MiB, and reading a volume (with its
	// canonical copy) stays under 1 GB even when a small .nii.gz inflates
	// to the limit (measured: 2^27 reached 2.1 GB).
	MaxVolumeVoxels = 1 << 26
	// MaxNIfTIExtension bounds the bytes between the header and the voxels
	// (NIfTI extensions; vox_offset - 348).
	MaxNIfTIExtension = 16 << 20
)

// Volume is a 3D scalar image read from a NIfTI-1 file. Voxel (i, j, k) is
// Data[i + Dim[0]*(j + Dim[1]*k)]: i varies fastest, as stored on disk.
// Values have scl_slope/scl_inter applied.
type Volume struct {
	Dim    [3]int
	Pixdim [3]float64 // voxel size in the units of the file (usually mm)
	Data   []float32
	// Affine maps voxel (i, j, k, 1) to world (x, y, z) coordinates, from
	// the sform when sform_code > 0, else the qform when qform_code > 0,
	// else a diagonal of Pixdim (the NIfTI "method 1" fallback).
	Affine [3][4]float64
	// Datatype is the NIfTI datatype code of the stored voxels.
	Datatype int
	// Descrip is the header's description field.
	Descrip string
}

// At returns voxel (i, j, k).
func (v *Volume) At(i, j, k int) float32 { return v.Data[i+v.Dim[0]*(j+v.Dim[1]*k)] }

// ReadNIfTIFile reads a single-file NIfTI-1 volume (.nii or .nii.gz; gzip is
// detected from the content). Only the first 3D volume of a 4D series is read.
// The file is streamed: at most the header, MaxNIfTIExtension bytes and the
// declared voxels are read (and inflated), whatever the file's size.
func ReadNIfTIFile(path string) (*Volume, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("data: %s: no such file (give the path of a .nii or .nii.gz volume)", path)
		}
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	v, err := ReadNIfTI(f)
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	return v, nil
}

// ReadNIfTI reads a single-file NIfTI-1 volume from r, gunzipping it first
// when it starts with the gzip magic. Errors are not prefixed with a path.
// Memory grows with the voxels actually read, so a short file that declares
// a large volume fails before allocating it.
func ReadNIfTI(r io.Reader) (*Volume, error) {
	br := bufio.NewReader(r)
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("not a NIfTI volume: bad gzip stream: %v", err)
		}
		defer zr.Close()
		br = bufio.NewReader(zr)
	}
	hdr := make([]byte, niftiHeaderSize)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, fmt.Errorf("not a NIfTI volume: file shorter than the 348-byte header (give a .nii or .nii.gz file)")
	}
	var bo binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(hdr[0:]) == niftiHeaderSize:
		bo = binary.LittleEndian
	case binary.BigEndian.Uint32(hdr[0:]) == niftiHeaderSize:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a NIfTI-1 volume: header size field is not 348 (NIfTI-2 and other formats are not supported; convert to NIfTI-1 .nii)")
	}
	magic := string(hdr[344:347])
	if magic == "ni1" {
		return nil, fmt.Errorf("two-file NIfTI (.hdr/.img) is not supported (convert to a single .nii file)")
	}
	if magic != "n+1" {
		return nil, fmt.Errorf("not a NIfTI-1 volume: magic %q, want \"n+1\" (ANALYZE 7.5 is not supported; convert to .nii)", magic)
	}
	i16 := func(off int) int { return int(int16(bo.Uint16(hdr[off:]))) }
	f32 := func(off int) float64 { return float64(math.Float32frombits(bo.Uint32(hdr[off:]))) }

	ndim := i16(40)
	if ndim < 2 || ndim > 7 {
		return nil, fmt.Errorf("bad NIfTI header: dim[0] = %d, want 2-7", ndim)
	}
	v := &Volume{Dim: [3]int{1, 1, 1}, Pixdim: [3]float64{1, 1, 1}}
	for a := 0; a < 3 && a < ndim; a++ {
		v.Dim[a] = i16(42 + 2*a)
		if v.Dim[a] < 1 {
			return nil, fmt.Errorf("bad NIfTI header: dim[%d] = %d", a+1, v.Dim[a])
		}
		if p := math.Abs(f32(80 + 4*a)); p > 0 && !math.IsNaN(p) && !math.IsInf(p, 0) {
			v.Pixdim[a] = p
		}
	}
	n := v.Dim[0] * v.Dim[1] * v.Dim[2] // at most 32767^3: no overflow
	if n > MaxVolumeVoxels {
		return nil, fmt.Errorf("NIfTI header declares %dx%dx%d = %d voxels, more than the limit of %d (MaxVolumeVoxels; a broken or hostile file, or downsample the volume)",
			v.Dim[0], v.Dim[1], v.Dim[2], n, MaxVolumeVoxels)
	}
	v.Datatype = i16(70)
	var size int
	switch v.Datatype {
	case niftiUint8, niftiInt8:
		size = 1
	case niftiInt16, niftiUint16:
		size = 2
	case niftiInt32, niftiUint32, niftiFloat32:
		size = 4
	case niftiFloat64:
		size = 8
	default:
		return nil, fmt.Errorf("unsupported NIfTI datatype %d (supported: uint8, int8, int16, uint16, int32, uint32, float32, float64)", v.Datatype)
	}
	off := f32(108)
	if math.IsNaN(off) || off > niftiHeaderSize+MaxNIfTIExtension {
		return nil, fmt.Errorf("bad NIfTI header: vox_offset %g is past the %d-byte limit on header extensions (MaxNIfTIExtension)", off, niftiHeaderSize+MaxNIfTIExtension)
	}
	voxOffset := int(off)
	if voxOffset < niftiHeaderSize {
		voxOffset = niftiHeaderSize + 4 // 352: header plus the extension flag
	}
	slope, inter := f32(112), f32(116)
	if math.IsNaN(slope) || math.IsInf(slope, 0) || math.IsNaN(inter) || math.IsInf(inter, 0) {
		slope, inter = 0, 0
	}
	v.Descrip = strings.TrimRight(string(hdr[148:228]), "\x00 ")
	v.Affine = niftiAffine(hdr, bo, v.Pixdim)

	if _, err := io.CopyN(io.Discard, br, int64(voxOffset-niftiHeaderSize)); err != nil {
		return nil, fmt.Errorf("truncated NIfTI file: ends before vox_offset %d", voxOffset)
	}
	// Read and convert in chunks, so that memory follows the data present
	// (a short file or a gzip stream that ends declares more than it holds);
	// the chunks are joined at the end, so the peak is twice the volume, not
	// the repeated growth of one slice.
	const chunk = 1 << 20 // voxels
	raw := make([]byte, min(n, chunk)*size)
	var chunks [][]float32
	for done := 0; done < n; {
		m := min(n-done, chunk)
		out := make([]float32, 0, m)
		if _, err := io.ReadFull(br, raw[:m*size]); err != nil {
			return nil, fmt.Errorf("truncated NIfTI file: want %d voxels of %d bytes after vox_offset %d, found %d", n, size, voxOffset, done)
		}
		for i := 0; i < m; i++ {
			var x float64
			switch v.Datatype {
			case niftiUint8:
				x = float64(raw[i])
			case niftiInt8:
				x = float64(int8(raw[i]))
			case niftiInt16:
				x = float64(int16(bo.Uint16(raw[2*i:])))
			case niftiUint16:
				x = float64(bo.Uint16(raw[2*i:]))
			case niftiInt32:
				x = float64(int32(bo.Uint32(raw[4*i:])))
			case niftiUint32:
				x = float64(bo.Uint32(raw[4*i:]))
			case niftiFloat32:
				x = float64(math.Float32frombits(bo.Uint32(raw[4*i:])))
			case niftiFloat64:
				x = math.Float64frombits(bo.Uint64(raw[8*i:]))
			}
			if slope != 0 {
				x = x*slope + inter
			}
			if math.IsNaN(x) || math.IsInf(x, 0) {
				x = 0
			}
			out = append(out, float32(x))
		}
		chunks = append(chunks, out)
		done += m
	}
	v.Data = make([]float32, 0, n)
	for i, c := range chunks {
		v.Data = append(v.Data, c...)
		chunks[i] = nil
	}
	return v, nil
}

// niftiAffine returns the voxel-to-world matrix from the sform, else the
// qform, else the pixel sizes.
func niftiAffine(hdr []byte, bo binary.ByteOrder, pixdim [3]float64) [3][4]float64 {
	i16 := func(off int) int { return int(int16(bo.Uint16(hdr[off:]))) }
	f32 := func(off int) float64 { return float64(math.Float32frombits(bo.Uint32(hdr[off:]))) }
	var m [3][4]float64
	if i16(254) > 0 { // sform_code
		for r := 0; r < 3; r++ {
			for c := 0; c < 4; c++ {
				m[r][c] = f32(280 + 16*r + 4*c)
			}
		}
		return m
	}
	if i16(252) > 0 { // qform_code
		b, c, d := f32(256), f32(260), f32(264)
		a := 1 - (b*b + c*c + d*d)
		if a < 1e-7 {
			a = 0
		}
		a = math.Sqrt(a)
		qfac := f32(76) // pixdim[0]
		if qfac >= 0 {
			qfac = 1
		} else {
			qfac = -1
		}
		R := [3][3]float64{
			{a*a + b*b - c*c - d*d, 2 * (b*c - a*d), 2 * (b*d + a*c)},
			{2 * (b*c + a*d), a*a + c*c - b*b - d*d, 2 * (c*d - a*b)},
			{2 * (b*d - a*c), 2 * (c*d + a*b), a*a + d*d - c*c - b*b},
		}
		scale := [3]float64{pixdim[0], pixdim[1], pixdim[2] * qfac}
		for r := 0; r < 3; r++ {
			for col := 0; col < 3; col++ {
				m[r][col] = R[r][col] * scale[col]
			}
		}
		m[0][3], m[1][3], m[2][3] = f32(268), f32(272), f32(276)
		return m
	}
	m[0][0], m[1][1], m[2][2] = pixdim[0], pixdim[1], pixdim[2]
	return m
}
