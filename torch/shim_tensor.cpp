// shim_tensor.cpp: tensor creation, data transfer, element-wise, reduction and shape ops.
#include "shim_internal.h"

using sgshim::ints;
using sgshim::T;
using sgshim::wrap;

std::atomic<int64_t> sgshim::live{0};

extern "C" {

void sg_free_err(sg_err e) {
  if (e != sgshim::oom_err) std::free(e);
}

void sg_free(sg_tensor t) {
  if (t == nullptr) return;
  sgshim::live.fetch_sub(1, std::memory_order_relaxed);
  delete t;
}

int64_t sg_live_tensors(void) { return sgshim::live.load(); }

const char* sg_torch_version(void) { return SGAN_TORCH_VERSION; }

int sg_dim(sg_tensor t) { return static_cast<int>(t->t.dim()); }

void sg_shape(sg_tensor t, int64_t* out) {
  auto s = t->t.sizes();
  for (size_t i = 0; i < s.size(); i++) out[i] = s[i];
}

int sg_dtype(sg_tensor t) { return sgshim::from_dtype(t->t.scalar_type()); }

int sg_device_type(sg_tensor t) {
  auto d = t->t.device();
  return d.is_cpu() ? 0 : (d.is_cuda() ? 1 : 2);
}

int sg_device_index(sg_tensor t) { return t->t.device().index(); }
int sg_requires_grad(sg_tensor t) { return t->t.requires_grad() ? 1 : 0; }
int sg_defined(sg_tensor t) { return t->t.defined() ? 1 : 0; }

sg_err sg_full(const int64_t* shape, int nd, double value, int dtype, int dev_type, int dev_index, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::full(ints(shape, nd), value, sgshim::opts(dtype, dev_type, dev_index)));
  SG_END
}

static c10::optional<at::Generator> gen_of(sg_gen g) {
  if (g == nullptr) return c10::nullopt;
  return g->g;
}

sg_err sg_randn(const int64_t* shape, int nd, sg_gen g, int dtype, int dev_type, int dev_index, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::randn(ints(shape, nd), gen_of(g), sgshim::opts(dtype, dev_type, dev_index)));
  SG_END
}

sg_err sg_rand(const int64_t* shape, int nd, sg_gen g, int dtype, int dev_type, int dev_index, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::rand(ints(shape, nd), gen_of(g), sgshim::opts(dtype, dev_type, dev_index)));
  SG_END
}

sg_err sg_arange(double start, double end, double step, int dtype, int dev_type, int dev_index, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::arange(start, end, step, sgshim::opts(dtype, dev_type, dev_index)));
  SG_END
}

// The data is copied: cgo forbids C from keeping Go memory.
sg_err sg_from_data(const void* data, const int64_t* shape, int nd, int dtype, sg_tensor* out) {
  SG_TRY
  auto o = at::TensorOptions().dtype(sgshim::to_dtype(dtype));
  *out = wrap(at::from_blob(const_cast<void*>(data), ints(shape, nd), o).clone());
  SG_END
}

sg_err sg_copy_data(sg_tensor t, void* dst, int64_t nbytes, int dtype) {
  SG_TRY
  auto c = T(t).detach().to(at::kCPU, sgshim::to_dtype(dtype)).contiguous();
  int64_t need = c.numel() * static_cast<int64_t>(c.element_size());
  if (need != nbytes) {
    throw std::invalid_argument("destination holds " + std::to_string(nbytes) + " bytes, tensor needs " +
                                std::to_string(need));
  }
  std::memcpy(dst, c.data_ptr(), static_cast<size_t>(nbytes));
  SG_END
}

sg_err sg_as_strided_copy(sg_tensor storage, const int64_t* size, const int64_t* stride, int nd, int64_t offset,
                          sg_tensor* out) {
  SG_TRY
  const at::Tensor& st = T(storage);
  // Check the view's reach ourselves: as_strided on a too-small storage would read out of bounds.
  int64_t last = offset;
  for (int i = 0; i < nd; i++) {
    if (size[i] == 0) {
      last = -1;
      break;
    }
    last += (size[i] - 1) * stride[i];
  }
  if (offset < 0 || last >= st.numel()) {
    throw std::invalid_argument("tensor view reaches past its storage of " + std::to_string(st.numel()) + " elements");
  }
  *out = wrap(st.as_strided(ints(size, nd), ints(stride, nd), offset).clone(at::MemoryFormat::Contiguous));
  SG_END
}

