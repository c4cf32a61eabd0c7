package torch

// #include "shim.h"
import "C"

import (
	"fmt"
	"unsafe"
)

// ---- creation ----

// Full returns a tensor of the given shape filled with v.
func Full(shape []int64, v float64, o Options) *Tensor {
	var out C.sg_tensor
	dt, dv, di := o.c()
	must("full", C.sg_full(ptr64(shape), C.int(len(shape)), C.double(v), dt, dv, di, &out))
	return wrap(out)
}

// Zeros returns a zero tensor.
func Zeros(shape []int64, o Options) *Tensor { return Full(shape, 0, o) }

// Ones returns a tensor of ones.
func Ones(shape []int64, o Options) *Tensor { return Full(shape, 1, o) }

// Randn draws from N(0, 1) with g (nil: libtorch's default generator).
func Randn(shape []int64, g *Generator, o Options) *Tensor {
	var out C.sg_tensor
	dt, dv, di := o.c()
	must("randn", C.sg_randn(ptr64(shape), C.int(len(shape)), g.h(), dt, dv, di, &out))
	return wrap(out)
}

// Rand draws from U[0, 1) with g (nil: libtorch's default generator).
func Rand(shape []int64, g *Generator, o Options) *Tensor {
	var out C.sg_tensor
	dt, dv, di := o.c()
	must("rand", C.sg_rand(ptr64(shape), C.int(len(shape)), g.h(), dt, dv, di, &out))
	return wrap(out)
}

// Arange returns start, start+step, ... below end.
func Arange(start, end, step float64, o Options) *Tensor {
	var out C.sg_tensor
	dt, dv, di := o.c()
	must("arange", C.sg_arange(C.double(start), C.double(end), C.double(step), dt, dv, di, &out))
	return wrap(out)
}

func checkLen(op string, n int, shape []int64) {
	want := int64(1)
	for _, s := range shape {
		want *= s
	}
	if int64(n) != want {
		panic(&Error{Op: op, Msg: fmt.Sprintf("%d values do not fill shape %v (%d)", n, shape, want)})
	}
}

// FromFloat32 copies data into a new CPU float32 tensor of the given shape.
func FromFloat32(data []float32, shape ...int64) *Tensor {
	checkLen("from float32", len(data), shape)
	var out C.sg_tensor
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	must("from float32", C.sg_from_data(p, ptr64(shape), C.int(len(shape)), C.SG_F32, &out))
	return wrap(out)
}

// FromInt64 copies data into a new CPU int64 tensor of the given shape.
func FromInt64(data []int64, shape ...int64) *Tensor {
	checkLen("from int64", len(data), shape)
	var out C.sg_tensor
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	must("from int64", C.sg_from_data(p, ptr64(shape), C.int(len(shape)), C.SG_I64, &out))
	return wrap(out)
}

// FromUint8 copies data into a new CPU uint8 tensor of the given shape.
func FromUint8(data []uint8, shape ...int64) *Tensor {
	checkLen("from uint8", len(data), shape)
	var out C.sg_tensor
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	must("from uint8", C.sg_from_data(p, ptr64(shape), C.int(len(shape)), C.SG_U8, &out))
	return wrap(out)
}

// FromFloat64 copies data into a new CPU float64 tensor of the given shape.
func FromFloat64(data []float64, shape ...int64) *Tensor {
	checkLen("from float64", len(data), shape)
	var out C.sg_tensor
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	must("from float64", C.sg_from_data(p, ptr64(shape), C.int(len(shape)), C.SG_F64, &out))
	return wrap(out)
}

// Float64s copies the values (converted to float64, moved to the CPU) into a Go slice.
func (t *Tensor) Float64s() []float64 {
	out := make([]float64, t.Numel())
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	must("float64s", C.sg_copy_data(t.handle(), p, C.int64_t(8*len(out)), C.SG_F64), t)
	return out
}

// Eigh decomposes a symmetric matrix as torch.linalg.eigh: eigenvalues ascending, eigenvectors
// as the columns of vecs.
func Eigh(a *Tensor) (vals, vecs *Tensor) {
	var v, q C.sg_tensor
	must("eigh", C.sg_eigh(a.handle(), &v, &q), a)
	return wrap(v), wrap(q)
}

