// shim_internal.h: helpers shared by the shim's C++ files; never seen by Go.
#ifndef SGAN_SHIM_INTERNAL_H
#define SGAN_SHIM_INTERNAL_H

#include <ATen/ATen.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "shim.h"
#include "shim_compat.h"

struct sg_tensor_s {
  at::Tensor t;
};
struct sg_gen_s {
  at::Generator g;
};

namespace sgshim {

extern std::atomic<int64_t> live;

// libtorch's intra-op thread count is OpenMP's, a per-OS-thread setting, and Go runs calls on
// whichever thread the goroutine is on: every entry applies the configured count to its thread
// once (a thread-local compare per call afterwards).
extern std::atomic<int> want_threads;
void apply_threads(int n);
inline void sync_threads() {
  thread_local int applied = -1;
  int n = want_threads.load(std::memory_order_relaxed);
  if (n > 0 && applied != n) {
    apply_threads(n);
    applied = n;
  }
}

inline sg_tensor wrap(at::Tensor t) {
  live.fetch_add(1, std::memory_order_relaxed);
  return new sg_tensor_s{std::move(t)};
}

// The error for when even an error message cannot be allocated: static, so sg_free_err skips it.
// (A NULL from malloc must not pass for success.)
inline char oom_err[] = "out of memory";

inline sg_err make_err(const std::string& msg) {
  char* p = static_cast<char*>(std::malloc(msg.size() + 1));
  if (p == nullptr) return oom_err;
  std::memcpy(p, msg.c_str(), msg.size() + 1);
  return p;
}

// The first lines of a c10::Error carry the message; the rest is source context that means nothing
// to a user.
inline std::string trim_c10(const char* what) {
  std::string s(what);
  auto pos = s.find("\nException raised from");
  if (pos != std::string::npos) s = s.substr(0, pos);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

inline at::ScalarType to_dtype(int d) {
  switch (d) {
    case SG_F32: return at::kFloat;
    case SG_F64: return at::kDouble;
    case SG_I64: return at::kLong;
    case SG_U8: return at::kByte;
    case SG_BOOL: return at::kBool;
    case SG_F16: return at::kHalf;
    case SG_BF16: return at::kBFloat16;
    case SG_I32: return at::kInt;
  }
  throw std::invalid_argument("unknown dtype code " + std::to_string(d));
}

inline int from_dtype(at::ScalarType s) {
  switch (s) {
    case at::kFloat: return SG_F32;
    case at::kDouble: return SG_F64;
    case at::kLong: return SG_I64;
    case at::kByte: return SG_U8;
    case at::kBool: return SG_BOOL;
    case at::kHalf: return SG_F16;
    case at::kBFloat16: return SG_BF16;
    case at::kInt: return SG_I32;
    default: return -1;
  }
}

inline at::Device to_device(int type, int index) {
  if (type == 1) return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index < 0 ? 0 : index));
  return at::Device(at::kCPU);
}

inline at::TensorOptions opts(int dtype, int dev_type, int dev_index) {
  return at::TensorOptions().dtype(to_dtype(dtype)).device(to_device(dev_type, dev_index));
}

inline at::IntArrayRef ints(const int64_t* p, int n) { return at::IntArrayRef(p, static_cast<size_t>(n)); }

inline const at::Tensor& T(sg_tensor t) {
  if (t == nullptr) throw std::invalid_argument("nil tensor");
  return t->t;
}

inline c10::optional<at::Tensor> opt(sg_tensor t) {
  if (t == nullptr) return c10::nullopt;
  return t->t;
}

inline std::vector<at::Tensor> list(const sg_tensor* ts, int n) {
  std::vector<at::Tensor> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) v.push_back(T(ts[i]));
  return v;
}

}  // namespace sgshim

// SG_TRY / SG_END wrap a shim body so that no exception escapes into Go.
#define SG_TRY \
  sgshim::sync_threads(); \
  try {
#define SG_END                                                       \
  }                                                                  \
  catch (const c10::Error& e) {                                      \
    return sgshim::make_err(sgshim::trim_c10(e.what_without_backtrace())); \
  }                                                                  \
  catch (const std::exception& e) {                                  \
    return sgshim::make_err(e.what());                               \
  }                                                                  \
  catch (...) {                                                      \
    return sgshim::make_err("unknown C++ exception");                \
  }                                                                  \
  return nullptr;

#endif
