package tensorboard

// An event-file decoder written for the tests, independent of the package's encoder: TFRecord
// framing checked with a bit-by-bit CRC32C (not hash/crc32), and the protobuf messages parsed with
// google.golang.org/protobuf/encoding/protowire, strictly (an unexpected field or wire type is an
// error), with field numbers from TensorBoard's event.proto and summary.proto.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// crc32cByHand is CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), one bit at a time.
func crc32cByHand(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x82f63b78
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

// maskByHand is TFRecord's CRC mask.
func maskByHand(c uint32) uint32 { return (c>>15 | c<<17) + 0xa282ead8 }

var (
	errTorn      = errors.New("torn record at the end")
	errLengthCRC = errors.New("length CRC mismatch")
	errDataCRC   = errors.New("data CRC mismatch")
)

// readRecords splits a TFRecord file into its records' data, checking both masked CRCs. A file
// that ends inside a record returns the whole records before it and an error wrapping errTorn.
func readRecords(b []byte) ([][]byte, error) {
	var recs [][]byte
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < 12 {
			return recs, fmt.Errorf("offset %d: %w (%d header bytes)", off, errTorn, len(rest))
		}
		if got, want := maskByHand(crc32cByHand(rest[:8])), binary.LittleEndian.Uint32(rest[8:12]); got != want {
			return recs, fmt.Errorf("offset %d: %w: computed %#08x, stored %#08x", off, errLengthCRC, got, want)
		}
		n := binary.LittleEndian.Uint64(rest[:8])
		if n > uint64(len(rest)-12) || uint64(len(rest)-12)-n < 4 {
			return recs, fmt.Errorf("offset %d: %w (length %d, %d bytes left)", off, errTorn, n, len(rest)-12)
		}
		data := rest[12 : 12+n]
		if got, want := maskByHand(crc32cByHand(data)), binary.LittleEndian.Uint32(rest[12+n:]); got != want {
			return recs, fmt.Errorf("offset %d: %w: computed %#08x, stored %#08x", off, errDataCRC, got, want)
		}
		recs = append(recs, data)
		off += 12 + int(n) + 4
	}
	return recs, nil
}

// The decoded messages. Pointers tell an absent oneof member from a zero one.
type tbEvent struct {
	WallTime      float64
	Step          int64
	FileVersion   *string
	Summary       *tbSummary
	SessionStatus *int64 // session_log.status
}

type tbSummary struct{ Values []tbValue }

type tbValue struct {
	Tag    string
	Simple *float32
	Image  *tbImage
}

type tbImage struct {
	Height, Width, Colorspace int64
	PNG                       []byte
}

// field is one protobuf field: its number, wire type and value.
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64 // varint, fixed32 and fixed64 values
	b   []byte // length-delimited values
}

// parseFields splits a message into fields.
func parseFields(b []byte) ([]field, error) {
	var fs []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.u, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			f.u, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.u = uint64(v)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			return nil, fmt.Errorf("field %d: unexpected wire type %d", num, typ)
		}
		if n < 0 {
			return nil, fmt.Errorf("field %d: %w", num, protowire.ParseError(n))
		}
		b = b[n:]
		fs = append(fs, f)
	}
	return fs, nil
}

// want checks that f has wire type t.
func (f field) want(msg string, t protowire.Type) error {
	if f.typ != t {
		return fmt.Errorf("%s field %d: wire type %d, want %d", msg, f.num, f.typ, t)
	}
	return nil
}

func decodeEvent(b []byte) (tbEvent, error) {
	var e tbEvent
	fs, err := parseFields(b)
	if err != nil {
		return e, fmt.Errorf("Event: %w", err)
	}
	oneofs := 0
	for _, f := range fs {
		switch f.num {
		case 1: // double wall_time
			err = f.want("Event", protowire.Fixed64Type)
			e.WallTime = math.Float64frombits(f.u)
		case 2: // int64 step
			err = f.want("Event", protowire.VarintType)
			e.Step = int64(f.u)
		case 3: // string file_version
			err = f.want("Event", protowire.BytesType)
			s := string(f.b)
			e.FileVersion, oneofs = &s, oneofs+1
		case 5: // Summary summary
			if err = f.want("Event", protowire.BytesType); err == nil {
				var s tbSummary
				s, err = decodeSummary(f.b)
				e.Summary, oneofs = &s, oneofs+1
			}
		case 7: // SessionLog session_log
			if err = f.want("Event", protowire.BytesType); err == nil {
				var st int64
				st, err = decodeSessionLog(f.b)
				e.SessionStatus, oneofs = &st, oneofs+1
			}
		default:
			err = fmt.Errorf("Event: unexpected field %d", f.num)
		}
		if err != nil {
			return e, err
		}
	}
	if oneofs != 1 {
		return e, fmt.Errorf("Event: %d members of oneof what, want 1", oneofs)
	}
	return e, nil
}

