// shim.h: the plain-C API of sgan's libtorch shim.
//
// Rules: every fallible call returns NULL on success or a malloc'd error message (free it with
// sg_free_err); results come back through out-parameters. No C++ exception crosses this API.
// Tensor handles are opaque heap objects; each one returned must be released with sg_free exactly
// once (the Go side guarantees that). Optional tensor arguments may be NULL.
#ifndef SGAN_SHIM_H
#define SGAN_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "shim_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sg_tensor_s* sg_tensor;
typedef struct sg_gen_s* sg_gen;
typedef char* sg_err;

// Dtypes (Go's DType constants in device.go take their values from these).
enum { SG_F32 = 0, SG_F64 = 1, SG_I64 = 2, SG_U8 = 3, SG_BOOL = 4, SG_F16 = 5, SG_BF16 = 6, SG_I32 = 7 };

void sg_free_err(sg_err e);
void sg_free(sg_tensor t);
int64_t sg_live_tensors(void);
const char* sg_torch_version(void);

// ---- inspection ----
int sg_dim(sg_tensor t);
void sg_shape(sg_tensor t, int64_t* out);  // out must hold sg_dim values
int sg_dtype(sg_tensor t);
int sg_device_type(sg_tensor t);  // 0 CPU, 1 CUDA, 2 other
int sg_device_index(sg_tensor t);
int sg_requires_grad(sg_tensor t);
int sg_defined(sg_tensor t);

// ---- creation ----
sg_err sg_full(const int64_t* shape, int nd, double value, int dtype, int dev_type, int dev_index, sg_tensor* out);
sg_err sg_randn(const int64_t* shape, int nd, sg_gen g, int dtype, int dev_type, int dev_index, sg_tensor* out);
sg_err sg_rand(const int64_t* shape, int nd, sg_gen g, int dtype, int dev_type, int dev_index, sg_tensor* out);
sg_err sg_arange(double start, double end, double step, int dtype, int dev_type, int dev_index, sg_tensor* out);
sg_err sg_from_data(const void* data, const int64_t* shape, int nd, int dtype, sg_tensor* out);
sg_err sg_copy_data(sg_tensor t, void* dst, int64_t nbytes, int dtype);
// A contiguous copy of the strided view (size, stride, offset) of storage (a 1-D tensor).
sg_err sg_as_strided_copy(sg_tensor storage, const int64_t* size, const int64_t* stride, int nd, int64_t offset,
                          sg_tensor* out);
sg_err sg_item(sg_tensor t, double* out);
// Eigen-decomposition of a symmetric matrix (torch.linalg.eigh): ascending values, vectors as columns.
sg_err sg_eigh(sg_tensor a, sg_tensor* vals, sg_tensor* vecs);

// ---- element-wise and generic ops (op codes: shim_ops.h) ----
const char* sg_op_name(int kind, int op);  // the op's name for error messages
sg_err sg_unary(int op, sg_tensor a, sg_tensor* out);
sg_err sg_binary(int op, sg_tensor a, sg_tensor b, sg_tensor* out);
sg_err sg_scalar(int op, sg_tensor a, double s, sg_tensor* out);
sg_err sg_inplace(int op, sg_tensor a, sg_tensor b, double s);
sg_err sg_reduce(int op, sg_tensor a, const int64_t* dims, int nd, int keepdim, sg_tensor* out);
sg_err sg_clamp(sg_tensor a, double lo, double hi, int has_lo, int has_hi, sg_tensor* out);
sg_err sg_where(sg_tensor cond, sg_tensor a, sg_tensor b, sg_tensor* out);
sg_err sg_lerp(sg_tensor a, sg_tensor b, sg_tensor w, double ws, sg_tensor* out);
sg_err sg_leaky_relu(sg_tensor a, double slope, sg_tensor* out);
sg_err sg_softplus(sg_tensor a, double beta, double threshold, sg_tensor* out);
sg_err sg_to(sg_tensor a, int dtype, int dev_type, int dev_index, int non_blocking, sg_tensor* out);

