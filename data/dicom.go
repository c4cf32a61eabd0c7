package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// Limits on DICOM input, checked before the file is handed to the parser.
const (
	// MaxDICOMFileBytes bounds one DICOM file (an MR slice is well under
	// 1 MiB; the parser may hold a few times this in memory).
	MaxDICOMFileBytes = 32 << 20
	// MaxDICOMSide bounds Rows and Columns.
	MaxDICOMSide = 2048
	// MaxDICOMNesting bounds the nesting of sequences and items (the parser
	// recurses once per level).
	MaxDICOMNesting = 32
	// MaxSeriesFiles bounds the files of one series.
	MaxSeriesFiles = 4096
)

// Transfer syntaxes read: uncompressed only.
const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitLE = "1.2.840.10008.1.2.1"
	tsExplicitBE = "1.2.840.10008.1.2.2"
)

// dicomImage is one DICOM file: a 2D slice with its geometry.
type dicomImage struct {
	SeriesUID    string
	SeriesNumber int
	Instance     int
	Position     [3]float64 // ImagePositionPatient, LPS mm: the centre of the first pixel
	Orientation  [6]float64 // ImageOrientationPatient: row direction (along a row, increasing column), column direction
	Spacing      [2]float64 // PixelSpacing: between rows, between columns (mm)
	Rows, Cols   int
	Pixels       []float32 // Rows x Cols, row-major, with the rescale slope/intercept applied
}

// readDICOMFile reads one single-frame DICOM file.
func readDICOMFile(path string) (*dicomImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > MaxDICOMFileBytes {
		return nil, fmt.Errorf("file has %d bytes, more than the %d of MaxDICOMFileBytes (not a single MR slice)", st.Size(), MaxDICOMFileBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxDICOMFileBytes+1))
	if err != nil {
		return nil, err
	}
	return parseDICOMImage(b)
}

// parseDICOMImage decodes one DICOM file held in b.
//
// The parser (github.com/suyashkumar/dicom v1.0.7) trusts declared lengths:
// it allocates an element's declared length before reading it, recurses
// once per sequence level without a limit, and panics on some malformed
// values. So checkDICOMStructure first walks the elements exactly as the
// parser will, requiring every length to fit in the file and the nesting
// to stay under MaxDICOMNesting; panics left are recovered as errors.
func parseDICOMImage(b []byte) (*dicomImage, error) {
	if len(b) > MaxDICOMFileBytes {
		return nil, fmt.Errorf("file has %d bytes, more than the %d of MaxDICOMFileBytes", len(b), MaxDICOMFileBytes)
	}
	bo, err := checkDICOMStructure(b)
	if err != nil {
		return nil, err
	}
	ds, err := parseDICOMDataset(b)
	if err != nil {
		return nil, fmt.Errorf("not a readable DICOM file: %s", oneLine(err.Error()))
	}
	return dicomImageOf(&ds, bo)
}

// parseDICOMDataset runs the parser on b, turning its panics into errors.
func parseDICOMDataset(b []byte) (ds dicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed element (%v)", r)
		}
	}()
	return dicom.Parse(bytes.NewReader(b), int64(len(b)), nil, dicom.SkipProcessingPixelDataValue())
}

// dicomGuard walks DICOM elements the way the parser reads them, checking
// lengths and depth.
type dicomGuard struct {
	b        []byte
	pos      int
	bo       binary.ByteOrder
	implicit bool
}

var errDICOMTruncated = errors.New("truncated DICOM element")

// dicomElem is what dicomGuard.element saw.
type dicomElem struct {
	tag        tag.Tag
	vr         string
	start, len int // value bytes
}

