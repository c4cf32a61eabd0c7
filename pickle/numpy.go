package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// NumpyDType is a numpy.dtype as pickles carry it: numpy.dtype(code, align, copy) and then BUILD
// with a state tuple whose second item is the byte order.
type NumpyDType struct {
	Code  string // "f8", "i4", "b1", ...
	Order string // "<" little-endian, ">" big-endian, "|" not applicable, "=" native
}

// Build takes the byte order from numpy's state tuple (version, order, ...).
func (d *NumpyDType) Build(state any) error {
	t, ok := state.(Tuple)
	if !ok || len(t) < 2 {
		return errors.New("numpy dtype state is not a tuple (version, byte order, ...)")
	}
	o, ok := t[1].(string)
	if !ok {
		return errors.New("numpy dtype byte order is not a str")
	}
	d.Order = o
	return nil
}

func numpyDType(c *Call) (any, error) {
	if len(c.Args) < 1 {
		return nil, errors.New("called without a type code")
	}
	code, ok := c.Args[0].(string)
	if !ok {
		return nil, fmt.Errorf("called with a %s, not a type code", TypeName(c.Args[0]))
	}
	if len(code) > 16 {
		return nil, fmt.Errorf("type code %s is not a numpy scalar type", cleanName(code))
	}
	return &NumpyDType{Code: code, Order: "="}, nil
}

// NumpyScalar is a numpy scalar (numpy.float64(0.25), as NVlabs' modules keep weight gains):
// its dtype and raw bytes, decoded by Value, never run.
type NumpyScalar struct {
	DType *NumpyDType
	Data  []byte // the raw element; nil for object scalars
	Obj   any    // an object scalar's value
}

func numpyScalar(c *Call) (any, error) {
	if len(c.Args) < 1 || len(c.Args) > 2 {
		return nil, fmt.Errorf("called with %d arguments", len(c.Args))
	}
	dt, ok := c.Args[0].(*NumpyDType)
	if !ok {
		return nil, fmt.Errorf("a scalar of a %s, not a numpy dtype", TypeName(c.Args[0]))
	}
	s := &NumpyScalar{DType: dt}
	if len(c.Args) == 2 {
		switch v := c.Args[1].(type) {
		case []byte:
			s.Data = v
		default:
			s.Obj = v
		}
	}
	return s, nil
}

// Value decodes the scalar: float64 for f2/f4/f8, int64 for i1-i8 and u1-u4 (and u8 below
// 2^63), bool for b1.
func (s *NumpyScalar) Value() (any, error) {
	code := s.DType.Code
	if s.Data == nil || len(code) < 2 {
		return nil, fmt.Errorf("a numpy scalar of dtype %s is not a plain value", cleanName(code))
	}
	var n int
	if _, err := fmt.Sscanf(code[1:], "%d", &n); err != nil || n != len(s.Data) || fmt.Sprintf("%c%d", code[0], n) != code {
		return nil, fmt.Errorf("a numpy scalar of dtype %s holds %d bytes", cleanName(code), len(s.Data))
	}
	var order binary.ByteOrder = binary.LittleEndian
	if s.DType.Order == ">" {
		order = binary.BigEndian
	}
	var u uint64
	switch n {
	case 1:
		u = uint64(s.Data[0])
	case 2:
		u = uint64(order.Uint16(s.Data))
	case 4:
		u = uint64(order.Uint32(s.Data))
	case 8:
		u = order.Uint64(s.Data)
	default:
		return nil, fmt.Errorf("a numpy scalar of dtype %s is not read", cleanName(code))
	}
	switch code[0] {
	case 'f':
		switch n {
		case 2:
			return halfToFloat(uint16(u)), nil
		case 4:
			return float64(math.Float32frombits(uint32(u))), nil
		case 8:
			return math.Float64frombits(u), nil
		}
	case 'i':
		shift := 64 - 8*uint(n)
		return int64(u<<shift) >> shift, nil
	case 'u':
		if u > math.MaxInt64 {
			return nil, errors.New("a numpy uint64 beyond int64")
		}
		return int64(u), nil
	case 'b':
		if n == 1 {
			return u != 0, nil
		}
	}
	return nil, fmt.Errorf("a numpy scalar of dtype %s is not read", cleanName(code))
}