sg_err sg_eigh(sg_tensor a, sg_tensor* vals, sg_tensor* vecs) {
  SG_TRY
  auto r = at::linalg_eigh(T(a), "L");
  *vals = wrap(std::get<0>(r));
  *vecs = wrap(std::get<1>(r));
  SG_END
}

sg_err sg_item(sg_tensor t, double* out) {
  SG_TRY
  *out = T(t).item<double>();
  SG_END
}

sg_err sg_unary(int op, sg_tensor a, sg_tensor* out) {
  SG_TRY
  const at::Tensor& x = T(a);
  at::Tensor r;
  switch (op) {
#define SG_OP_CASE(code, name, expr) \
  case SG_##code: r = expr; break;
    SG_UNARY_OPS(SG_OP_CASE)
#undef SG_OP_CASE
    default: throw std::invalid_argument("unknown unary op " + std::to_string(op));
  }
  *out = wrap(std::move(r));
  SG_END
}

sg_err sg_binary(int op, sg_tensor a, sg_tensor b, sg_tensor* out) {
  SG_TRY
  const at::Tensor& x = T(a);
  const at::Tensor& y = T(b);
  at::Tensor r;
  switch (op) {
#define SG_OP_CASE(code, name, expr) \
  case SG_##code: r = expr; break;
    SG_BINARY_OPS(SG_OP_CASE)
#undef SG_OP_CASE
    default: throw std::invalid_argument("unknown binary op " + std::to_string(op));
  }
  *out = wrap(std::move(r));
  SG_END
}

sg_err sg_scalar(int op, sg_tensor a, double s, sg_tensor* out) {
  SG_TRY
  const at::Tensor& x = T(a);
  at::Tensor r;
  switch (op) {
#define SG_OP_CASE(code, name, expr) \
  case SG_##code: r = expr; break;
    SG_SCALAR_OPS(SG_OP_CASE)
#undef SG_OP_CASE
    default: throw std::invalid_argument("unknown scalar op " + std::to_string(op));
  }
  *out = wrap(std::move(r));
  SG_END
}

sg_err sg_inplace(int op, sg_tensor a, sg_tensor b, double s) {
  SG_TRY
  at::Tensor x = T(a);
  // The second operand, for the ops that take one (Go passes it for exactly those).
  at::Tensor y = b != nullptr ? T(b) : at::Tensor();
  switch (op) {
#define SG_OP_CASE(code, name, expr) \
  case SG_##code: expr; break;
    SG_INPLACE_OPS(SG_OP_CASE)
#undef SG_OP_CASE
    default: throw std::invalid_argument("unknown in-place op " + std::to_string(op));
  }
  SG_END
}

sg_err sg_reduce(int op, sg_tensor a, const int64_t* dims, int nd, int keepdim, sg_tensor* out) {
  SG_TRY
  const at::Tensor& x = T(a);
  bool kd = keepdim != 0;
  // nd == 0 reduces over every dimension.
  std::vector<int64_t> all;
  if (nd == 0) {
    for (int64_t i = 0; i < x.dim(); i++) all.push_back(i);
  } else {
    all.assign(dims, dims + nd);
  }
  at::IntArrayRef d(all);
  at::Tensor r;
  switch (op) {
#define SG_OP_CASE(code, name, expr) \
  case SG_##code: r = expr; break;
    SG_REDUCE_OPS(SG_OP_CASE)
#undef SG_OP_CASE
    default: throw std::invalid_argument("unknown reduction " + std::to_string(op));
  }
  *out = wrap(std::move(r));
  SG_END
}

sg_err sg_clamp(sg_tensor a, double lo, double hi, int has_lo, int has_hi, sg_tensor* out) {
  SG_TRY
  c10::optional<at::Scalar> l, h;
  if (has_lo) l = lo;
  if (has_hi) h = hi;
  *out = wrap(at::clamp(T(a), l, h));
  SG_END
}