// Float32s copies the values (converted to float32, moved to the CPU) into a Go slice.
func (t *Tensor) Float32s() []float32 {
	out := make([]float32, t.Numel())
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	must("float32s", C.sg_copy_data(t.handle(), p, C.int64_t(4*len(out)), C.SG_F32), t)
	return out
}

// Int64s copies the values (converted to int64) into a Go slice.
func (t *Tensor) Int64s() []int64 {
	out := make([]int64, t.Numel())
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	must("int64s", C.sg_copy_data(t.handle(), p, C.int64_t(8*len(out)), C.SG_I64), t)
	return out
}

// Uint8s copies the values (converted to uint8) into a Go slice.
func (t *Tensor) Uint8s() []uint8 {
	out := make([]uint8, t.Numel())
	var p unsafe.Pointer
	if len(out) > 0 {
		p = unsafe.Pointer(&out[0])
	}
	must("uint8s", C.sg_copy_data(t.handle(), p, C.int64_t(len(out)), C.SG_U8), t)
	return out
}

// Item returns the value of a one-element tensor. On CUDA it waits for the device: call it once
// per log tick, not per op.
func (t *Tensor) Item() float64 {
	var v C.double
	must("item", C.sg_item(t.handle(), &v), t)
	return float64(v)
}

// ---- element-wise ----

type unaryOp int

// Op codes come from shim_ops.h, the one list the C++ switch is generated from.
const (
	opNeg        unaryOp = C.SG_NEG
	opExp        unaryOp = C.SG_EXP
	opLog        unaryOp = C.SG_LOG
	opSqrt       unaryOp = C.SG_SQRT
	opRsqrt      unaryOp = C.SG_RSQRT
	opAbs        unaryOp = C.SG_ABS
	opRelu       unaryOp = C.SG_RELU
	opSigmoid    unaryOp = C.SG_SIGMOID
	opTanh       unaryOp = C.SG_TANH
	opSquare     unaryOp = C.SG_SQUARE
	opDetach     unaryOp = C.SG_DETACH
	opClone      unaryOp = C.SG_CLONE
	opContiguous unaryOp = C.SG_CONTIGUOUS
	opSign       unaryOp = C.SG_SIGN
	opFloor      unaryOp = C.SG_FLOOR
	opRound      unaryOp = C.SG_ROUND
	opSin        unaryOp = C.SG_SIN
	opCos        unaryOp = C.SG_COS
	opLogicalNot unaryOp = C.SG_LOGICAL_NOT
	opReciprocal unaryOp = C.SG_RECIPROCAL
	opIsFinite   unaryOp = C.SG_ISFINITE
)

var unaryNames = opNames(C.SG_KIND_UNARY, C.SG_UNARY_COUNT)

func (t *Tensor) unary(op unaryOp) *Tensor {
	var out C.sg_tensor
	must(unaryNames[op], C.sg_unary(C.int(op), t.handle(), &out), t)
	return wrap(out)
}

func (t *Tensor) Neg() *Tensor        { return t.unary(opNeg) }
func (t *Tensor) Exp() *Tensor        { return t.unary(opExp) }
func (t *Tensor) Log() *Tensor        { return t.unary(opLog) }
func (t *Tensor) Sqrt() *Tensor       { return t.unary(opSqrt) }
func (t *Tensor) Rsqrt() *Tensor      { return t.unary(opRsqrt) }
func (t *Tensor) Abs() *Tensor        { return t.unary(opAbs) }
func (t *Tensor) Relu() *Tensor       { return t.unary(opRelu) }
func (t *Tensor) Sigmoid() *Tensor    { return t.unary(opSigmoid) }
func (t *Tensor) Tanh() *Tensor       { return t.unary(opTanh) }
func (t *Tensor) Square() *Tensor     { return t.unary(opSquare) }
func (t *Tensor) Detach() *Tensor     { return t.unary(opDetach) }
func (t *Tensor) Clone() *Tensor      { return t.unary(opClone) }
func (t *Tensor) Contiguous() *Tensor { return t.unary(opContiguous) }
func (t *Tensor) Sign() *Tensor       { return t.unary(opSign) }
func (t *Tensor) Floor() *Tensor      { return t.unary(opFloor) }
func (t *Tensor) Round() *Tensor      { return t.unary(opRound) }
func (t *Tensor) Sin() *Tensor        { return t.unary(opSin) }
func (t *Tensor) Cos() *Tensor        { return t.unary(opCos) }
func (t *Tensor) LogicalNot() *Tensor { return t.unary(opLogicalNot) }
func (t *Tensor) Reciprocal() *Tensor { return t.unary(opReciprocal) }
func (t *Tensor) IsFinite() *Tensor   { return t.unary(opIsFinite) }