// ---- shape ops ----
sg_err sg_reshape(sg_tensor a, const int64_t* shape, int nd, sg_tensor* out);
sg_err sg_expand(sg_tensor a, const int64_t* shape, int nd, sg_tensor* out);
sg_err sg_permute(sg_tensor a, const int64_t* dims, int nd, sg_tensor* out);
sg_err sg_repeat(sg_tensor a, const int64_t* reps, int nd, sg_tensor* out);
sg_err sg_flip(sg_tensor a, const int64_t* dims, int nd, sg_tensor* out);
sg_err sg_transpose(sg_tensor a, int64_t d0, int64_t d1, sg_tensor* out);
sg_err sg_narrow(sg_tensor a, int64_t dim, int64_t start, int64_t len, sg_tensor* out);
sg_err sg_index_select(sg_tensor a, int64_t dim, sg_tensor idx, sg_tensor* out);
sg_err sg_unsqueeze(sg_tensor a, int64_t dim, sg_tensor* out);
sg_err sg_squeeze(sg_tensor a, int64_t dim, sg_tensor* out);
sg_err sg_cat(const sg_tensor* ts, int n, int64_t dim, int stack, sg_tensor* out);

// ---- neural-network ops ----
sg_err sg_linear(sg_tensor x, sg_tensor w, sg_tensor b, sg_tensor* out);
sg_err sg_conv2d(sg_tensor x, sg_tensor w, sg_tensor b, const int64_t* stride, const int64_t* pad,
                 const int64_t* dil, int64_t groups, sg_tensor* out);
sg_err sg_conv_transpose2d(sg_tensor x, sg_tensor w, sg_tensor b, const int64_t* stride, const int64_t* pad,
                           const int64_t* outpad, int64_t groups, const int64_t* dil, sg_tensor* out);
sg_err sg_interpolate(sg_tensor x, int64_t oh, int64_t ow, int mode, int align_corners, sg_tensor* out);
sg_err sg_avg_pool2d(sg_tensor x, const int64_t* k, const int64_t* s, const int64_t* pad, sg_tensor* out);
sg_err sg_pad(sg_tensor x, const int64_t* pads, int n, double value, sg_tensor* out);

// ---- autograd ----
sg_err sg_set_requires_grad(sg_tensor t, int on);
sg_err sg_grad_of(sg_tensor t, sg_tensor* out);  // *out NULL when t has no gradient
sg_err sg_zero_grad(const sg_tensor* ts, int n);
sg_err sg_backward(sg_tensor loss, sg_tensor grad, int retain_graph);
sg_err sg_grad(const sg_tensor* outs, const sg_tensor* gouts, int nout, const sg_tensor* ins, int nin,
               int create_graph, int retain_graph, sg_tensor* result);
int sg_set_grad_enabled(int on);  // returns the previous mode (thread-local in libtorch)
int sg_grad_enabled(void);

// ---- multi-tensor updates (one call per network) ----
sg_err sg_adam_step(const sg_tensor* params, const sg_tensor* m, const sg_tensor* v, int n, double lr,
                    double beta1, double beta2, double eps, double weight_decay, int64_t step);
sg_err sg_ema_update(const sg_tensor* dst, const sg_tensor* src, int n, double beta);
sg_err sg_all_finite(sg_tensor t, int* out);

// ---- random generators ----
sg_err sg_gen_new(int dev_type, int dev_index, uint64_t seed, sg_gen* out);
void sg_gen_free(sg_gen g);
sg_err sg_gen_get_state(sg_gen g, sg_tensor* out);
sg_err sg_gen_set_state(sg_gen g, sg_tensor state);
void sg_manual_seed(uint64_t seed);

// ---- serialization (torch.save compatible; reading is done in Go, unpickle.go) ----
// Values: kind 0 tensor, 1 string, 2 int64, 3 double. Keys containing '/' become nested dicts.
typedef struct {
  char* key;
  int kind;
  sg_tensor tensor;
  char* str;
  int64_t i;
  double f;
} sg_entry;
sg_err sg_pickle_save(const sg_entry* entries, int n, char** buf, int64_t* len);
void sg_buf_free(char* buf);

