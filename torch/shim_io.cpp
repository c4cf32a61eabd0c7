// shim_io.cpp: serialization compatible with Python's torch.save/torch.load, random generators,
// devices and threads.
#include <ATen/Parallel.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <cmath>
#include <functional>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "shim_internal.h"

using sgshim::T;
using sgshim::wrap;

namespace {

c10::IValue value_of(const sg_entry& e) {
  switch (e.kind) {
    case 0: return c10::IValue(T(e.tensor));
    case 1: return c10::IValue(std::string(e.str));
    case 2: return c10::IValue(e.i);
    case 3: return c10::IValue(e.f);
  }
  throw std::invalid_argument("unknown entry kind " + std::to_string(e.kind));
}

}  // namespace

std::atomic<int> sgshim::want_threads{0};

void sgshim::apply_threads(int n) {
  try {
    at::set_num_threads(n);
  } catch (...) {
  }
}

extern "C" {

sg_err sg_pickle_save(const sg_entry* entries, int n, char** buf, int64_t* len) {
  SG_TRY
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  for (int i = 0; i < n; i++) {
    std::string key(entries[i].key);
    c10::impl::GenericDict d = root;  // c10 dicts are shared handles: d aliases the nested dict
    size_t start = 0, pos;
    while ((pos = key.find('/', start)) != std::string::npos) {
      std::string part = key.substr(start, pos - start);
      auto it = d.find(part);
      if (it != d.end()) {
        if (!it->value().isGenericDict()) throw std::invalid_argument("key " + key + " nests under a value");
        c10::impl::GenericDict sub = it->value().toGenericDict();
        d = sub;
      } else {
        c10::impl::GenericDict sub(c10::StringType::get(), c10::AnyType::get());
        d.insert(part, sub);
        d = sub;
      }
      start = pos + 1;
    }
    d.insert_or_assign(key.substr(start), value_of(entries[i]));
  }
  std::vector<char> data = torch::jit::pickle_save(c10::IValue(root));
  // malloc(0) may return NULL; ask for at least one byte so NULL always means out of memory.
  *buf = static_cast<char*>(std::malloc(data.size() > 0 ? data.size() : 1));
  if (*buf == nullptr) {
    throw std::runtime_error("out of memory for a checkpoint of " + std::to_string(data.size()) + " bytes");
  }
  std::memcpy(*buf, data.data(), data.size());
  *len = static_cast<int64_t>(data.size());
  SG_END
}

void sg_buf_free(char* buf) { std::free(buf); }

sg_err sg_gen_new(int dev_type, int dev_index, uint64_t seed, sg_gen* out) {
  SG_TRY
  at::Device d = sgshim::to_device(dev_type, dev_index);
  // A clone of the device's default generator: the right kind for the device, independent state.
  at::Generator g = at::globalContext().defaultGenerator(d).clone();
  g.set_current_seed(seed);
  *out = new sg_gen_s{g};
  SG_END
}

void sg_gen_free(sg_gen g) { delete g; }

sg_err sg_gen_get_state(sg_gen g, sg_tensor* out) {
  SG_TRY
  *out = wrap(g->g.get_state());
  SG_END
}

sg_err sg_gen_set_state(sg_gen g, sg_tensor state) {
  SG_TRY
  g->g.set_state(T(state));
  SG_END
}

void sg_manual_seed(uint64_t seed) {
  try {
    at::manual_seed(seed);
  } catch (...) {
  }
}

int sg_cuda_available(void) {
  try {
    return at::globalContext().hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0 ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

int sg_cuda_device_count(void) {
  try {
    return at::globalContext().hasCUDA() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0;
  } catch (...) {
    return 0;
  }
}

void sg_set_num_threads(int n) {
  if (n <= 0) return;
  sgshim::want_threads.store(n);
  sgshim::sync_threads();
}

int sg_get_num_threads(void) {
  sgshim::sync_threads();
  return at::get_num_threads();
}

int sg_tune_malloc(void) {
#if defined(__GLIBC__)
  // glibc serves blocks above its mmap threshold (128 KiB, adapting up to 32 MiB) with fresh
  // mmaps and unmaps them on free, so every step's activations were page-faulted and zeroed by
  // the kernel anew (a third of a CPU generator forward in perf). Keeping blocks up to 32 MiB
  // (glibc's limit) in the heap, and not trimming it, lets the next step reuse warm pages.
  int ok = mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ok &= mallopt(M_TRIM_THRESHOLD, 1 << 30);
  return ok;
#else
  return 0;
#endif
}

void sg_set_cudnn_benchmark(int on) { at::globalContext().setBenchmarkCuDNN(on != 0); }

void sg_set_tf32(int on) {
  at::globalContext().setAllowTF32CuBLAS(on != 0);
  at::globalContext().setAllowTF32CuDNN(on != 0);
}

sg_err sg_cuda_synchronize(void) {
  SG_TRY
  // A scalar copied back to the host waits for every queued kernel on the current stream, without
  // needing the CUDA headers here.
  if (sg_cuda_available()) at::zeros({1}, at::TensorOptions().device(at::kCUDA)).cpu();
  SG_END
}

}  // extern "C"
