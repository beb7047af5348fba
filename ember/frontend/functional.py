"""The torch-level functions (ember.add, ember.sum, ...), written once on primitives and attached
to Tensor as methods by ``methods.py``.

Broadcasting and type promotion happen here: primitives are shape- and dtype-strict.  Two paths:

* recorded (grad needed, or tracing): every broadcast and cast is an explicit ``expand`` /
  ``convert`` primitive, so gradients and graphs see them;
* plain eager (no grad, no tracing): NumPy broadcasts by itself, and the op is one NumPy call.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from .. import dtypes as dt
from .. import ops as P
from ..runtime import cpu as _cpu
from ..shapes import broadcast_shapes
from .device_ops import on_cuda
from .dispatch import (STATE, bind, finish as _finish, large_elementwise, try_eager_kernel,
                       wrap as _wrap)
from .tensor import Tensor
from .autocast import AMP as _AMP  # autocast hook: one attribute read when off

_ndarray = np.ndarray
_PARALLEL_MIN = _cpu.PARALLEL_MIN
_new_tensor = Tensor.__new__
_result_type = dt.result_type


# --- broadcasting / promotion helpers ----------------------------------------------------------
def scalar_tensor(value, dtype):
    return bind(P.FULL, shape=(), value=value, dtype=dtype)


def to_dtype(t, dtype):
    return t if t.dtype is dtype else bind(P.CONVERT, t, dtype=dtype)


def expand_to(t, shape):
    shape = tuple(shape)
    have = tuple(t.shape)
    # compare ranks first: element-wise == on symbolic sizes of unrelated dims records guards
    if len(have) == len(shape) and have == shape:
        return t
    if len(have) < len(shape):
        t = bind(P.RESHAPE, t, shape=(1,) * (len(shape) - len(have)) + have)
        have = tuple(t.shape)
        if have == shape:
            return t
    return bind(P.EXPAND, t, shape=shape)


def as_tensor_like(x, dtype):
    """A Tensor of `dtype` from a Tensor or a Python/NumPy scalar."""
    if isinstance(x, Tensor):
        return to_dtype(x, dtype)
    return scalar_tensor(x, dtype)


def _needs_record(*xs):
    if STATE.tracer is not None:
        return True
    if not STATE.grad_enabled:
        return False
    for x in xs:
        if x.__class__ is Tensor or isinstance(x, Tensor):
            if x._requires_grad:
                return True
    return False


def _check_scalar(x):
    # a symbolic size (SymDim, while tracing with dynamic shapes) is an int scalar too
    if not isinstance(x, (int, float, bool, complex, np.generic)) and \
            not hasattr(x, "free_symbols"):
        raise TypeError(f"unsupported operand type: expected a Tensor or a number, got "
                        f"{type(x).__name__}")


_FLOAT_RESULT = set()   # primitives whose result is floating point even for integer inputs


def binary(prim, a, b):
    """Broadcast + promote a and b (Tensors or scalars, at least one Tensor), then bind prim."""
    a_t = isinstance(a, Tensor)
    b_t = isinstance(b, Tensor)
    if not a_t:
        _check_scalar(a)
    if not b_t:
        _check_scalar(b)
    dtype = _result_type(a, b)
    if prim in _FLOAT_RESULT and dtype.category < dt.FLOAT:
        dtype = dt.get_default_dtype()
    if not _needs_record(a, b):
        # Python ints out of the dtype's range wrap (uint8 + -1 == 255), as in PyTorch
        ad = a._data if a_t else np.asarray(a).astype(dtype.np)
        bd = b._data if b_t else np.asarray(b).astype(dtype.np)
        try:
            if ad.dtype != dtype.np:
                ad = ad.astype(dtype.np)
            if bd.dtype != dtype.np:
                bd = bd.astype(dtype.np)
            return _wrap(large_elementwise(prim, ad, bd))
        except ValueError:
            broadcast_shapes(ad.shape, bd.shape)  # raises PyTorch's message
            raise
        except (TypeError, AttributeError):
            if not (on_cuda(ad) or on_cuda(bd)):   # NumPy refused a CUDA array: bind below
                raise
    a = as_tensor_like(a, dtype)
    b = as_tensor_like(b, dtype)
    shape = broadcast_shapes(tuple(a.shape), tuple(b.shape))
    return bind(prim, expand_to(a, shape), expand_to(b, shape))


def _fast_binary(prim):
    """Tensor dunder with the common case (same shape and dtype, nothing to record) inlined."""
    np_fn = prim.numpy

    def op(self, other):
        if other.__class__ is Tensor and STATE.tracer is None:
            a = self._data
            b = other._data
            if a.dtype is b.dtype and a.shape == b.shape:
                if STATE.grad_enabled and (self._requires_grad or other._requires_grad):
                    return bind(prim, self, other)  # already shape- and dtype-strict
                try:
                    out = np_fn(a, b) if a.size < _PARALLEL_MIN else large_elementwise(prim, a, b)
                except (TypeError, AttributeError):   # a CUDA operand (NumPy refuses it): bind
                    return bind(prim, self, other)
                if out.__class__ is not _ndarray:
                    out = np.asarray(out)
                t = _new_tensor(Tensor)
                t._data = out
                return t
        if not isinstance(other, (Tensor, int, float, complex, np.generic)) and not hasattr(
                other, "free_symbols"):  # (a symbolic size while tracing is an int)
            return NotImplemented  # like torch: `t == None` is False, `t + "a"` a TypeError
        return binary(prim, self, other)
    return op


def float_input(x):
    """Math functions of integer tensors compute in the default float dtype, like PyTorch."""
    if x.dtype.category < dt.FLOAT:   # (complex stays complex)
        return to_dtype(x, dt.get_default_dtype())
    return x


def _unary(prim, to_float=True):
    np_fn = prim.numpy

    def op(input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{prim.name}(): argument 'input' must be Tensor, not "
                            f"{type(input).__name__}")
        x = float_input(input) if to_float else input
        if STATE.tracer is None and not (STATE.grad_enabled and x._requires_grad):
            a = x._data
            try:
                return _wrap(np_fn(a) if a.size < _PARALLEL_MIN else large_elementwise(prim, a))
            except (TypeError, AttributeError):   # a CUDA tensor (NumPy refuses it): bind
                pass
        return bind(prim, x)
    op.__name__ = prim.name
    return op


exp = _unary(P.EXP)
log = _unary(P.LOG)
log1p = _unary(P.LOG1P)
expm1 = _unary(P.EXPM1)
sqrt = _unary(P.SQRT)
rsqrt = _unary(P.RSQRT)
sin = _unary(P.SIN)
cos = _unary(P.COS)
tanh = _unary(P.TANH)
_sigmoid_rule = _unary(P.SIGMOID)
# e^-x stays finite up to these (float32: e^88 = 1.7e38)
_SIGMOID_CLAMP = {np.dtype(np.float32): 88.0, np.dtype(np.float64): 708.0}


def _sigmoid_np(a):
    """1 / (1 + e^-x) in a few passes (exp on every core through runtime/cpu), ~10x faster than
    the primitive's overflow-free NumPy rule exp(-logaddexp(0, -x)).  e^-x is clamped finite
    (no overflow warning from any thread) and the clamped places set to 0 afterwards."""
    e = np.negative(a)
    limit = _SIGMOID_CLAMP[a.dtype]
    far = e > limit
    np.minimum(e, limit, out=e)
    e = _cpu.elementwise(np.exp, e) if e.size >= _PARALLEL_MIN else np.exp(e, out=e)
    e += 1
    y = np.reciprocal(e, out=e)
    if far.any():
        y[far] = 0   # exactly 0 there, as 1 / (1 + inf)
    return y


def sigmoid(input):
    """The sigmoid primitive, with its forward computed by _sigmoid_np in plain eager (the
    recorded node is the primitive's own, so backward and grad_fn are unchanged)."""
    a = input._data if isinstance(input, Tensor) else None
    if (a.__class__ is _ndarray and a.dtype in _SIGMOID_CLAMP and a.size >= 64
            and STATE.tracer is None and STATE.record_hook is None):
        out = try_eager_kernel(P.SIGMOID, [a])   # large: the one-op CPU kernel once compiled
        return _finish(P.SIGMOID, (input,), {}, out if out is not None else _sigmoid_np(a))
    return _sigmoid_rule(input)


sigmoid.__name__ = "sigmoid"
erf = _unary(P.ERF)
reciprocal = _unary(P.RECIPROCAL)
relu = _unary(P.RELU, to_float=False)
abs = _unary(P.ABS, to_float=False)
neg = _unary(P.NEG, to_float=False)
negative = neg
logical_not = _unary(P.LOGICAL_NOT, to_float=False)
bitwise_not = _unary(P.BITWISE_NOT, to_float=False)
isnan = _unary(P.ISNAN, to_float=False)


def _rounding(prim):
    base = _unary(prim, to_float=False)

    def op(input):
        if input.dtype.category != dt.FLOAT:
            return input.clone()
        return base(input)
    op.__name__ = prim.name
    return op


floor = _rounding(P.FLOOR)
ceil = _rounding(P.CEIL)
trunc = _rounding(P.TRUNC)
fix = trunc


def round(input, decimals=0):
    if decimals == 0:
        return _rounding(P.ROUND)(input)
    scale = 10.0 ** decimals
    return _rounding(P.ROUND)(input * scale) / scale


def sign(input):
    if input.dtype is dt.bool_:
        return input.clone()
    return _unary(P.SIGN, to_float=False)(input)


sgn = sign


def exp2(input):
    return pow(2.0, float_input(input))


def log2(input):
    return log(input) * (1.0 / math.log(2.0))


def log10(input):
    return log(input) * (1.0 / math.log(10.0))


def tan(input):
    x = float_input(input)
    return sin(x) / cos(x)


def sinh(input):
    x = float_input(input)
    # expm1, not exp: exp(x) - exp(-x) cancels catastrophically for small |x|
    return (expm1(x) - expm1(-x)) * 0.5


def cosh(input):
    x = float_input(input)
    return (exp(x) + exp(-x)) * 0.5


def square(input):
    if input.dtype is dt.bool_:
        input = to_dtype(input, dt.int64)  # torch.square is pow(x, 2): bools give int64
    return input * input


def frac(input):
    return input - trunc(input)


def positive(input):
    return input


def isinf(input):
    if input.dtype.category != dt.FLOAT:
        return zeros_like_bool(input)
    return abs(input) == math.inf


def isfinite(input):
    if input.dtype.category != dt.FLOAT:
        return logical_not(zeros_like_bool(input))
    return logical_not(isnan(input)) & logical_not(isinf(input))


def zeros_like_bool(x):
    false = scalar_tensor(False, dt.bool_)
    if STATE.tracer is None and x.is_cuda:
        false = false.to(x.device)
    return expand_to(false, tuple(x.shape))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    if input.dtype.category != dt.FLOAT:
        return input.clone()
    info = np.finfo(input.dtype.np) if input.dtype is not dt.bfloat16 else None
    big = float(info.max) if info is not None else 3.3895313892515355e+38
    posinf = big if posinf is None else posinf
    neginf = -big if neginf is None else neginf
    out = where(isnan(input), nan, input)
    out = where(input == math.inf, posinf, out)
    return where(input == -math.inf, neginf, out)


# --- binary ------------------------------------------------------------------------------------
def add(input, other, *, alpha=1):
    if isinstance(alpha, Tensor) or alpha != 1:   # a traced 0-d lr must not branch
        other = other * alpha
    return binary(P.ADD, input, other)


def _is_bool(x):
    return x.dtype is dt.bool_ if isinstance(x, Tensor) else isinstance(x, (bool, np.bool_))


def sub(input, other, *, alpha=1):
    a_bool, b_bool = _is_bool(input), _is_bool(other)
    if a_bool and b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if a_bool or b_bool:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. "
                           "If you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    if isinstance(alpha, Tensor) or alpha != 1:   # a traced 0-d lr must not branch
        other = other * alpha
    return binary(P.SUB, input, other)


subtract = sub


def mul(input, other):
    return binary(P.MUL, input, other)


multiply = mul

_FLOAT_RESULT.update({P.DIV, P.ATAN2})


def div(input, other, *, rounding_mode=None):
    if rounding_mode is None:
        return binary(P.DIV, input, other)
    if rounding_mode == "trunc":
        _no_bool("div_trunc_cpu", input, other)
        q = binary(P.DIV, input, other)
        out_dtype = _result_type(input, other)
        return trunc(q) if out_dtype.category == dt.FLOAT else to_dtype(trunc(q), out_dtype)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                     f"found '{rounding_mode}'")


