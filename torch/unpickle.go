package torch

// #include "shim.h"
import "C"

import (
	"fmt"
	"math"
	"math/big"
	"unsafe"

	"sgan/pickle"
)

// Reading torch.save files is done by package pickle, in pure Go: a pickle VM that resolves
// globals through an allow-list (never running anything from the file) and bounds every size,
// depth and allocation a file declares. libtorch's own C++ unpickler is not used: in 1.13 it lacks
// pickle's SETITEM opcode (any one-entry dict) and turns an OrderedDict (every
// model.state_dict()) into None. This file only turns the tensors' bytes into libtorch tensors.

var dtypeOfPickle = map[pickle.DType]DType{
	pickle.Float32: Float32, pickle.Float64: Float64, pickle.Int64: Int64, pickle.Int32: Int32,
	pickle.Uint8: Uint8, pickle.Bool: Bool, pickle.Float16: Float16, pickle.BFloat16: BFloat16,
}

// readTorchFile decodes a torch.save file (zip or legacy) of a (nested) dict into an archive:
// nested dict keys joined with '/', tensors materialized contiguous on the CPU (unowned), strings,
// ints (bools as 0/1) and floats (ints beyond int64 too); lists, tuples, None and other values
// carry nothing sgan reads.
func readTorchFile(b []byte) (*Archive, error) {
	root, err := pickle.ReadTorch(b, nil)
	if err != nil {
		return nil, err
	}
	leaves, err := pickle.Flatten(root, "/")
	if err != nil {
		return nil, err
	}
	a := NewArchive()
	for _, l := range leaves {
		switch x := l.Value.(type) {
		case *pickle.Tensor:
			dt, ok := dtypeOfPickle[x.DType]
			if !ok {
				a.Free()
				return nil, fmt.Errorf("%s: sgan has no %v tensors", l.Key, x.DType)
			}
			raw, err := x.Bytes()
			if err != nil {
				a.Free()
				return nil, fmt.Errorf("%s: %w", l.Key, err)
			}
			h, err := fromBytes(raw, dt, x.Shape)
			if err != nil {
				a.Free()
				return nil, fmt.Errorf("%s: %w", l.Key, err)
			}
			a.Tensors[l.Key] = &Tensor{h: h}
		case string:
			a.Strings[l.Key] = x
		case int64:
			a.Ints[l.Key] = x
		case bool:
			if x {
				a.Ints[l.Key] = 1
			} else {
				a.Ints[l.Key] = 0
			}
		case float64:
			a.Floats[l.Key] = x
		case *big.Int:
			a.Floats[l.Key], _ = new(big.Float).SetInt(x).Float64()
		}
	}
	return a, nil
}

// FromPickle materializes a tensor read by package pickle as a contiguous CPU tensor (in the
// current scope).
func FromPickle(t *pickle.Tensor) (*Tensor, error) {
	dt, ok := dtypeOfPickle[t.DType]
	if !ok {
		return nil, fmt.Errorf("sgan has no %v tensors", t.DType)
	}
	raw, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	return FromBytes(raw, dt, t.Shape...)
}

// FromBytes copies little-endian elements of dtype dt into a new CPU tensor of the given shape
// (in the current scope). len(data) must be the shape's elements times the dtype's size.
func FromBytes(data []byte, dt DType, shape ...int64) (*Tensor, error) {
	h, err := fromBytes(data, dt, shape)
	if err != nil {
		return nil, err
	}
	return wrap(h), nil
}

var dtypeBytes = map[DType]int64{Float32: 4, Float64: 8, Int64: 8, Int32: 4, Uint8: 1, Bool: 1, Float16: 2, BFloat16: 2}

func fromBytes(data []byte, dt DType, shape []int64) (C.sg_tensor, error) {
	es, ok := dtypeBytes[dt]
	if !ok {
		return nil, fmt.Errorf("from bytes: unknown dtype %v", dt)
	}
	n := int64(1)
	for _, s := range shape {
		if s < 0 || (s > 0 && n > math.MaxInt64/es/s) {
			return nil, fmt.Errorf("from bytes: bad shape %v", shape)
		}
		n *= s
	}
	if n*es != int64(len(data)) {
		return nil, fmt.Errorf("from bytes: %d bytes are not the %d %v elements of shape %v", len(data), n, dt, shape)
	}
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
		// The bytes may come straight from a file (a zip entry at any offset); libtorch's copy
		// kernels may assume aligned elements.
		if uintptr(p)%uintptr(es) != 0 {
			buf := make([]uint64, (len(data)+7)/8)
			p = unsafe.Pointer(&buf[0])
			copy(unsafe.Slice((*byte)(p), len(data)), data)
		}
	}
	var out C.sg_tensor
	if err := errOf("from bytes", C.sg_from_data(p, ptr64(shape), C.int(len(shape)), C.int(dt), &out)); err != nil {
		return nil, err
	}
	return out, nil
}