type binaryOp int

const (
	opAdd     binaryOp = C.SG_ADD
	opSub     binaryOp = C.SG_SUB
	opMul     binaryOp = C.SG_MUL
	opDiv     binaryOp = C.SG_DIV
	opPow     binaryOp = C.SG_POW
	opMatmul  binaryOp = C.SG_MATMUL
	opMaximum binaryOp = C.SG_MAXIMUM
	opMinimum binaryOp = C.SG_MINIMUM
	opEq      binaryOp = C.SG_EQ
	opGt      binaryOp = C.SG_GT
	opLt      binaryOp = C.SG_LT
	opGe      binaryOp = C.SG_GE
	opLe      binaryOp = C.SG_LE
)

var binaryNames = opNames(C.SG_KIND_BINARY, C.SG_BINARY_COUNT)

func (t *Tensor) binary(op binaryOp, o *Tensor) *Tensor {
	var out C.sg_tensor
	must(binaryNames[op], C.sg_binary(C.int(op), t.handle(), o.handle(), &out), t, o)
	return wrap(out)
}

// Element-wise with broadcasting, as in PyTorch.
func (t *Tensor) Add(o *Tensor) *Tensor     { return t.binary(opAdd, o) }
func (t *Tensor) Sub(o *Tensor) *Tensor     { return t.binary(opSub, o) }
func (t *Tensor) Mul(o *Tensor) *Tensor     { return t.binary(opMul, o) }
func (t *Tensor) Div(o *Tensor) *Tensor     { return t.binary(opDiv, o) }
func (t *Tensor) Pow(o *Tensor) *Tensor     { return t.binary(opPow, o) }
func (t *Tensor) Matmul(o *Tensor) *Tensor  { return t.binary(opMatmul, o) }
func (t *Tensor) Maximum(o *Tensor) *Tensor { return t.binary(opMaximum, o) }
func (t *Tensor) Minimum(o *Tensor) *Tensor { return t.binary(opMinimum, o) }
func (t *Tensor) Eq(o *Tensor) *Tensor      { return t.binary(opEq, o) }
func (t *Tensor) Gt(o *Tensor) *Tensor      { return t.binary(opGt, o) }
func (t *Tensor) Lt(o *Tensor) *Tensor      { return t.binary(opLt, o) }
func (t *Tensor) Ge(o *Tensor) *Tensor      { return t.binary(opGe, o) }
func (t *Tensor) Le(o *Tensor) *Tensor      { return t.binary(opLe, o) }

type scalarOp int

const (
	opAddS  scalarOp = C.SG_ADD_S
	opSubS  scalarOp = C.SG_SUB_S
	opMulS  scalarOp = C.SG_MUL_S
	opDivS  scalarOp = C.SG_DIV_S
	opPowS  scalarOp = C.SG_POW_S
	opRSubS scalarOp = C.SG_RSUB_S
	opGtS   scalarOp = C.SG_GT_S
	opLtS   scalarOp = C.SG_LT_S
	opGeS   scalarOp = C.SG_GE_S
	opLeS   scalarOp = C.SG_LE_S
	opEqS   scalarOp = C.SG_EQ_S
	opRDivS scalarOp = C.SG_RDIV_S
)

var scalarNames = opNames(C.SG_KIND_SCALAR, C.SG_SCALAR_COUNT)

func (t *Tensor) scalar(op scalarOp, s float64) *Tensor {
	var out C.sg_tensor
	must(scalarNames[op], C.sg_scalar(C.int(op), t.handle(), C.double(s), &out), t)
	return wrap(out)
}

