package torch

// Build flags live here and nowhere else. The defaults find Debian's libtorch (libtorch-dev, 1.13
// CPU). For another libtorch (a 2.x CUDA build, say) scripts/torch-env derives CGO_CPPFLAGS,
// CGO_CXXFLAGS (the C++ ABI of that build) and CGO_LDFLAGS from LIBTORCH=/path; the go command
// puts those before the flags below, so they win.

// #cgo CXXFLAGS: -std=c++17 -O2 -Wno-deprecated-declarations -Wno-unused-parameter
// #cgo CPPFLAGS: -I/usr/include/torch/csrc/api/include
// #cgo LDFLAGS: -Wl,--no-as-needed -ltorch -ltorch_cpu -lc10 -Wl,--as-needed -lstdc++
import "C"