divide = true_divide = div


def _no_bool(kernel, input, other):
    if _result_type(input, other) is dt.bool_:
        raise NotImplementedError(f"\"{kernel}\" not implemented for 'Bool'")


def floor_divide(input, other):
    _no_bool("div_floor_cpu", input, other)
    out = binary(P.FLOOR_DIVIDE, input, other)
    if out.dtype.category == dt.FLOAT and _needs_record(input, other):
        # piecewise constant: PyTorch records it with a zero gradient (not "no grad_fn")
        for x in (input, other):
            if isinstance(x, Tensor) and x.requires_grad:
                out = out + zero_grad_link(x, out)
    return out


def zero_grad_link(x, like=None):
    """Zeros shaped like `like` (default x) whose gradient to x is 0: how a piecewise-constant
    result (floor division, bernoulli, a 0-norm) stays in the graph, as PyTorch's do."""
    false = zeros_like_bool(x)
    link = where(false, x, scalar_tensor(0, x.dtype))
    if like is not None and tuple(like.shape) != tuple(x.shape):
        link = expand_to(link, broadcast_shapes(tuple(like.shape), tuple(x.shape)))
    return link


def remainder(input, other):
    _no_bool("remainder_cpu", input, other)
    return binary(P.REMAINDER, input, other)


