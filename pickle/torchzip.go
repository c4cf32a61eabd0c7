package pickle

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
)

// ReadTorch decodes a file written by torch.save (or by sgan, which writes the same format): the
// zip format of PyTorch 1.6 and later (ReadTorchZip) or the legacy one (ReadTorchLegacy). Tensors
// in the result are *Tensor values whose storages alias b where the file stores them as they are.
// A nil g means TorchGlobals().
func ReadTorch(b []byte, g Globals) (any, error) {
	if bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte("PK\x05\x06")) {
		return ReadTorchZip(b, g)
	}
	return ReadTorchLegacy(b, g)
}

// ReadTorchZip decodes the zip format of torch.save: "<name>/data.pkl" is a pickle whose
// persistent ids ('storage', torch.FloatStorage, key, location, numel) name the storages, each the
// entry "<name>/data/<key>"; "<name>/byteorder", when there, says whether they are little- or
// big-endian (big-endian ones are swapped to little-endian copies).
//
// Entries stored uncompressed, as torch.save writes them, are read in place (their CRC is checked);
// deflated ones are inflated within MaxEntryBytes each and MaxInflateRatio times the file's size
// plus InflateSlack in all. More than MaxZipEntries entries, a missing or duplicate entry, and a
// storage whose size is not what its persistent id says are errors. A nil g means TorchGlobals().
func ReadTorchZip(b []byte, g Globals) (any, error) {
	if g == nil {
		g = torchGlobals
	}
	// archive/zip makes a File for every central directory header it finds; each starts with this
	// signature, so counting them bounds that memory before it is spent.
	if n := bytes.Count(b, []byte("PK\x01\x02")); n > MaxZipEntries {
		return nil, limitErr(fmt.Sprintf("a zip of up to %d entries", n), "MaxZipEntries", MaxZipEntries)
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) { // names are only looked up, never paths
		return nil, fmt.Errorf("not a torch.save zip file (%v)", err)
	}
	z := &zipFile{b: b, files: map[string]*zip.File{}, cache: map[string][]byte{},
		budget: MaxInflateRatio*int64(len(b)) + InflateSlack}
	var pkls []string
	for _, f := range zr.File {
		if _, dup := z.files[f.Name]; dup {
			return nil, fmt.Errorf("the zip holds the entry %s twice", cleanName(f.Name))
		}
		z.files[f.Name] = f
		if dir, ok := strings.CutSuffix(f.Name, "/data.pkl"); ok && !strings.Contains(dir, "/") {
			pkls = append(pkls, f.Name)
		}
	}
	switch len(pkls) {
	case 0:
		return nil, errors.New("a zip without <name>/data.pkl: not a torch.save file")
	case 1:
	default:
		return nil, fmt.Errorf("a zip with %d data.pkl records (%s, %s): not a torch.save file", len(pkls), cleanName(pkls[0]), cleanName(pkls[1]))
	}
	prefix := strings.TrimSuffix(pkls[0], "data.pkl")
	pkl, err := z.entry(pkls[0])
	if err != nil {
		return nil, err
	}
	bigEndian := false
	if _, ok := z.files[prefix+"byteorder"]; ok {
		bo, err := z.entry(prefix + "byteorder")
		if err != nil {
			return nil, err
		}
		switch string(bo) {
		case "little":
		case "big":
			bigEndian = true
		default:
			return nil, fmt.Errorf("byteorder record %s is neither little nor big", cleanName(string(bo)))
		}
	}
	type sk struct {
		key   string
		dtype DType
	}
	storages := map[sk]*Storage{}
	persistent := func(pid any) (any, error) {
		t, ok := pid.(Tuple)
		if !ok || len(t) != 5 || t[0] != "storage" {
			return nil, errors.New("a persistent id that is not ('storage', type, key, location, numel)")
		}
		dt, err := storageDType(t[1])
		if err != nil {
			return nil, err
		}
		key, ok1 := t[2].(string)
		loc, ok2 := t[3].(string)
		n, ok3 := t[4].(int64)
		if !ok1 || !ok2 || !ok3 {
			return nil, errors.New("a storage persistent id whose key, location or numel has the wrong type")
		}
		if st, ok := storages[sk{key, dt}]; ok {
			return st, nil
		}
		name := prefix + "data/" + key
		if _, ok := z.files[name]; !ok {
			return nil, fmt.Errorf("the zip entry %s of a storage is missing", cleanName(name))
		}
		raw, err := z.entry(name)
		if err != nil {
			return nil, err
		}
		es := int64(dt.Size())
		if n < 0 || n > int64(len(raw))/es || n*es != int64(len(raw)) {
			return nil, fmt.Errorf("storage %s holds %d bytes, not the %d %v elements its persistent id says", cleanName(name), len(raw), n, dt)
		}
		if bigEndian && dt.swapUnit() > 1 {
			if raw, err = z.swapped(raw, dt.swapUnit()); err != nil {
				return nil, err
			}
		}
		st := &Storage{Key: name, DType: dt, Location: loc, Data: raw}
		storages[sk{key, dt}] = st
		return st, nil
	}
	return Unpickle(pkl, Options{Globals: g, Persistent: persistent})
}