// Tensor-scalar arithmetic; RSubS is s - t and RDivS is s / t.
func (t *Tensor) AddS(s float64) *Tensor  { return t.scalar(opAddS, s) }
func (t *Tensor) SubS(s float64) *Tensor  { return t.scalar(opSubS, s) }
func (t *Tensor) MulS(s float64) *Tensor  { return t.scalar(opMulS, s) }
func (t *Tensor) DivS(s float64) *Tensor  { return t.scalar(opDivS, s) }
func (t *Tensor) PowS(s float64) *Tensor  { return t.scalar(opPowS, s) }
func (t *Tensor) RSubS(s float64) *Tensor { return t.scalar(opRSubS, s) }
func (t *Tensor) GtS(s float64) *Tensor   { return t.scalar(opGtS, s) }
func (t *Tensor) LtS(s float64) *Tensor   { return t.scalar(opLtS, s) }
func (t *Tensor) GeS(s float64) *Tensor   { return t.scalar(opGeS, s) }
func (t *Tensor) LeS(s float64) *Tensor   { return t.scalar(opLeS, s) }
func (t *Tensor) EqS(s float64) *Tensor   { return t.scalar(opEqS, s) }
func (t *Tensor) RDivS(s float64) *Tensor { return t.scalar(opRDivS, s) }

// ---- in place (no autograd history is wanted on these: use on leaves under NoGrad) ----

type inplaceOp int

var inplaceNames = opNames(C.SG_KIND_INPLACE, C.SG_INPLACE_COUNT)

func (t *Tensor) inplace(op inplaceOp, o *Tensor, s float64) {
	must(inplaceNames[op], C.sg_inplace(C.int(op), t.handle(), handleOrNil(o), C.double(s)), t, o)
}

// opNames reads the names of a family of ops from the shim, once.
func opNames(kind C.int, n C.int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = C.GoString(C.sg_op_name(kind, C.int(i)))
	}
	return names
}

// CopyFrom copies src's values into t (broadcasting, converting dtype and device).
func (t *Tensor) CopyFrom(src *Tensor) { t.inplace(C.SG_COPY_, src, 0) }

// AddInPlace does t += alpha*o.
func (t *Tensor) AddInPlace(o *Tensor, alpha float64) { t.inplace(C.SG_ADD_, o, alpha) }

// MulSInPlace does t *= s.
func (t *Tensor) MulSInPlace(s float64) { t.inplace(C.SG_MUL_S_, nil, s) }

// Fill sets every element to s.
func (t *Tensor) Fill(s float64) { t.inplace(C.SG_FILL_, nil, s) }

// Zero sets every element to 0.
func (t *Tensor) Zero() { t.inplace(C.SG_ZERO_, nil, 0) }

// MulInPlace does t *= o.
func (t *Tensor) MulInPlace(o *Tensor) { t.inplace(C.SG_MUL_, o, 0) }

// LerpInPlace does t += w*(o - t).
func (t *Tensor) LerpInPlace(o *Tensor, w float64) { t.inplace(C.SG_LERP_, o, w) }

// AddSInPlace does t += s.
func (t *Tensor) AddSInPlace(s float64) { t.inplace(C.SG_ADD_S_, nil, s) }

// ---- reductions ----

type reduceOp int

const (
	opSum         reduceOp = C.SG_SUM
	opMean        reduceOp = C.SG_MEAN
	opVarUnbiased reduceOp = C.SG_VAR_UNBIASED
	opVarBiased   reduceOp = C.SG_VAR_BIASED
	opStdUnbiased reduceOp = C.SG_STD_UNBIASED
	opStdBiased   reduceOp = C.SG_STD_BIASED
	opAmax        reduceOp = C.SG_AMAX
	opAmin        reduceOp = C.SG_AMIN
)

var reduceNames = opNames(C.SG_KIND_REDUCE, C.SG_REDUCE_COUNT)

func (t *Tensor) reduce(op reduceOp, dims []int64, keep bool) *Tensor {
	var out C.sg_tensor
	must(reduceNames[op], C.sg_reduce(C.int(op), t.handle(), ptr64(dims), C.int(len(dims)), cbool(keep), &out), t)
	return wrap(out)
}

// Sum over dims (all dims when dims is empty), keeping them as size 1 when keep is set.
func (t *Tensor) Sum(dims []int64, keep bool) *Tensor { return t.reduce(opSum, dims, keep) }

