package data

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// dcmSpec describes a synthetic single-frame MR DICOM file.
type dcmSpec struct {
	ts           string // transfer syntax UID; "" = no preamble and no meta group (implicit VR LE)
	seriesUID    string
	seriesNumber int
	instance     int
	pos          [3]float64 // ImagePositionPatient (LPS)
	iop          [6]float64
	spacing      [2]float64 // between rows, between columns
	rows, cols   int
	declRows     int // Rows written instead of rows when > 0
	bitsAlloc    int // 8 or 16 (default 16)
	bitsStored   int // default bitsAlloc
	signed       bool
	slope, inter float64 // written when slope != 0
	frames       int     // NumberOfFrames written when > 0
	sequence     bool    // add an undefined-length sequence with a nested one
	noPosition   bool
	pixel        func(r, c int) int // stored value of pixel (row r, column c)
	extra        []byte             // raw bytes appended after the meta group, before the data set
}

// dcmWriter encodes data elements in one transfer syntax.
type dcmWriter struct {
	buf      bytes.Buffer
	bo       binary.ByteOrder
	implicit bool
}

func (w *dcmWriter) put(group, elem uint16, vr string, val []byte) {
	var b [4]byte
	w.bo.PutUint16(b[:], group)
	w.bo.PutUint16(b[2:], elem)
	w.buf.Write(b[:4])
	switch {
	case w.implicit:
		w.bo.PutUint32(b[:], uint32(len(val)))
		w.buf.Write(b[:4])
	case explicitLong[vr]:
		w.buf.WriteString(vr)
		w.buf.Write([]byte{0, 0})
		w.bo.PutUint32(b[:], uint32(len(val)))
		w.buf.Write(b[:4])
	default:
		w.buf.WriteString(vr)
		w.bo.PutUint16(b[:], uint16(len(val)))
		w.buf.Write(b[:2])
	}
	w.buf.Write(val)
}

// raw writes a tag and a 4-byte length as is (items, delimiters, undefined lengths).
func (w *dcmWriter) raw(group, elem uint16, vr string, length uint32) {
	var b [4]byte
	w.bo.PutUint16(b[:], group)
	w.bo.PutUint16(b[2:], elem)
	w.buf.Write(b[:4])
	if vr != "" && !w.implicit {
		w.buf.WriteString(vr)
		w.buf.Write([]byte{0, 0})
	}
	w.bo.PutUint32(b[:], length)
	w.buf.Write(b[:4])
}

func (w *dcmWriter) str(group, elem uint16, vr, s string) {
	if len(s)%2 == 1 {
		if vr == "UI" {
			s += "\x00"
		} else {
			s += " "
		}
	}
	w.put(group, elem, vr, []byte(s))
}

func (w *dcmWriter) us(group, elem uint16, v int) {
	b := make([]byte, 2)
	w.bo.PutUint16(b, uint16(v))
	w.put(group, elem, "US", b)
}