// ---- device and threads ----
int sg_cuda_available(void);
int sg_cuda_device_count(void);
void sg_set_num_threads(int n);
int sg_get_num_threads(void);
// Tunes glibc's allocator for tensor-sized blocks (see shim_io.cpp); returns 1 when applied.
int sg_tune_malloc(void);
void sg_set_cudnn_benchmark(int on);
void sg_set_tf32(int on);
sg_err sg_cuda_synchronize(void);

// ---- distributed (c10d; shim_dist.cpp) ----
// A process group: a TCPStore rendezvous at host:port (rank 0 hosts it) and a Gloo or NCCL
// backend over it. Collectives wait with the group's timeout, so a dead or stuck peer ends in an
// error instead of a hang. backend: 0 Gloo, 1 NCCL (only in builds with SGAN_NCCL).
typedef struct sg_pg_s* sg_pg;
// store_file non-empty: rendezvous in that file (c10d FileStore; every rank on this machine),
// host and port unused; else a TCPStore at host:port that rank 0 serves.
sg_err sg_pg_new(int backend, const char* host, int port, const char* store_file, int rank, int world,
                 int64_t timeout_ms, sg_pg* out);
void sg_pg_free(sg_pg pg);
int sg_pg_has_nccl(void);
// In place: sum over ranks, then multiply by scale; tensors are packed into flat buckets of at
// most bucket_bytes (by dtype and device), one allreduce per bucket, all in flight together.
sg_err sg_pg_allreduce(sg_pg pg, const sg_tensor* ts, int n, double scale, int64_t bucket_bytes);
sg_err sg_pg_broadcast(sg_pg pg, const sg_tensor* ts, int n, int root, int64_t bucket_bytes);
sg_err sg_pg_barrier(sg_pg pg);

#ifdef __cplusplus
}
#endif
#endif

// ---- TorchScript modules (shim_jit.cpp; inference only) ----
// Appended after the main block, so it carries its own guard and C linkage.
// sg_jit_load reads a torch.jit.save file onto the device and puts it in eval mode.
// sg_jit_forward calls forward(x) under no-grad (x is moved to the module's device first) and
// returns its output: a tensor, or the first element of a tuple or list when that is a tensor.
#ifndef SGAN_SHIM_JIT_H
#define SGAN_SHIM_JIT_H
#ifdef __cplusplus
extern "C" {
#endif
typedef struct sg_module_s* sg_module;
sg_err sg_jit_load(const char* path, int dev_type, int dev_index, sg_module* out);
sg_err sg_jit_forward(sg_module m, sg_tensor x, sg_tensor* out);
void sg_jit_free(sg_module m);
#ifdef __cplusplus
}
#endif
#endif

// ---- image warping (shim_warp.cpp; the augmentation package) ----
// Appended after the main block, so it carries its own guard and C linkage.
// sg_grid_sample_lin is F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
// align_corners=False) for an NCHW x and an N x Ho x Wo x 2 grid that does not require gradients;
// unlike libtorch's own it can be differentiated twice with respect to x (no gradient reaches the
// grid). sg_affine_grid is F.affine_grid(theta, size, align_corners). sg_pad_reflect is
// F.pad(x, pads, mode="reflect") for the last two dims (pads: left, right, top, bottom).
#ifndef SGAN_SHIM_WARP_H
#define SGAN_SHIM_WARP_H
#ifdef __cplusplus
extern "C" {
#endif
sg_err sg_grid_sample_lin(sg_tensor x, sg_tensor grid, sg_tensor* out);
sg_err sg_affine_grid(sg_tensor theta, const int64_t* size, int nd, int align_corners, sg_tensor* out);
sg_err sg_pad_reflect(sg_tensor x, const int64_t* pads, int n, sg_tensor* out);
#ifdef __cplusplus
}
#endif
#endif