func decodeSessionLog(b []byte) (int64, error) {
	fs, err := parseFields(b)
	if err != nil {
		return 0, fmt.Errorf("SessionLog: %w", err)
	}
	var status int64
	for _, f := range fs {
		if f.num != 1 {
			return 0, fmt.Errorf("SessionLog: unexpected field %d", f.num)
		}
		if err := f.want("SessionLog", protowire.VarintType); err != nil {
			return 0, err
		}
		status = int64(f.u)
	}
	return status, nil
}

func decodeSummary(b []byte) (tbSummary, error) {
	var s tbSummary
	fs, err := parseFields(b)
	if err != nil {
		return s, fmt.Errorf("Summary: %w", err)
	}
	for _, f := range fs {
		if f.num != 1 {
			return s, fmt.Errorf("Summary: unexpected field %d", f.num)
		}
		if err := f.want("Summary", protowire.BytesType); err != nil {
			return s, err
		}
		v, err := decodeValue(f.b)
		if err != nil {
			return s, err
		}
		s.Values = append(s.Values, v)
	}
	return s, nil
}

func decodeValue(b []byte) (tbValue, error) {
	var v tbValue
	fs, err := parseFields(b)
	if err != nil {
		return v, fmt.Errorf("Value: %w", err)
	}
	oneofs := 0
	for _, f := range fs {
		switch f.num {
		case 1: // string tag
			err = f.want("Value", protowire.BytesType)
			v.Tag = string(f.b)
		case 2: // float simple_value
			err = f.want("Value", protowire.Fixed32Type)
			x := math.Float32frombits(uint32(f.u))
			v.Simple, oneofs = &x, oneofs+1
		case 4: // Image image
			if err = f.want("Value", protowire.BytesType); err == nil {
				var im tbImage
				im, err = decodeImage(f.b)
				v.Image, oneofs = &im, oneofs+1
			}
		default:
			err = fmt.Errorf("Value: unexpected field %d", f.num)
		}
		if err != nil {
			return v, err
		}
	}
	if oneofs != 1 {
		return v, fmt.Errorf("Value %q: %d members of oneof value, want 1", v.Tag, oneofs)
	}
	return v, nil
}

func decodeImage(b []byte) (tbImage, error) {
	var im tbImage
	fs, err := parseFields(b)
	if err != nil {
		return im, fmt.Errorf("Image: %w", err)
	}
	for _, f := range fs {
		switch f.num {
		case 1: // int32 height
			err = f.want("Image", protowire.VarintType)
			im.Height = int64(int32(f.u))
		case 2: // int32 width
			err = f.want("Image", protowire.VarintType)
			im.Width = int64(int32(f.u))
		case 3: // int32 colorspace
			err = f.want("Image", protowire.VarintType)
			im.Colorspace = int64(int32(f.u))
		case 4: // bytes encoded_image_string
			err = f.want("Image", protowire.BytesType)
			im.PNG = f.b
		default:
			err = fmt.Errorf("Image: unexpected field %d", f.num)
		}
		if err != nil {
			return im, err
		}
	}
	return im, nil
}

// decodeBytes decodes a whole event file; a torn end is an error.
func decodeBytes(b []byte) ([]tbEvent, error) {
	recs, err := readRecords(b)
	if err != nil {
		return nil, err
	}
	evs := make([]tbEvent, len(recs))
	for i, r := range recs {
		if evs[i], err = decodeEvent(r); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
	}
	return evs, nil
}

func decodeFile(path string) ([]tbEvent, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	evs, err := decodeBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return evs, nil
}