// Mean over dims (all when empty).
func (t *Tensor) Mean(dims []int64, keep bool) *Tensor { return t.reduce(opMean, dims, keep) }

// Var over dims; unbiased divides by n-1 as PyTorch's default does.
func (t *Tensor) Var(dims []int64, unbiased, keep bool) *Tensor {
	if unbiased {
		return t.reduce(opVarUnbiased, dims, keep)
	}
	return t.reduce(opVarBiased, dims, keep)
}

// Std over dims; unbiased divides by n-1.
func (t *Tensor) Std(dims []int64, unbiased, keep bool) *Tensor {
	if unbiased {
		return t.reduce(opStdUnbiased, dims, keep)
	}
	return t.reduce(opStdBiased, dims, keep)
}

// Amax is the maximum over dims.
func (t *Tensor) Amax(dims []int64, keep bool) *Tensor { return t.reduce(opAmax, dims, keep) }

// Amin is the minimum over dims.
func (t *Tensor) Amin(dims []int64, keep bool) *Tensor { return t.reduce(opAmin, dims, keep) }

// SumAll sums every element to a scalar tensor.
func (t *Tensor) SumAll() *Tensor { return t.reduce(opSum, nil, false) }

// MeanAll averages every element to a scalar tensor.
func (t *Tensor) MeanAll() *Tensor { return t.reduce(opMean, nil, false) }

// ---- other element-wise ----

// Clamp limits values to [lo, hi]; use ClampMin/ClampMax for one side.
func (t *Tensor) Clamp(lo, hi float64) *Tensor { return t.clamp(lo, hi, true, true) }

// ClampMin limits values from below.
func (t *Tensor) ClampMin(lo float64) *Tensor { return t.clamp(lo, 0, true, false) }

// ClampMax limits values from above.
func (t *Tensor) ClampMax(hi float64) *Tensor { return t.clamp(0, hi, false, true) }

func (t *Tensor) clamp(lo, hi float64, hasLo, hasHi bool) *Tensor {
	var out C.sg_tensor
	must("clamp", C.sg_clamp(t.handle(), C.double(lo), C.double(hi), cbool(hasLo), cbool(hasHi), &out), t)
	return wrap(out)
}

// Where picks a where cond is true and b elsewhere.
func Where(cond, a, b *Tensor) *Tensor {
	var out C.sg_tensor
	must("where", C.sg_where(cond.handle(), a.handle(), b.handle(), &out), cond, a, b)
	return wrap(out)
}

// Lerp is a + w*(b - a) with a scalar weight.
func Lerp(a, b *Tensor, w float64) *Tensor {
	var out C.sg_tensor
	must("lerp", C.sg_lerp(a.handle(), b.handle(), nil, C.double(w), &out), a, b)
	return wrap(out)
}

// LerpT is a + w*(b - a) with a tensor weight.
func LerpT(a, b, w *Tensor) *Tensor {
	var out C.sg_tensor
	must("lerp", C.sg_lerp(a.handle(), b.handle(), w.handle(), 0, &out), a, b, w)
	return wrap(out)
}

// LeakyReLU with the given negative slope.
func (t *Tensor) LeakyReLU(slope float64) *Tensor {
	var out C.sg_tensor
	must("leaky_relu", C.sg_leaky_relu(t.handle(), C.double(slope), &out), t)
	return wrap(out)
}

// Softplus is log(1 + exp(x)) (beta 1, threshold 20, as F.softplus).
func (t *Tensor) Softplus() *Tensor {
	var out C.sg_tensor
	must("softplus", C.sg_softplus(t.handle(), 1, 20, &out), t)
	return wrap(out)
}

// To converts to another dtype and device (a no-op copy-free view when both already match).
func (t *Tensor) To(d Device, dt DType) *Tensor {
	var out C.sg_tensor
	must("to", C.sg_to(t.handle(), C.int(dt), C.int(d.Type), C.int(d.Index), 0, &out), t)
	return wrap(out)
}

