// shim_jit.cpp: TorchScript modules (torch.jit.script / torch.jit.trace files saved with .save()),
// loaded and run for inference only (eval's user-supplied feature extractor).
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/serialization/import.h>

#include "shim_internal.h"

struct sg_module_s {
  torch::jit::Module m;
  at::Device device;
};

namespace {

// The module's output as a tensor: the output itself, or the first element of a tuple or list.
at::Tensor first_tensor(const c10::IValue& v) {
  if (v.isTensor()) return v.toTensor();
  if (v.isTuple()) {
    const auto& el = v.toTupleRef().elements();
    if (!el.empty() && el[0].isTensor()) return el[0].toTensor();
    throw std::invalid_argument("forward returned a tuple whose first element is not a tensor");
  }
  if (v.isList()) {
    c10::List<c10::IValue> l = v.toList();
    if (l.size() > 0 && l.get(0).isTensor()) return l.get(0).toTensor();
    throw std::invalid_argument("forward returned a list whose first element is not a tensor");
  }
  throw std::invalid_argument("forward returned " + v.tagKind() + ", not a tensor (or a tuple/list starting with one)");
}

}  // namespace

extern "C" {

sg_err sg_jit_load(const char* path, int dev_type, int dev_index, sg_module* out) {
  SG_TRY
  at::Device d = sgshim::to_device(dev_type, dev_index);
  torch::jit::Module m = torch::jit::load(std::string(path), d);
  m.eval();
  *out = new sg_module_s{std::move(m), d};
  SG_END
}

sg_err sg_jit_forward(sg_module m, sg_tensor x, sg_tensor* out) {
  SG_TRY
  if (m == nullptr) throw std::invalid_argument("nil module");
  at::NoGradGuard no_grad;
  std::vector<c10::IValue> in;
  in.emplace_back(sgshim::T(x).to(m->device));
  c10::IValue r = m->m.forward(std::move(in));
  *out = sgshim::wrap(first_tensor(r));
  SG_END
}

void sg_jit_free(sg_module m) { delete m; }

}  // extern "C"
