package torch

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestBLASFromMaps(t *testing.T) {
	line := func(path string) string {
		return "7f3a1c000000-7f3a1c020000 r-xp 00002000 fd:00 1311 " + path + "\n"
	}
	const (
		ref      = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"
		openblas = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
	)
	for _, tc := range []struct {
		name, maps string
		want       BLAS
		reference  bool
	}{
		{"reference", line("/usr/lib/x86_64-linux-gnu/libc.so.6") + line(ref) + line("/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3.11.0"),
			BLAS{"reference BLAS", ref}, true},
		{"OpenBLAS pthread", line(openblas) + line("/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3"),
			BLAS{"OpenBLAS (pthread)", openblas}, false},
		{"OpenBLAS openmp", line("/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"),
			BLAS{"OpenBLAS (openmp)", "/usr/lib/x86_64-linux-gnu/openblas-openmp/libblas.so.3"}, false},
		{"BLIS", line("/usr/lib/aarch64-linux-gnu/blis-openmp/libblas.so.3"),
			BLAS{"BLIS (openmp)", "/usr/lib/aarch64-linux-gnu/blis-openmp/libblas.so.3"}, false},
		{"ATLAS", line("/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3.10.3"),
			BLAS{"ATLAS", "/usr/lib/x86_64-linux-gnu/atlas/libblas.so.3.10.3"}, false},
		{"libblas.so.3 wins over a second BLAS", line("/opt/x/libopenblasp-r0.3.21.so") + line(ref),
			BLAS{"reference BLAS", ref}, true},
		{"pip torch's OpenBLAS", line("/venv/lib/python3.11/site-packages/torch.libs/libopenblasp-r0-2eadb500.3.29.so"),
			BLAS{"OpenBLAS", "/venv/lib/python3.11/site-packages/torch.libs/libopenblasp-r0-2eadb500.3.29.so"}, false},
		{"MKL", line("/opt/intel/oneapi/mkl/lib/intel64/libmkl_rt.so.2"),
			BLAS{"MKL", "/opt/intel/oneapi/mkl/lib/intel64/libmkl_rt.so.2"}, false},
		{"path with a space, deleted", line("/home/a b/blas/libblas.so.3 (deleted)"),
			BLAS{"reference BLAS", "/home/a b/blas/libblas.so.3"}, true},
		{"unknown libblas", line("/usr/lib64/libblas.so.3"), BLAS{"unknown BLAS", "/usr/lib64/libblas.so.3"}, false},
		{"none (MKL linked into libtorch)", line("/opt/libtorch/lib/libtorch_cpu.so") + "7f3a1c000000-7f3a1c020000 rw-p 00000000 00:00 0 [heap]\n",
			BLAS{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := blasFromMaps([]byte(tc.maps))
			if got != tc.want || got.Reference() != tc.reference {
				t.Errorf("got %+v (reference %v), want %+v (reference %v)", got, got.Reference(), tc.want, tc.reference)
			}
		})
	}
}

// TestLoadedBLAS: in this process, which links Debian's libtorch, the BLAS found is the file the
// system's libblas.so.3 resolves to (or the one LD_LIBRARY_PATH put first).
func TestLoadedBLAS(t *testing.T) {
	got := LoadedBLAS()
	t.Logf("BLAS: %s", got)
	multiarch := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	system, err := filepath.EvalSymlinks(filepath.Join("/usr/lib", multiarch, "libblas.so.3"))
	if os.Getenv("LIBTORCH") != "" || multiarch == "" || err != nil {
		t.Skipf("not Debian's libtorch (LIBTORCH=%q, libblas.so.3: %v)", os.Getenv("LIBTORCH"), err)
	}
	want := system
	for _, dir := range filepath.SplitList(os.Getenv("LD_LIBRARY_PATH")) {
		if p, err := filepath.EvalSymlinks(filepath.Join(dir, "libblas.so.3")); err == nil {
			want = p
			break
		}
	}
	if got.Path != want || got.Name == "" || got.Name == "unknown BLAS" {
		t.Errorf("LoadedBLAS() = %+v, want %s, named", got, want)
	}
}
