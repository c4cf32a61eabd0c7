// shim_ops.h: the op codes of sg_unary, sg_binary, sg_scalar, sg_inplace and sg_reduce, each
// op listed once. Every list entry X(CODE, "name", expression) gives the C enum constant
// SG_<CODE> (which Go uses as C.SG_<CODE>), the name in error messages (sg_op_name) and the
// libtorch expression that shim_tensor.cpp runs for it (x and y are the operands, s the scalar,
// d and kd the reduction dims and keepdim). Adding an op is one line here plus its Go method.
#ifndef SGAN_SHIM_OPS_H
#define SGAN_SHIM_OPS_H

#define SG_UNARY_OPS(X)                             \
  X(NEG, "neg", at::neg(x))                         \
  X(EXP, "exp", at::exp(x))                         \
  X(LOG, "log", at::log(x))                         \
  X(SQRT, "sqrt", at::sqrt(x))                      \
  X(RSQRT, "rsqrt", at::rsqrt(x))                   \
  X(ABS, "abs", at::abs(x))                         \
  X(RELU, "relu", at::relu(x))                      \
  X(SIGMOID, "sigmoid", at::sigmoid(x))             \
  X(TANH, "tanh", at::tanh(x))                      \
  X(SQUARE, "square", at::square(x))                \
  X(DETACH, "detach", x.detach())                   \
  X(CLONE, "clone", x.clone())                      \
  X(CONTIGUOUS, "contiguous", x.contiguous())       \
  X(SIGN, "sign", at::sign(x))                      \
  X(FLOOR, "floor", at::floor(x))                   \
  X(ROUND, "round", at::round(x))                   \
  X(SIN, "sin", at::sin(x))                         \
  X(COS, "cos", at::cos(x))                         \
  X(LOGICAL_NOT, "logical_not", at::logical_not(x)) \
  X(RECIPROCAL, "reciprocal", at::reciprocal(x))    \
  X(ISFINITE, "isfinite", at::isfinite(x))

#define SG_BINARY_OPS(X)                    \
  X(ADD, "add", at::add(x, y))              \
  X(SUB, "sub", at::sub(x, y))              \
  X(MUL, "mul", at::mul(x, y))              \
  X(DIV, "div", at::div(x, y))              \
  X(POW, "pow", at::pow(x, y))              \
  X(MATMUL, "matmul", at::matmul(x, y))     \
  X(MAXIMUM, "maximum", at::maximum(x, y))  \
  X(MINIMUM, "minimum", at::minimum(x, y))  \
  X(EQ, "eq", at::eq(x, y))                 \
  X(GT, "gt", at::gt(x, y))                 \
  X(LT, "lt", at::lt(x, y))                 \
  X(GE, "ge", at::ge(x, y))                 \
  X(LE, "le", at::le(x, y))

#define SG_SCALAR_OPS(X)                                      \
  X(ADD_S, "add scalar", at::add(x, s))                       \
  X(SUB_S, "sub scalar", at::sub(x, s))                       \
  X(MUL_S, "mul scalar", at::mul(x, s))                       \
  X(DIV_S, "div scalar", at::div(x, s))                       \
  X(POW_S, "pow scalar", at::pow(x, s))                       \
  X(RSUB_S, "rsub scalar", at::rsub(x, s))                    \
  X(GT_S, "gt scalar", at::gt(x, s))                          \
  X(LT_S, "lt scalar", at::lt(x, s))                          \
  X(GE_S, "ge scalar", at::ge(x, s))                          \
  X(LE_S, "le scalar", at::le(x, s))                          \
  X(EQ_S, "eq scalar", at::eq(x, s))                          \
  X(RDIV_S, "rdiv scalar", at::mul(at::reciprocal(x), s))

// In-place updates: the expression's value is discarded.
#define SG_INPLACE_OPS(X)                   \
  X(COPY_, "copy_", x.copy_(y))             \
  X(ADD_, "add_", x.add_(y, s))             \
  X(MUL_S_, "mul_", x.mul_(s))              \
  X(FILL_, "fill_", x.fill_(s))             \
  X(ZERO_, "zero_", x.zero_())              \
  X(MUL_, "mul_", x.mul_(y))                \
  X(LERP_, "lerp_", x.lerp_(y, s))          \
  X(ADD_S_, "add_", x.add_(s))

#define SG_REDUCE_OPS(X)                                    \
  X(SUM, "sum", at::sum(x, d, kd))                          \
  X(MEAN, "mean", at::mean(x, d, kd))                       \
  X(VAR_UNBIASED, "var", at::var(x, d, true, kd))           \
  X(VAR_BIASED, "var", at::var(x, d, false, kd))            \
  X(STD_UNBIASED, "std", at::std(x, d, true, kd))           \
  X(STD_BIASED, "std", at::std(x, d, false, kd))            \
  X(AMAX, "amax", at::amax(x, d, kd))                       \
  X(AMIN, "amin", at::amin(x, d, kd))

#define SG_OP_ENUM(code, name, expr) SG_##code,
enum sg_unary_op { SG_UNARY_OPS(SG_OP_ENUM) SG_UNARY_COUNT };
enum sg_binary_op { SG_BINARY_OPS(SG_OP_ENUM) SG_BINARY_COUNT };
enum sg_scalar_op { SG_SCALAR_OPS(SG_OP_ENUM) SG_SCALAR_COUNT };
enum sg_inplace_op { SG_INPLACE_OPS(SG_OP_ENUM) SG_INPLACE_COUNT };
enum sg_reduce_op { SG_REDUCE_OPS(SG_OP_ENUM) SG_REDUCE_COUNT };
#undef SG_OP_ENUM

// The op families, for sg_op_name.
enum sg_op_kind { SG_KIND_UNARY, SG_KIND_BINARY, SG_KIND_SCALAR, SG_KIND_INPLACE, SG_KIND_REDUCE };

#endif