// checkDICOMStructure validates b and returns the byte order of its data set.
func checkDICOMStructure(b []byte) (binary.ByteOrder, error) {
	if len(b) < 132 {
		return nil, fmt.Errorf("not a DICOM file (%d bytes, shorter than the 128-byte preamble and DICM)", len(b))
	}
	g := &dicomGuard{b: b, bo: binary.LittleEndian, implicit: true}
	if string(b[128:132]) == "DICM" {
		// File meta group: explicit VR little endian, led by its length.
		g.pos, g.implicit = 132, false
		e, err := g.element(len(b), 0)
		if err != nil {
			return nil, fmt.Errorf("bad DICOM file meta information: %v", err)
		}
		if e.tag != tag.FileMetaInformationGroupLength || e.vr != "UL" || e.len != 4 {
			return nil, fmt.Errorf("bad DICOM file meta information: no group length (0002,0000) first")
		}
		metaLen := uint64(binary.LittleEndian.Uint32(b[e.start:]))
		if metaLen > uint64(len(b)-g.pos) {
			return nil, fmt.Errorf("bad DICOM file meta information: group length %d runs past the end of the file", metaLen)
		}
		end := g.pos + int(metaLen)
		ts := ""
		haveTS := false
		for g.pos < end {
			e, err := g.element(end, 0)
			if err != nil {
				return nil, fmt.Errorf("bad DICOM file meta information: %v", err)
			}
			if e.tag == tag.TransferSyntaxUID {
				switch tag.GetVRKind(e.tag, e.vr) {
				case tag.VRStringList, tag.VRString, tag.VRDate:
				default:
					return nil, fmt.Errorf("bad DICOM file meta information: transfer syntax has VR %q", e.vr)
				}
				ts = strings.Trim(string(b[e.start:e.start+e.len]), " \x00")
				ts, _, _ = strings.Cut(ts, `\`)
				haveTS = true
			}
		}
		if haveTS {
			switch ts {
			case tsImplicitLE:
				g.implicit = true
			case tsExplicitLE:
				g.implicit = false
			case tsExplicitBE:
				g.implicit, g.bo = false, binary.BigEndian
			default:
				name := "unknown"
				if info, err := uid.Lookup(ts); err == nil {
					name = info.Name
				}
				return nil, fmt.Errorf("transfer syntax %q (%s) is not supported: only uncompressed DICOM is read (decompress with `gdcmconv --raw` or dcmtk's `dcmdjpeg`, or convert the series with dcm2niix)", ts, name)
			}
		} else {
			g.implicit = true // the parser's default
		}
	}
	preamble := g.pos > 0
	for len(b)-g.pos >= 4 {
		if _, err := g.element(len(b), 0); err != nil {
			if !preamble {
				return nil, fmt.Errorf("not a DICOM file (no DICM marker, and not readable as a bare data set: %v)", err)
			}
			return nil, err
		}
	}
	return g.bo, nil
}

// explicitLong are the VRs whose explicit encoding has a 4-byte length, as
// the parser reads them.
var explicitLong = map[string]bool{"NA": true, "OB": true, "OD": true, "OF": true, "OL": true, "OW": true, "SQ": true, "UN": true, "UC": true, "UR": true, "UT": true}

// element walks one element (and its nested ones) that must end by end.
func (g *dicomGuard) element(end, depth int) (dicomElem, error) {
	var e dicomElem
	if depth > MaxDICOMNesting {
		return e, fmt.Errorf("sequences nested deeper than %d levels (MaxDICOMNesting)", MaxDICOMNesting)
	}
	need := func(n int) error {
		if end-g.pos < n {
			return errDICOMTruncated
		}
		return nil
	}
	if err := need(4); err != nil {
		return e, err
	}
	e.tag = tag.Tag{Group: g.bo.Uint16(g.b[g.pos:]), Element: g.bo.Uint16(g.b[g.pos+2:])}
	g.pos += 4
	implicit := g.implicit || e.tag == tag.Item
	var vl uint32
	if implicit {
		e.vr = tag.UnknownVR
		if info, err := tag.Find(e.tag); err == nil {
			e.vr = info.VR
		}
		if err := need(4); err != nil {
			return e, err
		}
		vl = g.bo.Uint32(g.b[g.pos:])
		g.pos += 4
	} else {
		if err := need(2); err != nil {
			return e, err
		}
		e.vr = string(g.b[g.pos : g.pos+2])
		g.pos += 2
		if !(e.vr[0] >= 'A' && e.vr[0] <= 'Z' && e.vr[1] >= 'A' && e.vr[1] <= 'Z') && !(e.tag.Group == tag.GroupSeqItem && e.vr == "\x00\x00") {
			return e, fmt.Errorf("element %s has an invalid VR %q", e.tag, e.vr)
		}
		if explicitLong[e.vr] {
			if err := need(6); err != nil {
				return e, err
			}
			vl = g.bo.Uint32(g.b[g.pos+2:])
			g.pos += 6
		} else {
			if err := need(2); err != nil {
				return e, err
			}
			vl = uint32(g.bo.Uint16(g.b[g.pos:]))
			if vl == 0xffff {
				vl = tag.VLUndefinedLength
			}
			g.pos += 2
		}
	}
	undefined := vl == tag.VLUndefinedLength
	if !undefined && uint64(vl) > uint64(end-g.pos) {
		return e, fmt.Errorf("element %s declares %d bytes, past the end of its container (a truncated or corrupt file)", e.tag, vl)
	}
	switch tag.GetVRKind(e.tag, e.vr) {
	case tag.VRSequence:
		if undefined {
			for {
				s, err := g.element(end, depth+1)
				if err != nil {
					return e, err
				}
				if s.tag == tag.SequenceDelimitationItem {
					break
				}
				if s.tag != tag.Item {
					return e, fmt.Errorf("sequence %s holds %s, not an item", e.tag, s.tag)
				}
			}
			return e, nil
		}
		sub := g.pos + int(vl)
		for g.pos < sub {
			s, err := g.element(sub, depth+1)
			if err != nil {
				return e, err
			}
			if s.tag != tag.Item {
				return e, fmt.Errorf("sequence %s holds %s, not an item", e.tag, s.tag)
			}
		}
		return e, nil
	case tag.VRItem:
		if undefined {
			for {
				s, err := g.element(end, depth+1)
				if err != nil {
					return e, err
				}
				if s.tag == tag.ItemDelimitationItem {
					return e, nil
				}
			}
		}
		sub := g.pos + int(vl)
		for g.pos < sub {
			if _, err := g.element(sub, depth+1); err != nil {
				return e, err
			}
		}
		return e, nil
	case tag.VRPixelData:
		if undefined {
			return e, fmt.Errorf("encapsulated (compressed) pixel data is not supported (decompress with `gdcmconv --raw` or convert the series with dcm2niix)")
		}
	default:
		if undefined {
			return e, fmt.Errorf("element %s (VR %q) has an undefined length the parser cannot read", e.tag, e.vr)
		}
	}
	e.start, e.len = g.pos, int(vl)
	g.pos += int(vl)
	return e, nil
}

// errNotImage marks a DICOM file without pixel data (a DICOMDIR, a report,
// a presentation state): not part of an image series.
var errNotImage = errors.New("no pixel data (7fe0,0010): not an image")

// dicomImageOf extracts the slice geometry and pixels from a parsed file.
func dicomImageOf(ds *dicom.Dataset, bo binary.ByteOrder) (*dicomImage, error) {
	im := &dicomImage{}
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil || pe.Value == nil || pe.Value.ValueType() != dicom.PixelData {
		return nil, errNotImage
	}
	if im.SeriesUID, err = dcmString(ds, tag.SeriesInstanceUID); err != nil {
		return nil, err
	}
	if im.SeriesNumber, err = dcmInt(ds, tag.SeriesNumber, 0); err != nil {
		return nil, err
	}
	if im.Instance, err = dcmInt(ds, tag.InstanceNumber, 0); err != nil {
		return nil, err
	}
	if frames, err := dcmInt(ds, tag.NumberOfFrames, 1); err != nil {
		return nil, err
	} else if frames != 1 {
		return nil, fmt.Errorf("multi-frame DICOM (%d frames) is not supported (convert the series with dcm2niix and build from the .nii)", frames)
	}
	pos, err := dcmFloats(ds, tag.ImagePositionPatient, 3)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot place the slice in space", err)
	}
	iop, err := dcmFloats(ds, tag.ImageOrientationPatient, 6)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot orient the slice", err)
	}
	sp, err := dcmFloats(ds, tag.PixelSpacing, 2)
	if err != nil {
		return nil, err
	}
	copy(im.Position[:], pos)
	copy(im.Orientation[:], iop)
	copy(im.Spacing[:], sp)
	if !(sp[0] > 0 && sp[1] > 0 && sp[0] < 1e4 && sp[1] < 1e4) {
		return nil, fmt.Errorf("PixelSpacing %g\\%g is not positive", sp[0], sp[1])
	}
	for i := range 3 {
		if math.Abs(pos[i]) > 1e6 {
			return nil, fmt.Errorf("ImagePositionPatient %v is out of range", pos)
		}
	}
	var bitsAlloc, bitsStored, signed, samples int
	for _, f := range []struct {
		t tag.Tag
		p *int
	}{{tag.Rows, &im.Rows}, {tag.Columns, &im.Cols}, {tag.BitsAllocated, &bitsAlloc}} {
		if *f.p, err = dcmInt(ds, f.t, -1); err != nil {
			return nil, err
		}
		if *f.p < 0 {
			return nil, fmt.Errorf("no %s %s", tagName(f.t), f.t)
		}
	}
	if bitsStored, err = dcmInt(ds, tag.BitsStored, bitsAlloc); err != nil {
		return nil, err
	}
	if signed, err = dcmInt(ds, tag.PixelRepresentation, 0); err != nil {
		return nil, err
	}
	if samples, err = dcmInt(ds, tag.SamplesPerPixel, 1); err != nil {
		return nil, err
	}
	if im.Rows < 1 || im.Cols < 1 || im.Rows > MaxDICOMSide || im.Cols > MaxDICOMSide {
		return nil, fmt.Errorf("image of %dx%d pixels is outside 1-%d (MaxDICOMSide)", im.Cols, im.Rows, MaxDICOMSide)
	}
	if samples != 1 {
		return nil, fmt.Errorf("%d samples per pixel: not a grayscale MR image", samples)
	}
	if pi, err := dcmString(ds, tag.PhotometricInterpretation); err == nil && pi != "" && pi != "MONOCHROME2" {
		return nil, fmt.Errorf("photometric interpretation %q is not supported (only MONOCHROME2)", pi)
	}
	if bitsAlloc != 8 && bitsAlloc != 16 && bitsAlloc != 32 {
		return nil, fmt.Errorf("%d bits allocated per pixel is not supported (8, 16 or 32)", bitsAlloc)
	}
	if bitsStored < 1 || bitsStored > bitsAlloc || (signed != 0 && signed != 1) {
		return nil, fmt.Errorf("bad pixel format: %d bits stored of %d allocated, pixel representation %d", bitsStored, bitsAlloc, signed)
	}
	slope, err := dcmFloat(ds, tag.RescaleSlope, 1)
	if err != nil {
		return nil, err
	}
	inter, err := dcmFloat(ds, tag.RescaleIntercept, 0)
	if err != nil {
		return nil, err
	}
	if slope == 0 || math.IsNaN(slope) || math.IsInf(slope, 0) || math.IsNaN(inter) || math.IsInf(inter, 0) {
		slope, inter = 1, 0
	}
	info, ok := pe.Value.GetValue().(dicom.PixelDataInfo)
	if !ok || !info.IntentionallyUnprocessed {
		return nil, fmt.Errorf("unreadable pixel data (7fe0,0010)")
	}
	raw := info.UnprocessedValueData
	bpp := bitsAlloc / 8
	n := im.Rows * im.Cols
	if len(raw) < n*bpp {
		return nil, fmt.Errorf("pixel data has %d bytes, %dx%d pixels of %d bits need %d", len(raw), im.Cols, im.Rows, bitsAlloc, n*bpp)
	}
	mask := uint32(1)<<bitsStored - 1
	if bitsStored == 32 {
		mask = math.MaxUint32
	}
	im.Pixels = make([]float32, n)
	for i := range im.Pixels {
		var u uint32
		switch bpp {
		case 1:
			u = uint32(raw[i])
		case 2:
			u = uint32(bo.Uint16(raw[2*i:]))
		default:
			u = bo.Uint32(raw[4*i:])
		}
		u &= mask
		x := float64(u)
		if signed == 1 && u>>(bitsStored-1)&1 == 1 {
			x -= float64(uint64(1) << bitsStored)
		}
		im.Pixels[i] = float32(x*slope + inter)
	}
	return im, nil
}

// oneLine escapes control characters as \xNN, so that a message quoting a
// file's bytes (or a hostile file name) stays on one line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) {
			fmt.Fprintf(&b, "\\x%02x", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func tagName(t tag.Tag) string {
	if info, err := tag.Find(t); err == nil {
		return info.Name
	}
	return "element"
}

// dcmString is the first value of a string element ("" when absent).
func dcmString(ds *dicom.Dataset, t tag.Tag) (string, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return "", nil
	}
	if e.Value.ValueType() != dicom.Strings {
		return "", fmt.Errorf("%s %s is not a string", tagName(t), t)
	}
	v := e.Value.GetValue().([]string)
	if len(v) == 0 {
		return "", nil
	}
	return strings.Trim(v[0], " \x00"), nil
}

// dcmFloats reads exactly n numbers (decimal strings or binary floats).
func dcmFloats(ds *dicom.Dataset, t tag.Tag, n int) ([]float64, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return nil, fmt.Errorf("no %s %s", tagName(t), t)
	}
	var out []float64
	switch e.Value.ValueType() {
	case dicom.Strings:
		for _, s := range e.Value.GetValue().([]string) {
			x, err := strconv.ParseFloat(strings.Trim(s, " \x00"), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("%s %s: %q is not a number", tagName(t), t, s)
			}
			out = append(out, x)
		}
	case dicom.Floats:
		out = e.Value.GetValue().([]float64)
	case dicom.Ints:
		for _, x := range e.Value.GetValue().([]int) {
			out = append(out, float64(x))
		}
	}
	if len(out) != n {
		return nil, fmt.Errorf("%s %s has %d values, want %d", tagName(t), t, len(out), n)
	}
	for _, x := range out {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%s %s: %v is not finite", tagName(t), t, x)
		}
	}
	return out, nil
}

// dcmFloat reads one number, def when absent.
func dcmFloat(ds *dicom.Dataset, t tag.Tag, def float64) (float64, error) {
	if _, err := ds.FindElementByTag(t); err != nil {
		return def, nil
	}
	x, err := dcmFloats(ds, t, 1)
	if err != nil {
		return 0, err
	}
	return x[0], nil
}

// dcmInt reads one integer (a binary or decimal string value), def when
// absent or empty.
func dcmInt(ds *dicom.Dataset, t tag.Tag, def int) (int, error) {
	e, err := ds.FindElementByTag(t)
	if err != nil || e.Value == nil {
		return def, nil
	}
	switch e.Value.ValueType() {
	case dicom.Ints:
		v := e.Value.GetValue().([]int)
		if len(v) == 0 {
			return def, nil
		}
		return v[0], nil
	case dicom.Strings:
		v := e.Value.GetValue().([]string)
		if len(v) == 0 || strings.Trim(v[0], " \x00") == "" {
			return def, nil
		}
		x, err := strconv.Atoi(strings.Trim(v[0], " \x00"))
		if err != nil {
			return 0, fmt.Errorf("%s %s: %q is not an integer", tagName(t), t, v[0])
		}
		return x, nil
	}
	return 0, fmt.Errorf("%s %s is not an integer", tagName(t), t)
}

// DICOMSeries is one series of a DICOM folder.
type DICOMSeries struct {
	UID    string
	Number int // SeriesNumber
	Files  int
	// Volume is the series as a volume (voxel i along a row, j down the
	// columns, k through the slices sorted by position), with its affine in
	// RAS; nil when Err is set.
	Volume *Volume
	Err    error
}

// IsDICOMFile reports whether path looks like a DICOM file: "DICM" after the
// 128-byte preamble, or a .dcm/.dicom/.ima name.
func IsDICOMFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".dcm", ".dicom", ".ima":
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [132]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	return string(b[128:]) == "DICM"
}

// ReadDICOMFolder reads the DICOM files of one folder (files, paths inside
// it) and assembles each series among them (grouped by SeriesInstanceUID)
// into a volume. DICOM files without pixel data (DICOMDIR, reports) are
// ignored. A file that cannot be read fails the whole folder (its series
// would have a gap); a series that cannot be assembled (one slice, uneven
// spacing, mixed orientations, ...) has its Err set.
func ReadDICOMFolder(files []string) ([]DICOMSeries, error) {
	if len(files) > MaxSeriesFiles {
		return nil, fmt.Errorf("%d DICOM files in one folder, more than the %d of MaxSeriesFiles", len(files), MaxSeriesFiles)
	}
	groups := map[string][]*dicomImage{}
	names := map[*dicomImage]string{}
	for _, f := range files {
		im, err := readDICOMFile(f)
		if errors.Is(err, errNotImage) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		groups[im.SeriesUID] = append(groups[im.SeriesUID], im)
		names[im] = filepath.Base(f)
	}
	if len(groups) == 0 {
		return nil, fmt.Errorf("none of the %d DICOM files has pixel data (no image series here)", len(files))
	}
	var out []DICOMSeries
	for uidStr, ims := range groups {
		s := DICOMSeries{UID: uidStr, Number: ims[0].SeriesNumber, Files: len(ims)}
		s.Volume, s.Err = assembleSeries(ims, names)
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b DICOMSeries) int {
		if a.Number != b.Number {
			return a.Number - b.Number
		}
		return strings.Compare(a.UID, b.UID)
	})
	return out, nil
}

// assembleSeries sorts the slices of one series by position and stacks them.
func assembleSeries(ims []*dicomImage, names map[*dicomImage]string) (*Volume, error) {
	if len(ims) < 2 {
		return nil, fmt.Errorf("series has 1 slice: not a volume (a localizer or a single 2D image)")
	}
	first := ims[0]
	for _, im := range ims[1:] {
		if im.Rows != first.Rows || im.Cols != first.Cols {
			return nil, fmt.Errorf("slices differ in size (%dx%d in %s, %dx%d in %s)", first.Cols, first.Rows, names[first], im.Cols, im.Rows, names[im])
		}
		for i := range 6 {
			if math.Abs(im.Orientation[i]-first.Orientation[i]) > 1e-3 {
				return nil, fmt.Errorf("slices differ in orientation (%s and %s; a localizer or a multi-plane series?)", names[first], names[im])
			}
		}
		for i := range 2 {
			if math.Abs(im.Spacing[i]-first.Spacing[i]) > 1e-3*first.Spacing[i] {
				return nil, fmt.Errorf("slices differ in pixel spacing (%s and %s)", names[first], names[im])
			}
		}
	}
	o := first.Orientation
	row := [3]float64{o[0], o[1], o[2]}
	col := [3]float64{o[3], o[4], o[5]}
	normal := [3]float64{row[1]*col[2] - row[2]*col[1], row[2]*col[0] - row[0]*col[2], row[0]*col[1] - row[1]*col[0]}
	nn := math.Sqrt(normal[0]*normal[0] + normal[1]*normal[1] + normal[2]*normal[2])
	rn := math.Sqrt(row[0]*row[0] + row[1]*row[1] + row[2]*row[2])
	cn := math.Sqrt(col[0]*col[0] + col[1]*col[1] + col[2]*col[2])
	if math.Abs(rn-1) > 0.01 || math.Abs(cn-1) > 0.01 || math.Abs(nn-1) > 0.01 {
		return nil, fmt.Errorf("ImageOrientationPatient %v is not two perpendicular unit vectors", o)
	}
	dist := func(im *dicomImage) float64 {
		return im.Position[0]*normal[0] + im.Position[1]*normal[1] + im.Position[2]*normal[2]
	}
	sorted := slices.Clone(ims)
	slices.SortStableFunc(sorted, func(a, b *dicomImage) int {
		if da, db := dist(a), dist(b); da != db {
			if da < db {
				return -1
			}
			return 1
		}
		if a.Instance != b.Instance {
			return a.Instance - b.Instance
		}
		return strings.Compare(names[a], names[b])
	})
	n := len(sorted)
	step := (dist(sorted[n-1]) - dist(sorted[0])) / float64(n-1)
	for i := 1; i < n; i++ {
		if dist(sorted[i])-dist(sorted[i-1]) < 1e-3 {
			return nil, fmt.Errorf("%s and %s share a slice position (several echoes, time points or repeats in one series?)", names[sorted[i-1]], names[sorted[i]])
		}
	}
	for i := 1; i < n; i++ {
		d := dist(sorted[i]) - dist(sorted[i-1])
		if math.Abs(d-step) > 0.1*step+0.01 {
			return nil, fmt.Errorf("uneven slice spacing: %.3g mm between %s and %s, %.3g mm on average (missing slices?)", d, names[sorted[i-1]], names[sorted[i]], step)
		}
	}
	if first.Rows*first.Cols*n > MaxVolumeVoxels {
		return nil, fmt.Errorf("%dx%dx%d voxels is more than the %d of MaxVolumeVoxels", first.Cols, first.Rows, n, MaxVolumeVoxels)
	}
	v := &Volume{Dim: [3]int{first.Cols, first.Rows, n}, Datatype: niftiFloat32, Descrip: "DICOM series " + first.SeriesUID}
	v.Data = make([]float32, 0, first.Rows*first.Cols*n)
	for _, im := range sorted {
		v.Data = append(v.Data, im.Pixels...)
	}
	// Voxel (i, j, k) -> LPS: P0 + i*row*dc + j*col*dr + k*(Pn-P0)/(n-1);
	// RAS negates x and y.
	p0, pn := sorted[0].Position, sorted[n-1].Position
	dr, dc := first.Spacing[0], first.Spacing[1]
	flip := [3]float64{-1, -1, 1}
	for r := range 3 {
		v.Affine[r][0] = flip[r] * row[r] * dc
		v.Affine[r][1] = flip[r] * col[r] * dr
		v.Affine[r][2] = flip[r] * (pn[r] - p0[r]) / float64(n-1)
		v.Affine[r][3] = flip[r] * p0[r]
	}
	v.Pixdim = [3]float64{dc, dr, math.Abs(step)}
	return v, nil
}
