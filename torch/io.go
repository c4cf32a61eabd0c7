package torch

// #include <stdlib.h>
// #include "shim.h"
import "C"

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"unsafe"

	"sgan/internal/safefile"
	"sgan/pickle"
)

// Archive is what a checkpoint file holds: named tensors, strings, integers and floats. It is
// written in the format of Python's torch.save (a zip with a pickled dict); keys containing '/'
// become nested dicts, so {"generator/mapping.fc0.weight": t} loads in Python as
// ckpt["generator"]["mapping.fc0.weight"].
type Archive struct {
	Tensors map[string]*Tensor
	Strings map[string]string
	Ints    map[string]int64
	Floats  map[string]float64
}

// NewArchive returns an empty archive.
func NewArchive() *Archive {
	return &Archive{Tensors: map[string]*Tensor{}, Strings: map[string]string{}, Ints: map[string]int64{}, Floats: map[string]float64{}}
}

// Marshal encodes the archive in torch.save's format. Tensors are written from the CPU so the
// file loads anywhere.
func (a *Archive) Marshal() ([]byte, error) {
	var entries []C.sg_entry
	var cstrs []*C.char
	defer func() {
		for _, p := range cstrs {
			C.free(unsafe.Pointer(p))
		}
	}()
	cs := func(s string) *C.char {
		p := C.CString(s)
		cstrs = append(cstrs, p)
		return p
	}
	var tmp []*Tensor
	defer func() { FreeAll(tmp...) }()
	for _, k := range sortedKeys(a.Tensors) {
		t := a.Tensors[k]
		var cpu *Tensor
		NoGrad(func() { cpu = t.Detach().ToDevice(CPU, false) })
		cpu.Keep()
		tmp = append(tmp, cpu)
		entries = append(entries, C.sg_entry{key: cs(k), kind: 0, tensor: cpu.handle()})
	}
	for _, k := range sortedKeys(a.Strings) {
		entries = append(entries, C.sg_entry{key: cs(k), kind: 1, str: cs(a.Strings[k])})
	}
	for _, k := range sortedKeys(a.Ints) {
		entries = append(entries, C.sg_entry{key: cs(k), kind: 2, i: C.int64_t(a.Ints[k])})
	}
	for _, k := range sortedKeys(a.Floats) {
		entries = append(entries, C.sg_entry{key: cs(k), kind: 3, f: C.double(a.Floats[k])})
	}
	var buf *C.char
	var n C.int64_t
	var ep *C.sg_entry
	if len(entries) > 0 {
		ep = &entries[0]
	}
	if err := errOf("save", C.sg_pickle_save(ep, C.int(len(entries)), &buf, &n)); err != nil {
		return nil, err
	}
	defer C.sg_buf_free(buf)
	view, err := cBytes(unsafe.Pointer(buf), int64(n))
	if err != nil {
		return nil, fmt.Errorf("save: %w", err)
	}
	return bytes.Clone(view), nil
}

// cBytes views n bytes of C memory as a Go slice (copy it before the memory is freed). The length
// is an int64 all the way: C.GoBytes takes a C.int, which truncated archives of 2 GiB or more.
func cBytes(p unsafe.Pointer, n int64) ([]byte, error) {
	if n < 0 || (n > 0 && p == nil) {
		return nil, fmt.Errorf("bad buffer of %d bytes", n)
	}
	if n == 0 {
		return []byte{}, nil
	}
	return unsafe.Slice((*byte)(p), n), nil
}

// UnmarshalArchive decodes bytes written by Marshal or by Python's torch.save of a (nested)
// dict of tensors, strings and numbers. The tensors are unowned (call Free, or Archive.Free).
// Nothing in the bytes is run (package pickle reads them), and hostile bytes give an error, within
// pickle's limits.
func UnmarshalArchive(b []byte) (*Archive, error) {
	if len(b) == 0 {
		return nil, errors.New("empty data")
	}
	return readTorchFile(b)
}

// Free releases the archive's tensors.
func (a *Archive) Free() {
	for _, t := range a.Tensors {
		t.Free()
	}
}

// SaveArchive writes the archive to path atomically: a temp file in the same folder, fsync,
// rename. A crash or a full disk leaves any earlier file at path untouched.
func SaveArchive(path string, a *Archive) error {
	b, err := a.Marshal()
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	return safefile.Write(path, b)
}

// LoadArchive reads a file written by SaveArchive or torch.save.
func LoadArchive(path string) (*Archive, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	a, err := UnmarshalArchive(b)
	if err != nil {
		var fe *pickle.ForbiddenError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("refusing %s: %w", path, fe)
		}
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return a, nil
}

// Save writes a name -> tensor map (a state dict) to path atomically.
func Save(path string, tensors map[string]*Tensor) error {
	a := NewArchive()
	a.Tensors = tensors
	return SaveArchive(path, a)
}

// Load reads a name -> tensor map written by Save or by Python's torch.save(dict).
func Load(path string) (map[string]*Tensor, error) {
	a, err := LoadArchive(path)
	if err != nil {
		return nil, err
	}
	return a.Tensors, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