def fmod(input, other):
    _no_bool("fmod_cpu", input, other)
    return binary(P.FMOD, input, other)


def atan2(input, other):
    if _AMP.on and "atan2" in _AMP.ops:
        return _AMP.call("atan2", atan2, input, other)
    return binary(P.ATAN2, input, other)


arctan2 = atan2


def pow(input, exponent):
    _no_bool("pow", input, exponent)
    if not isinstance(input, Tensor):
        return binary(P.POW, input, exponent)
    if isinstance(exponent, int) and not isinstance(exponent, bool) and exponent < 0 and \
            input.dtype.category != dt.FLOAT:
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
        if exponent == 2 and input.dtype.category == dt.FLOAT:
            return input * input
        if exponent == 1:
            return input.clone() if input.dtype.category == dt.FLOAT else input.clone()
        if exponent == 0.5 and input.dtype.category == dt.FLOAT:
            return sqrt(input)
    return binary(P.POW, input, exponent)


def float_power(input, exponent):
    return pow(to_dtype(input, dt.float64) if isinstance(input, Tensor) else input,
               to_dtype(exponent, dt.float64) if isinstance(exponent, Tensor) else exponent)


def maximum(input, other):
    return binary(P.MAXIMUM, input, other)


def minimum(input, other):
    return binary(P.MINIMUM, input, other)