sg_err sg_where(sg_tensor cond, sg_tensor a, sg_tensor b, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::where(T(cond), T(a), T(b)));
  SG_END
}

sg_err sg_lerp(sg_tensor a, sg_tensor b, sg_tensor w, double ws, sg_tensor* out) {
  SG_TRY
  if (w != nullptr) {
    *out = wrap(at::lerp(T(a), T(b), T(w)));
  } else {
    *out = wrap(at::lerp(T(a), T(b), ws));
  }
  SG_END
}

sg_err sg_leaky_relu(sg_tensor a, double slope, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::leaky_relu(T(a), slope));
  SG_END
}

sg_err sg_softplus(sg_tensor a, double beta, double threshold, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::softplus(T(a), beta, threshold));
  SG_END
}

sg_err sg_to(sg_tensor a, int dtype, int dev_type, int dev_index, int non_blocking, sg_tensor* out) {
  SG_TRY
  const at::Tensor& x = T(a);
  at::ScalarType dt = dtype < 0 ? x.scalar_type() : sgshim::to_dtype(dtype);
  at::Device dev = dev_type < 0 ? x.device() : sgshim::to_device(dev_type, dev_index);
  *out = wrap(x.to(dev, dt, non_blocking != 0));
  SG_END
}

sg_err sg_reshape(sg_tensor a, const int64_t* shape, int nd, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::reshape(T(a), ints(shape, nd)));
  SG_END
}

sg_err sg_expand(sg_tensor a, const int64_t* shape, int nd, sg_tensor* out) {
  SG_TRY
  *out = wrap(T(a).expand(ints(shape, nd)));
  SG_END
}

sg_err sg_permute(sg_tensor a, const int64_t* dims, int nd, sg_tensor* out) {
  SG_TRY
  *out = wrap(T(a).permute(ints(dims, nd)));
  SG_END
}

sg_err sg_repeat(sg_tensor a, const int64_t* reps, int nd, sg_tensor* out) {
  SG_TRY
  *out = wrap(T(a).repeat(ints(reps, nd)));
  SG_END
}

sg_err sg_flip(sg_tensor a, const int64_t* dims, int nd, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::flip(T(a), ints(dims, nd)));
  SG_END
}

sg_err sg_transpose(sg_tensor a, int64_t d0, int64_t d1, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::transpose(T(a), d0, d1));
  SG_END
}

sg_err sg_narrow(sg_tensor a, int64_t dim, int64_t start, int64_t len, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::narrow(T(a), dim, start, len));
  SG_END
}

sg_err sg_index_select(sg_tensor a, int64_t dim, sg_tensor idx, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::index_select(T(a), dim, T(idx)));
  SG_END
}

sg_err sg_unsqueeze(sg_tensor a, int64_t dim, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::unsqueeze(T(a), dim));
  SG_END
}

sg_err sg_squeeze(sg_tensor a, int64_t dim, sg_tensor* out) {
  SG_TRY
  *out = wrap(at::squeeze(T(a), dim));
  SG_END
}

sg_err sg_cat(const sg_tensor* ts, int n, int64_t dim, int stack, sg_tensor* out) {
  SG_TRY
  auto v = sgshim::list(ts, n);
  *out = wrap(stack ? at::stack(v, dim) : at::cat(v, dim));
  SG_END
}

const char* sg_op_name(int kind, int op) {
#define SG_OP_NAME(code, name, expr) \
  case SG_##code:                    \
    return name;
  switch (kind) {
    case SG_KIND_UNARY:
      switch (op) { SG_UNARY_OPS(SG_OP_NAME) }
      break;
    case SG_KIND_BINARY:
      switch (op) { SG_BINARY_OPS(SG_OP_NAME) }
      break;
    case SG_KIND_SCALAR:
      switch (op) { SG_SCALAR_OPS(SG_OP_NAME) }
      break;
    case SG_KIND_INPLACE:
      switch (op) { SG_INPLACE_OPS(SG_OP_NAME) }
      break;
    case SG_KIND_REDUCE:
      switch (op) { SG_REDUCE_OPS(SG_OP_NAME) }
      break;
  }
#undef SG_OP_NAME
  return "unknown op";
}

}  // extern "C"