// ToDevice moves to a device keeping the dtype; nonBlocking overlaps host-to-GPU copies from
// pinned memory.
func (t *Tensor) ToDevice(d Device, nonBlocking bool) *Tensor {
	var out C.sg_tensor
	must("to", C.sg_to(t.handle(), -1, C.int(d.Type), C.int(d.Index), cbool(nonBlocking), &out), t)
	return wrap(out)
}

// ToDType converts the dtype on the same device.
func (t *Tensor) ToDType(dt DType) *Tensor {
	var out C.sg_tensor
	must("to", C.sg_to(t.handle(), C.int(dt), -1, 0, 0, &out), t)
	return wrap(out)
}

// ---- shape ----

// Reshape returns a tensor of the given shape (-1 infers one size).
func (t *Tensor) Reshape(shape ...int64) *Tensor {
	var out C.sg_tensor
	must(fmt.Sprintf("reshape to %v", shape), C.sg_reshape(t.handle(), ptr64(shape), C.int(len(shape)), &out), t)
	return wrap(out)
}

// Expand broadcasts size-1 dims to the given shape without copying (-1 keeps a size).
func (t *Tensor) Expand(shape ...int64) *Tensor {
	var out C.sg_tensor
	must(fmt.Sprintf("expand to %v", shape), C.sg_expand(t.handle(), ptr64(shape), C.int(len(shape)), &out), t)
	return wrap(out)
}

// Permute reorders dimensions.
func (t *Tensor) Permute(dims ...int64) *Tensor {
	var out C.sg_tensor
	must("permute", C.sg_permute(t.handle(), ptr64(dims), C.int(len(dims)), &out), t)
	return wrap(out)
}

// Repeat tiles the tensor.
func (t *Tensor) Repeat(reps ...int64) *Tensor {
	var out C.sg_tensor
	must("repeat", C.sg_repeat(t.handle(), ptr64(reps), C.int(len(reps)), &out), t)
	return wrap(out)
}

// Flip reverses the order along dims.
func (t *Tensor) Flip(dims ...int64) *Tensor {
	var out C.sg_tensor
	must("flip", C.sg_flip(t.handle(), ptr64(dims), C.int(len(dims)), &out), t)
	return wrap(out)
}

// Transpose swaps two dimensions.
func (t *Tensor) Transpose(d0, d1 int64) *Tensor {
	var out C.sg_tensor
	must("transpose", C.sg_transpose(t.handle(), C.int64_t(d0), C.int64_t(d1), &out), t)
	return wrap(out)
}

// Narrow returns length elements along dim starting at start (a view).
func (t *Tensor) Narrow(dim, start, length int64) *Tensor {
	var out C.sg_tensor
	must("narrow", C.sg_narrow(t.handle(), C.int64_t(dim), C.int64_t(start), C.int64_t(length), &out), t)
	return wrap(out)
}

// IndexSelect gathers the entries of idx (int64) along dim.
func (t *Tensor) IndexSelect(dim int64, idx *Tensor) *Tensor {
	var out C.sg_tensor
	must("index_select", C.sg_index_select(t.handle(), C.int64_t(dim), idx.handle(), &out), t, idx)
	return wrap(out)
}

// Unsqueeze inserts a size-1 dimension.
func (t *Tensor) Unsqueeze(dim int64) *Tensor {
	var out C.sg_tensor
	must("unsqueeze", C.sg_unsqueeze(t.handle(), C.int64_t(dim), &out), t)
	return wrap(out)
}

// Squeeze removes a size-1 dimension.
func (t *Tensor) Squeeze(dim int64) *Tensor {
	var out C.sg_tensor
	must("squeeze", C.sg_squeeze(t.handle(), C.int64_t(dim), &out), t)
	return wrap(out)
}

// Cat concatenates along dim.
func Cat(ts []*Tensor, dim int64) *Tensor {
	var out C.sg_tensor
	hs := handles(ts)
	must("cat", C.sg_cat(ptrH(hs), C.int(len(hs)), C.int64_t(dim), 0, &out), ts...)
	return wrap(out)
}

// Stack joins along a new dim.
func Stack(ts []*Tensor, dim int64) *Tensor {
	var out C.sg_tensor
	hs := handles(ts)
	must("stack", C.sg_cat(ptrH(hs), C.int(len(hs)), C.int64_t(dim), 1, &out), ts...)
	return wrap(out)
}