fmax, fmin = maximum, minimum


def _cmp(prim):
    def op(input, other):
        return binary(prim, input, other)
    op.__name__ = prim.name
    return op


eq = _cmp(P.EQ)
ne = not_equal = _cmp(P.NE)
lt = less = _cmp(P.LT)
le = less_equal = _cmp(P.LE)
gt = greater = _cmp(P.GT)
ge = greater_equal = _cmp(P.GE)
logical_and = _cmp(P.LOGICAL_AND)
logical_or = _cmp(P.LOGICAL_OR)
logical_xor = _cmp(P.LOGICAL_XOR)


def _bitwise(prim):
    def op(input, other):
        if (isinstance(input, Tensor) and input.dtype.category == dt.FLOAT) or (
                isinstance(other, Tensor) and other.dtype.category == dt.FLOAT):
            raise RuntimeError(f"\"{prim.name}_cpu\" not implemented for 'Float'")
        return binary(prim, input, other)
    op.__name__ = prim.name
    return op


bitwise_and = _bitwise(P.BITWISE_AND)
bitwise_or = _bitwise(P.BITWISE_OR)
bitwise_xor = _bitwise(P.BITWISE_XOR)


def equal(input, other):
    return tuple(input.shape) == tuple(other.shape) and builtins.bool(eq(input, other).all())


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan).all())


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    other_t = other if isinstance(other, Tensor) else scalar_tensor(other, input.dtype)
    a = float_input(input)
    b = to_dtype(other_t, a.dtype)
    close = abs(a - b) <= atol + rtol * abs(b)
    close = close | (a == b)
    if equal_nan:
        close = close | (isnan(a) & isnan(b))
    return close


