package pickle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// DType is a tensor's element type.
type DType uint8

// Element types, named as torch names them.
const (
	Float32 DType = iota + 1
	Float64
	Float16
	BFloat16
	Int64
	Int32
	Int16
	Int8
	Uint8
	Bool
	Complex64
	Complex128
)

var dtypeInfo = [...]struct {
	name string
	size int
}{
	Float32: {"float32", 4}, Float64: {"float64", 8}, Float16: {"float16", 2}, BFloat16: {"bfloat16", 2},
	Int64: {"int64", 8}, Int32: {"int32", 4}, Int16: {"int16", 2}, Int8: {"int8", 1}, Uint8: {"uint8", 1},
	Bool: {"bool", 1}, Complex64: {"complex64", 8}, Complex128: {"complex128", 16},
}

func (d DType) String() string {
	if int(d) < len(dtypeInfo) && dtypeInfo[d].name != "" {
		return dtypeInfo[d].name
	}
	return fmt.Sprintf("dtype(%d)", int(d))
}

// Size is the bytes of one element (0 for an invalid DType).
func (d DType) Size() int {
	if int(d) < len(dtypeInfo) {
		return dtypeInfo[d].size
	}
	return 0
}

// swapUnit is the size of the units a big-endian file byte-swaps: a complex number's parts.
func (d DType) swapUnit() int {
	if d == Complex64 || d == Complex128 {
		return d.Size() / 2
	}
	return d.Size()
}

// storageTypes are the storage classes of torch.save's persistent ids.
var storageTypes = map[string]DType{
	"FloatStorage": Float32, "DoubleStorage": Float64, "HalfStorage": Float16, "BFloat16Storage": BFloat16,
	"LongStorage": Int64, "IntStorage": Int32, "ShortStorage": Int16, "CharStorage": Int8,
	"ByteStorage": Uint8, "BoolStorage": Bool, "ComplexFloatStorage": Complex64,
	"ComplexDoubleStorage": Complex128, "UntypedStorage": Uint8,
}

// torchDTypes are the names of torch's dtypes, which pickles may name (never call).
var torchDTypes = map[string]DType{
	"float32": Float32, "float": Float32, "float64": Float64, "double": Float64, "float16": Float16,
	"half": Float16, "bfloat16": BFloat16, "int64": Int64, "long": Int64, "int32": Int32, "int": Int32,
	"int16": Int16, "short": Int16, "int8": Int8, "uint8": Uint8, "bool": Bool, "complex64": Complex64,
	"complex128": Complex128, "cfloat": Complex64, "cdouble": Complex128,
}

// storageDType is the element type of a storage class named in a persistent id.
func storageDType(v any) (DType, error) {
	g, ok := v.(Global)
	if !ok || g.Module != "torch" {
		return 0, fmt.Errorf("a storage of type %s, not a torch storage class", TypeName(v))
	}
	dt, ok := storageTypes[g.Name]
	if !ok {
		return 0, fmt.Errorf("storage type %s is not read", g)
	}
	return dt, nil
}

// Storage is a tensor storage: its elements as little-endian bytes (a big-endian file's are
// swapped when read).
type Storage struct {
	Key      string // its name in the file (a zip entry's, or the legacy format's key)
	DType    DType
	Location string // where it was saved from: "cpu", "cuda:0", ...
	// Data is whole elements. It may alias the file's bytes: treat it as read-only.
	Data []byte
}

// Numel is the number of elements.
func (s *Storage) Numel() int64 {
	if es := s.DType.Size(); es > 0 {
		return int64(len(s.Data) / es)
	}
	return 0
}

// Tensor is a torch tensor: a strided view of a storage. A Tensor from Unpickle is as the file
// declares it; Check (which Bytes calls) proves that its view lies inside its storage and has no
// more elements than the storage.
type Tensor struct {
	DType        DType
	Shape        []int64
	Stride       []int64 // in elements
	Offset       int64   // the first element's index in the storage
	Storage      *Storage
	RequiresGrad bool
	Parameter    bool // saved as a torch.nn.Parameter
}

// Numel is the number of elements (the product of the shape; 0 for a shape Check refuses).
func (t *Tensor) Numel() int64 {
	n, err := numel(t.Shape)
	if err != nil {
		return 0
	}
	return n
}

