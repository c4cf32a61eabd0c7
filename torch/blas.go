package torch

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
)

// BLAS names the BLAS library that libtorch's CPU matrix products (linear layers, matmul) run on
// in this process. Debian's libtorch links libblas.so.3, which Debian's alternatives system
// points at one of several implementations: the reference BLAS (package libblas3, 20-35x slower
// on a 512x512 linear layer), OpenBLAS, BLIS, ATLAS. Official libtorch builds link MKL into
// libtorch itself, so that no BLAS library is loaded on its own.
type BLAS struct {
	// Name is "reference BLAS", "OpenBLAS (pthread)", "OpenBLAS (openmp)", "BLIS (pthread)",
	// "ATLAS", "MKL", ..., or "" when no BLAS library is loaded.
	Name string
	// Path is the library file loaded, symlinks resolved ("" when none is loaded).
	Path string
}

// Reference reports whether b is the slow reference (Netlib) BLAS.
func (b BLAS) Reference() bool { return b.Name == referenceBLAS }

// String is "<Name> at <Path>", or a sentence saying that no BLAS library is loaded.
func (b BLAS) String() string {
	if b.Name == "" {
		return "no BLAS library loaded (linked into libtorch, e.g. MKL in official builds)"
	}
	return b.Name + " at " + b.Path
}

const referenceBLAS = "reference BLAS"

// LoadedBLAS reports the BLAS library mapped into this process, read from /proc/self/maps (Linux;
// elsewhere it reports none). The kernel lists mapped files by their real paths, so the
// alternatives symlinks (/usr/lib/<arch>/libblas.so.3 -> /etc/alternatives/... ->
// /usr/lib/<arch>/openblas-pthread/libblas.so.3) are already resolved there.
func LoadedBLAS() BLAS {
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return BLAS{}
	}
	return blasFromMaps(maps)
}

// BLASLibrary is LoadedBLAS().String(), e.g. "OpenBLAS (pthread) at
// /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", for `sgan --version` and `sgan bench`.
func BLASLibrary() string { return LoadedBLAS().String() }

// blasFromMaps picks the BLAS out of the mapped files listed in a /proc/<pid>/maps. The library
// that answers to libblas.so.3 comes first: it is the one Debian's libtorch calls. Otherwise the
// first known BLAS library is reported.
func blasFromMaps(maps []byte) BLAS {
	var libblas, other string
	sc := bufio.NewScanner(bytes.NewReader(maps))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		// address perms offset dev inode pathname; the path may contain spaces.
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") {
			continue
		}
		path := strings.TrimSuffix(strings.Join(fields[5:], " "), " (deleted)")
		base := filepath.Base(path)
		switch {
		case libblas == "" && strings.HasPrefix(base, "libblas.so"):
			libblas = path
		case other == "" && blasKind(path) != "":
			other = path
		}
	}
	for _, p := range []string{libblas, other} {
		if p != "" {
			return BLAS{Name: blasName(p), Path: p}
		}
	}
	return BLAS{}
}

// blasKind names the implementation that a BLAS library's file name gives away, or "".
func blasKind(path string) string {
	base := filepath.Base(path)
	switch {
	case strings.HasPrefix(base, "libmkl_"):
		return "MKL"
	case strings.HasPrefix(base, "libopenblas"):
		return "OpenBLAS"
	case strings.HasPrefix(base, "libblis"):
		return "BLIS"
	case strings.HasPrefix(base, "libatlas") || strings.HasPrefix(base, "libsatlas") || strings.HasPrefix(base, "libtatlas"):
		return "ATLAS"
	case strings.HasPrefix(base, "libflexiblas"):
		return "FlexiBLAS"
	}
	return ""
}

// blasName names the implementation behind a BLAS library file. Debian installs each
// implementation of libblas.so.3 in its own folder: blas/ (reference), openblas-pthread/,
// openblas-openmp/, openblas-serial/, blis-pthread/, ..., atlas/.
func blasName(path string) string {
	if k := blasKind(path); k != "" {
		return k
	}
	dir := filepath.Base(filepath.Dir(path))
	for _, impl := range []struct{ prefix, name string }{{"openblas", "OpenBLAS"}, {"blis", "BLIS"}} {
		if variant, ok := strings.CutPrefix(dir, impl.prefix); ok {
			if variant = strings.TrimPrefix(variant, "-"); variant != "" {
				return impl.name + " (" + variant + ")"
			}
			return impl.name
		}
	}
	switch dir {
	case "blas":
		return referenceBLAS
	case "atlas":
		return "ATLAS"
	}
	return "unknown BLAS"
}