def where(condition, input=None, other=None):
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if not isinstance(condition, Tensor):
        raise TypeError("where(): argument 'condition' must be Tensor")
    if condition.dtype is not dt.bool_:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {condition.dtype.name.capitalize()}")
    dtype = _result_type(input, other)
    if not _needs_record(input, other):
        a = input._data if isinstance(input, Tensor) else np.asarray(input).astype(dtype.np)
        b = other._data if isinstance(other, Tensor) else np.asarray(other).astype(dtype.np)
        try:
            return _wrap(np.where(condition._data, a.astype(dtype.np, copy=False),
                                  b.astype(dtype.np, copy=False)))
        except ValueError:
            broadcast_shapes(condition._data.shape, a.shape, b.shape)  # PyTorch's message
            raise
        except (TypeError, AttributeError):
            if not (on_cuda(a) or on_cuda(b) or on_cuda(condition._data)):
                raise      # else NumPy refused a CUDA array: bind below
    a = as_tensor_like(input, dtype)
    b = as_tensor_like(other, dtype)
    shape = broadcast_shapes(tuple(condition.shape), tuple(a.shape), tuple(b.shape))
    return bind(P.WHERE, expand_to(condition, shape), expand_to(a, shape), expand_to(b, shape))


def _tensor_where(self, condition, other):
    return where(condition, self, other)


def clamp(input, min=None, max=None):
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    # where, not maximum/minimum: a value on a bound keeps its whole gradient (PyTorch's rule),
    # NaN stays NaN, and min > max gives max everywhere
    if (isinstance(input, Tensor) and input._data.__class__ is _ndarray
            and input._data.dtype.kind == "f" and not _needs_record(input)
            and _plain_number(min) and _plain_number(max)):
        # plain eager: np.clip is the same function in one pass (NaN propagates, min > max
        # gives max) instead of two comparisons and two selects
        return _wrap(np.clip(input._data, min, max))
    out = input
    if min is not None:
        out = where(out < min, min, out)
    if max is not None:
        out = where(out > max, max, out)
    return out


clip = clamp


def _plain_number(x):
    return x is None or (x.__class__ in (int, float))


def clamp_min(input, min):
    return clamp(input, min=min)


def clamp_max(input, max):
    return clamp(input, max=max)


def lerp(input, end, weight):
    return input + weight * (end - input)


def addcmul(input, tensor1, tensor2, *, value=1):
    if _AMP.on and "addcmul" in _AMP.ops:
        return _AMP.call("addcmul", addcmul, input, tensor1, tensor2, value=value)
    return input + value * tensor1 * tensor2 if isinstance(value, Tensor) or value != 1 else input + tensor1 * tensor2


def addcdiv(input, tensor1, tensor2, *, value=1):
    if _AMP.on and "addcdiv" in _AMP.ops:
        return _AMP.call("addcdiv", addcdiv, input, tensor1, tensor2, value=value)
    return input + value * (tensor1 / tensor2) if isinstance(value, Tensor) or value != 1 else input + tensor1 / tensor2


def masked_fill(input, mask, value):
    if mask.dtype is not dt.bool_:
        raise RuntimeError(f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{mask.dtype.name}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        value = to_dtype(value, input.dtype)
    else:
        if isinstance(value, int) and input.dtype.category == dt.INT:
            info = np.iinfo(input.dtype.np)
            if not info.min <= value <= info.max:
                raise RuntimeError(f"value cannot be converted to type {input.dtype.name}_t "
                                   "without overflow")
        value = scalar_tensor(value, input.dtype)
    # out of place, the result takes the broadcast shape (masked_fill_ keeps input's, and
    # raises through inplace.write when the mask is larger)
    broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    return where(mask, value, input)


# reductions and linear algebra live in their own files; this namespace (and Tensor's methods,
# attached from it) includes them, and the shape ops
from .reductions import *  # noqa: E402,F401,F403
from .linalg import *  # noqa: E402,F401,F403
from .shape_ops import *  # noqa: E402,F401,F403  (shape ops are part of this namespace)
from .indexing import gather, nonzero  # noqa: E402,F401