func numel(shape []int64) (int64, error) {
	n := int64(1)
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("negative size %d", s)
		}
		if s != 0 && n > math.MaxInt64/s {
			return 0, errors.New("more elements than an int64 counts")
		}
		n *= s
	}
	return n, nil
}

// Check reports whether the tensor is one sgan can read: at most MaxTensorDims dimensions, sizes,
// strides and offset not negative, every element it views inside its storage, and no more
// elements than its storage holds unless it is at most MaxExpandedBytes (an expanded view, such
// as a stride-0 tensor of 2^28 elements over one float, would otherwise cost far more memory than
// the file).
func (t *Tensor) Check() error {
	if t.Storage == nil {
		return errors.New("tensor without a storage")
	}
	if t.DType != t.Storage.DType || t.DType.Size() == 0 {
		return fmt.Errorf("tensor of dtype %v over a storage of %v", t.DType, t.Storage.DType)
	}
	if len(t.Shape) != len(t.Stride) {
		return fmt.Errorf("tensor of shape %v has strides %v", t.Shape, t.Stride)
	}
	if len(t.Shape) > MaxTensorDims {
		return limitErr(fmt.Sprintf("a tensor of %d dimensions", len(t.Shape)), "MaxTensorDims", MaxTensorDims)
	}
	n, err := numel(t.Shape)
	if err != nil {
		return fmt.Errorf("tensor of shape %v: %v", t.Shape, err)
	}
	have := t.Storage.Numel()
	if t.Offset < 0 {
		return fmt.Errorf("tensor at negative storage offset %d", t.Offset)
	}
	if n > have {
		// An expanded view (stride 0), as autograd's gradient of a sum is: it costs more memory
		// than the file holds, so only small ones are read.
		es := int64(t.DType.Size())
		if n > MaxExpandedBytes/es {
			return fmt.Errorf("tensor of shape %v has %d elements but its storage %s only %d: an expanded view (stride 0) of %d bytes: %w",
				t.Shape, n, cleanName(t.Storage.Key), have, uint64(n)*uint64(es), limitErr("an expanded view", "MaxExpandedBytes", MaxExpandedBytes))
		}
	}
	if n == 0 {
		if t.Offset > have {
			return fmt.Errorf("empty tensor at offset %d past its storage %s of %d elements", t.Offset, cleanName(t.Storage.Key), have)
		}
		return nil
	}
	last := t.Offset
	for i, s := range t.Shape {
		st := t.Stride[i]
		if st < 0 {
			return fmt.Errorf("tensor with negative stride %v", t.Stride)
		}
		if st != 0 && s-1 > (math.MaxInt64-last)/st {
			return fmt.Errorf("tensor of shape %v, stride %v reaches past any storage", t.Shape, t.Stride)
		}
		last += (s - 1) * st
	}
	if last >= have {
		return fmt.Errorf("tensor of shape %v, stride %v at offset %d reaches element %d of its storage %s, which has %d",
			t.Shape, t.Stride, t.Offset, last, cleanName(t.Storage.Key), have)
	}
	return nil
}

// Bytes returns the tensor's elements in row-major (C) order as little-endian bytes. For a
// contiguous view it is a slice of the storage's bytes (read-only), otherwise a copy of at most
// the storage's size.
func (t *Tensor) Bytes() ([]byte, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	es := int64(t.DType.Size())
	n := t.Numel()
	data := t.Storage.Data
	if n == 0 {
		return []byte{}, nil
	}
	if t.contiguous() {
		return data[t.Offset*es : (t.Offset+n)*es : (t.Offset+n)*es], nil
	}
	nd := len(t.Shape)
	out := make([]byte, n*es)
	inner, istr := t.Shape[nd-1], t.Stride[nd-1]
	idx := make([]int64, nd-1)
	pos, base := int64(0), t.Offset
	for {
		if istr == 1 {
			copy(out[pos:], data[base*es:(base+inner)*es])
			pos += inner * es
		} else {
			for j := int64(0); j < inner; j++ {
				e := (base + j*istr) * es
				copy(out[pos:pos+es], data[e:e+es])
				pos += es
			}
		}
		k := nd - 2
		for ; k >= 0; k-- {
			idx[k]++
			base += t.Stride[k]
			if idx[k] < t.Shape[k] {
				break
			}
			base -= t.Stride[k] * t.Shape[k]
			idx[k] = 0
		}
		if k < 0 {
			return out, nil
		}
	}
}

