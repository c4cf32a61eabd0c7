package data

import (
	"fmt"
	"hash/fnv"
	"image"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// SliceOptions control how a volume is cut into 2D slices.
type SliceOptions struct {
	// Size is the side of the square output images. The slice is padded
	// with black to a square, then resized (Catmull-Rom). 0 keeps the
	// padded native size.
	Size int
	// LowPct and HighPct are the percentiles of the nonzero voxels mapped
	// to 0 and 255. Defaults 0.5 and 99.5.
	LowPct, HighPct float64
	// MinForeground is the fraction of a slice's pixels that must be
	// foreground (at least 10% of full scale after windowing) for the slice
	// to be kept. Default 0.05; negative keeps every slice.
	MinForeground float64
}

func (o SliceOptions) withDefaults() SliceOptions {
	if o.LowPct == 0 && o.HighPct == 0 {
		o.LowPct, o.HighPct = 0.5, 99.5
	}
	if o.MinForeground == 0 {
		o.MinForeground = 0.05
	}
	return o
}

// Slice is one 8-bit axial slice of a volume.
type Slice struct {
	K     int // index along the superior axis of the canonical (RAS) volume
	Image *image.Gray
}

// AxialSlices cuts v into upright 8-bit axial slices, keeps those with
// enough foreground, and returns them in order of K (inferior to superior).
//
// Orientation: v is first turned into its canonical RAS form (Canonical:
// voxel axes permuted and flipped to the world axes nearest to them, read
// from the affine, i.e. the NIfTI sform, else the qform), so sagittal and
// coronal acquisitions give axial slices too. Slices have anterior at the
// top and the subject's right on the image's right (neurological
// convention; the training flip makes this immaterial). Anisotropic voxels
// are resampled to square pixels. The returned warning is non-empty when
// the volume is oblique by more than 20 degrees (its slices are then cut
// along the nearest world axis, not resampled).
func AxialSlices(v *Volume, opt SliceOptions) ([]Slice, string, error) {
	sl, _, warn, err := axialSlices(v, opt)
	return sl, warn, err
}

// axialSlices is AxialSlices that also returns the number of axial slices.
func axialSlices(v *Volume, opt SliceOptions) ([]Slice, int, string, error) {
	opt = opt.withDefaults()
	c, ro, err := Canonical(v)
	if err != nil {
		return nil, 0, "", err
	}
	res, err := cutVolume(c, cutOptions{plane: Axial, size: opt.Size, bits: 8, lowPct: opt.LowPct, highPct: opt.HighPct, minFg: opt.MinForeground, sel: SliceSelect{Mode: "all"}})
	if err != nil {
		return nil, 0, "", err
	}
	out := make([]Slice, len(res.slices))
	for i, s := range res.slices {
		out[i] = Slice{K: s.index, Image: s.img.(*image.Gray)}
	}
	return out, res.n, obliqueWarning(ro), nil
}

// ObliqueWarnDeg is the obliquity above which slicing warns that slices are
// cut along the nearest world axis.
const ObliqueWarnDeg = 20

func obliqueWarning(ro Reorientation) string {
	if ro.ObliqueDeg <= ObliqueWarnDeg {
		return ""
	}
	return fmt.Sprintf("volume is oblique by %.0f degrees (stored as %s): slices are cut along the nearest world axis, not resampled", ro.ObliqueDeg, ro.Codes)
}

// windowRange returns the lowPct and highPct percentiles of the nonzero values.
func windowRange(data []float32, lowPct, highPct float64) (lo, hi float64, err error) {
	nz := make([]float32, 0, len(data)/2)
	for _, x := range data {
		if x != 0 {
			nz = append(nz, x)
		}
	}
	if len(nz) == 0 {
		return 0, 0, fmt.Errorf("volume is all zeros")
	}
	slices.Sort(nz)
	at := func(p float64) float64 {
		i := int(math.Round(p / 100 * float64(len(nz)-1)))
		return float64(nz[min(len(nz)-1, max(0, i))])
	}
	lo, hi = at(lowPct), at(highPct)
	if hi <= lo {
		// Nearly constant foreground (e.g. a mask): map [0, max] instead.
		lo, hi = min(0, float64(nz[0])), float64(nz[len(nz)-1])
		if hi <= lo {
			hi = lo + 1
		}
	}
	return lo, hi, nil
}

// SliceStats reports what SliceVolumes wrote.
type SliceStats struct {
	Volumes, Train, Test, Skipped int
	Warnings                      []string
}

// VolumeFiles expands paths into NIfTI files: a file is taken as is, a
// folder contributes every .nii and .nii.gz file under it, sorted.
func VolumeFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("data: %s: no such file or folder (give .nii/.nii.gz volumes or folders of them)", p)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			n := strings.ToLower(d.Name())
			if !d.IsDir() && (strings.HasSuffix(n, ".nii") || strings.HasSuffix(n, ".nii.gz")) {
				found = append(found, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("data: reading %s: %w", p, err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("data: %s: no .nii or .nii.gz volumes in this folder", p)
		}
		slices.Sort(found)
		out = append(out, found...)
	}
	return out, nil
}

// VolumeBase is the file name of a volume without .nii/.nii.gz.
func VolumeBase(path string) string {
	b := filepath.Base(path)
	for _, ext := range []string{".nii.gz", ".nii", ".gz"} {
		if strings.HasSuffix(strings.ToLower(b), ext) {
			return b[:len(b)-len(ext)]
		}
	}
	return b
}

// SliceVolumes reads each NIfTI volume, cuts it into axial slices and writes
// them as PNGs in the ADNI layout: out/train/class/BASE_zKKK.png, or
// out/test/... for a testFrac fraction of the slices. The choice of test
// slices is a fixed hash of (BASE, K), so reruns give the same split.
func SliceVolumes(volumes []string, out, class string, testFrac float64, opt SliceOptions) (SliceStats, error) {
	var st SliceStats
	if class == "" || strings.ContainsAny(class, `/\`) {
		return st, fmt.Errorf("data: class %q is not a folder name (give --class a plain name such as AD or NC)", class)
	}
	if testFrac < 0 || testFrac >= 1 {
		return st, fmt.Errorf("data: test fraction %g is out of range (give a value in [0, 1))", testFrac)
	}
	files, err := VolumeFiles(volumes)
	if err != nil {
		return st, err
	}
	for _, f := range files {
		v, err := ReadNIfTIFile(f)
		if err != nil {
			return st, err
		}
		sl, n, warn, err := axialSlices(v, opt)
		if err != nil {
			return st, fmt.Errorf("data: %s: %w", f, err)
		}
		if warn != "" {
			st.Warnings = append(st.Warnings, f+": "+warn)
		}
		base := VolumeBase(f)
		st.Volumes++
		st.Skipped += n - len(sl)
		for _, s := range sl {
			split := "train"
			if testFrac > 0 && hashFrac(fmt.Sprintf("%s/%d", base, s.K)) < testFrac {
				split = "test"
			}
			dir := filepath.Join(out, split, class)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return st, fmt.Errorf("data: %w", err)
			}
			name := filepath.Join(dir, fmt.Sprintf("%s_z%03d.png", base, s.K))
			if err := writePNG(name, s.Image); err != nil {
				return st, err
			}
			if split == "test" {
				st.Test++
			} else {
				st.Train++
			}
		}
	}
	return st, nil
}

func hashFrac(s string) float64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return float64(mix64(h.Sum64())>>11) / (1 << 53)
}

func writePNG(name string, img image.Image) error {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("data: %w", err)
	}
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("data: writing %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("data: writing %s: %w", name, err)
	}
	return nil
}