func ds(xs ...float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.6g", x)
	}
	return strings.Join(parts, `\`)
}

// dicomBytes encodes s.
func dicomBytes(s dcmSpec) []byte {
	if s.bitsAlloc == 0 {
		s.bitsAlloc = 16
	}
	if s.bitsStored == 0 {
		s.bitsStored = s.bitsAlloc
	}
	var out bytes.Buffer
	if s.ts != "" {
		meta := &dcmWriter{bo: binary.LittleEndian}
		meta.put(0x0002, 0x0001, "OB", []byte{0, 1})
		meta.str(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.4")
		meta.str(0x0002, 0x0003, "UI", fmt.Sprintf("1.2.3.4.%d", s.instance))
		meta.str(0x0002, 0x0010, "UI", s.ts)
		head := &dcmWriter{bo: binary.LittleEndian}
		l := make([]byte, 4)
		binary.LittleEndian.PutUint32(l, uint32(meta.buf.Len()))
		head.put(0x0002, 0x0000, "UL", l)
		out.Write(make([]byte, 128))
		out.WriteString("DICM")
		out.Write(head.buf.Bytes())
		out.Write(meta.buf.Bytes())
	}
	out.Write(s.extra)
	w := &dcmWriter{bo: binary.LittleEndian, implicit: s.ts == "" || s.ts == tsImplicitLE}
	if s.ts == tsExplicitBE {
		w.bo = binary.BigEndian
	}
	w.str(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.4")
	w.str(0x0008, 0x0060, "CS", "MR")
	if s.sequence {
		// ReferencedImageSequence: undefined length, one undefined-length
		// item holding a nested defined-length sequence.
		w.raw(0x0008, 0x1140, "SQ", 0xffffffff)
		w.raw(0xfffe, 0xe000, "", 0xffffffff)
		w.str(0x0008, 0x1150, "UI", "1.2.840.10008.5.1.4.1.1.4")
		inner := &dcmWriter{bo: w.bo, implicit: w.implicit}
		inner.str(0x0008, 0x0100, "SH", "CODE")
		item := &dcmWriter{bo: w.bo, implicit: true}
		item.put(0xfffe, 0xe000, "", inner.buf.Bytes())
		w.put(0x0008, 0x9215, "SQ", item.buf.Bytes())
		w.raw(0xfffe, 0xe00d, "", 0)
		w.raw(0xfffe, 0xe0dd, "", 0)
	}
	w.str(0x0020, 0x000e, "UI", s.seriesUID)
	w.str(0x0020, 0x0011, "IS", fmt.Sprint(s.seriesNumber))
	w.str(0x0020, 0x0013, "IS", fmt.Sprint(s.instance))
	if !s.noPosition {
		w.str(0x0020, 0x0032, "DS", ds(s.pos[:]...))
	}
	w.str(0x0020, 0x0037, "DS", ds(s.iop[:]...))
	w.us(0x0028, 0x0002, 1)
	w.str(0x0028, 0x0004, "CS", "MONOCHROME2")
	if s.frames > 0 {
		w.str(0x0028, 0x0008, "IS", fmt.Sprint(s.frames))
	}
	if s.declRows > 0 {
		w.us(0x0028, 0x0010, s.declRows)
	} else {
		w.us(0x0028, 0x0010, s.rows)
	}
	w.us(0x0028, 0x0011, s.cols)
	w.str(0x0028, 0x0030, "DS", ds(s.spacing[:]...))
	w.us(0x0028, 0x0100, s.bitsAlloc)
	w.us(0x0028, 0x0101, s.bitsStored)
	w.us(0x0028, 0x0102, s.bitsStored-1)
	if s.signed {
		w.us(0x0028, 0x0103, 1)
	} else {
		w.us(0x0028, 0x0103, 0)
	}
	if s.slope != 0 {
		w.str(0x0028, 0x1052, "DS", ds(s.inter))
		w.str(0x0028, 0x1053, "DS", ds(s.slope))
	}
	px := make([]byte, s.rows*s.cols*s.bitsAlloc/8)
	for r := 0; r < s.rows; r++ {
		for c := 0; c < s.cols; c++ {
			v := 0
			if s.pixel != nil {
				v = s.pixel(r, c)
			}
			i := r*s.cols + c
			if s.bitsAlloc == 8 {
				px[i] = uint8(v)
			} else {
				w.bo.PutUint16(px[2*i:], uint16(v))
			}
		}
	}
	vr := "OW"
	if s.bitsAlloc == 8 {
		vr = "OB"
	}
	w.put(0x7fe0, 0x0010, vr, px)
	out.Write(w.buf.Bytes())
	return out.Bytes()
}

// lps converts a RAS vector to LPS (DICOM patient coordinates).
func lps(v [3]float64) [3]float64 { return [3]float64{-v[0], -v[1], v[2]} }

func approx(a, b, tol float64) bool { return math.Abs(a-b) <= tol }