// contiguous reports whether the view is row-major without gaps (dimensions of size 1 may have
// any stride).
func (t *Tensor) contiguous() bool {
	want := int64(1)
	for i := len(t.Shape) - 1; i >= 0; i-- {
		if t.Shape[i] != 1 && t.Stride[i] != want {
			return false
		}
		want *= t.Shape[i]
	}
	return true
}

// Float64s returns the elements in row-major order converted to float64 (any real dtype).
func (t *Tensor) Float64s() ([]float64, error) {
	b, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	es := t.DType.Size()
	out := make([]float64, len(b)/es)
	for i := range out {
		e := b[i*es : (i+1)*es]
		switch t.DType {
		case Float32:
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(e)))
		case Float64:
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(e))
		case Float16:
			out[i] = halfToFloat(binary.LittleEndian.Uint16(e))
		case BFloat16:
			out[i] = float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(e)) << 16))
		case Int64:
			out[i] = float64(int64(binary.LittleEndian.Uint64(e)))
		case Int32:
			out[i] = float64(int32(binary.LittleEndian.Uint32(e)))
		case Int16:
			out[i] = float64(int16(binary.LittleEndian.Uint16(e)))
		case Int8:
			out[i] = float64(int8(e[0]))
		case Uint8, Bool:
			out[i] = float64(e[0])
		default:
			return nil, fmt.Errorf("a %v tensor has no float64 values", t.DType)
		}
	}
	return out, nil
}

func halfToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1f), float64(h&0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}

func shapeOf(v any, what string) ([]int64, error) {
	t, ok := v.(Tuple)
	if !ok {
		return nil, fmt.Errorf("%s is a %s, not a tuple", what, TypeName(v))
	}
	if len(t) > MaxTensorDims {
		return nil, limitErr(fmt.Sprintf("a tensor of %d dimensions", len(t)), "MaxTensorDims", MaxTensorDims)
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, fmt.Errorf("%s holds a %s", what, TypeName(x))
		}
		out[i] = n
	}
	return out, nil
}

// rebuildTensor is torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
// requires_grad, backward_hooks[, metadata]) and the older _rebuild_tensor (the first four).
func rebuildTensor(c *Call) (any, error) {
	a := c.Args
	if len(a) < 4 || len(a) > 7 {
		return nil, fmt.Errorf("called with %d arguments", len(a))
	}
	st, ok := a[0].(*Storage)
	if !ok {
		return nil, fmt.Errorf("a tensor over a %s, not a storage", TypeName(a[0]))
	}
	off, ok := a[1].(int64)
	if !ok {
		return nil, fmt.Errorf("a storage offset that is a %s", TypeName(a[1]))
	}
	size, err := shapeOf(a[2], "the size")
	if err != nil {
		return nil, err
	}
	stride, err := shapeOf(a[3], "the stride")
	if err != nil {
		return nil, err
	}
	t := &Tensor{DType: st.DType, Shape: size, Stride: stride, Offset: off, Storage: st}
	if len(a) > 4 {
		t.RequiresGrad, _ = a[4].(bool)
	}
	return t, nil
}

// rebuildParameter is torch._utils._rebuild_parameter(data, requires_grad, backward_hooks) and
// _rebuild_parameter_with_state (with a state after them).
func rebuildParameter(c *Call) (any, error) {
	if len(c.Args) < 1 {
		return nil, errors.New("called without data")
	}
	t, ok := c.Args[0].(*Tensor)
	if !ok {
		return nil, fmt.Errorf("a parameter of a %s, not a tensor", TypeName(c.Args[0]))
	}
	p := *t
	p.Parameter = true
	if len(c.Args) > 1 {
		p.RequiresGrad, _ = c.Args[1].(bool)
	}
	return &p, nil
}

// torchSize is torch.Size(tuple): the tuple.
func torchSize(c *Call) (any, error) {
	if len(c.Args) == 0 {
		return Tuple{}, nil
	}
	t, ok := c.Args[0].(Tuple)
	if !ok || len(c.Args) != 1 {
		return nil, errors.New("called without one tuple")
	}
	return t, nil
}