type zipFile struct {
	b      []byte
	files  map[string]*zip.File
	cache  map[string][]byte
	budget int64 // bytes that may still be inflated or copied
}

// entry returns an entry's bytes: in place for a stored entry, inflated for a deflated one.
func (z *zipFile) entry(name string) ([]byte, error) {
	if b, ok := z.cache[name]; ok {
		return b, nil
	}
	f := z.files[name]
	if f.UncompressedSize64 > MaxEntryBytes {
		return nil, limitErr(fmt.Sprintf("zip entry %s of %d bytes", cleanName(name), f.UncompressedSize64), "MaxEntryBytes", MaxEntryBytes)
	}
	var data []byte
	switch f.Method {
	case zip.Store:
		off, err := f.DataOffset()
		if err != nil {
			return nil, fmt.Errorf("zip entry %s: %v", cleanName(name), err)
		}
		n := f.CompressedSize64
		if n != f.UncompressedSize64 || off < 0 || uint64(off) > uint64(len(z.b)) || n > uint64(len(z.b))-uint64(off) {
			return nil, fmt.Errorf("zip entry %s does not lie inside the file", cleanName(name))
		}
		data = z.b[off : off+int64(n) : off+int64(n)]
		if f.CRC32 != 0 && crc32.ChecksumIEEE(data) != f.CRC32 {
			return nil, fmt.Errorf("zip entry %s is damaged (its checksum does not match)", cleanName(name))
		}
	case zip.Deflate:
		n := int64(f.UncompressedSize64)
		if n > z.budget {
			return nil, fmt.Errorf("zip entry %s inflates %d bytes from %d: %w", cleanName(name), n, f.CompressedSize64,
				limitErr("the bytes inflated from the file", "MaxInflateRatio", MaxInflateRatio))
		}
		z.budget -= n
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("zip entry %s: %v", cleanName(name), err)
		}
		defer rc.Close()
		data = make([]byte, n)
		if _, err := io.ReadFull(rc, data); err != nil {
			return nil, fmt.Errorf("zip entry %s: %v", cleanName(name), err)
		}
		// archive/zip checks the size and checksum when the entry ends.
		if k, err := rc.Read(make([]byte, 1)); k != 0 || err != io.EOF {
			return nil, fmt.Errorf("zip entry %s is damaged (longer than it says, or its checksum does not match)", cleanName(name))
		}
	default:
		return nil, fmt.Errorf("zip entry %s uses compression method %d; torch.save stores entries", cleanName(name), f.Method)
	}
	z.cache[name] = data
	return data, nil
}

// swapped returns a copy of data with every unit of the given size byte-reversed.
func (z *zipFile) swapped(data []byte, unit int) ([]byte, error) {
	if int64(len(data)) > z.budget {
		return nil, limitErr("the bytes copied to swap a big-endian file", "MaxInflateRatio", MaxInflateRatio)
	}
	z.budget -= int64(len(data))
	out := make([]byte, len(data))
	for i := 0; i+unit <= len(data); i += unit {
		for j := 0; j < unit; j++ {
			out[i+j] = data[i+unit-1-j]
		}
	}
	return out, nil
}
