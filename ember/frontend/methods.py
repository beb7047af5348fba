"""Attach the torch-level functions to Tensor as methods, dunders and in-place variants.

Every op is written once (functional.py, shape_ops.py, indexing.py); this file only says which
function is which method, so ``x.add(y)``, ``ember.add(x, y)`` and ``x + y`` are the same code.
"""
from __future__ import annotations

from .. import dtypes as dt
from .. import ops as P
from ..runtime.device import check_device, device as _device_cls
from . import creation, functional as F, indexing, inplace, shape_ops
from .tensor import Tensor

_METHODS = """
exp log log1p expm1 sqrt rsqrt sin cos tan tanh sigmoid erf reciprocal relu abs neg negative
logical_not bitwise_not isnan isinf isfinite nan_to_num floor ceil trunc fix round sign sgn exp2
log2 log10 sinh cosh square frac positive
add sub subtract mul multiply div divide true_divide floor_divide remainder fmod atan2 arctan2 pow
float_power maximum minimum fmax fmin eq ne not_equal lt less le less_equal gt greater ge
greater_equal logical_and logical_or logical_xor bitwise_and bitwise_or bitwise_xor equal allclose
isclose clamp clip clamp_min clamp_max lerp addcmul addcdiv masked_fill
sum nansum prod mean nanmean var std amax amin max min argmax argmin aminmax logsumexp all any
count_nonzero cumsum cumprod norm dist var_mean std_mean
matmul mm bmm mv dot inner outer addmm baddbmm
view view_as reshape reshape_as permute transpose swapaxes swapdims t unsqueeze squeeze flatten
unflatten expand expand_as broadcast_to narrow contiguous clone repeat tile flip fliplr flipud roll
movedim moveaxis split chunk unbind tril triu diagonal diag select ravel tensor_split diag_embed
""".split()

_INDEXING = """gather scatter scatter_add index_select index_add index_fill masked_select take
take_along_dim nonzero argwhere sort argsort msort topk kthvalue median unique bincount
index_put""".split()

# in-place variants: x.op_(...) == write(x, op(x, ...))
_INPLACE = """
exp log log1p expm1 sqrt rsqrt sin cos tan tanh sigmoid erf reciprocal relu abs neg negative
logical_not floor ceil trunc fix round sign add sub subtract mul multiply div divide true_divide
floor_divide remainder fmod atan2 pow maximum minimum clamp clip clamp_min clamp_max lerp
addcmul addcdiv masked_fill eq ne lt le gt ge logical_and logical_or logical_xor bitwise_and
bitwise_or bitwise_xor scatter scatter_add index_add index_fill index_put tril triu nan_to_num
square
exp2 log2 log10 frac
""".split()


def _install():
    for name in _METHODS:
        setattr(Tensor, name, getattr(F, name))
    for name in _INDEXING:
        setattr(Tensor, name, getattr(indexing, name))
    for name in _INPLACE:
        fn = getattr(Tensor, name)
        setattr(Tensor, name + "_", inplace.make_inplace(fn, name + "_"))
    Tensor.where = F._tensor_where
    Tensor.copy_ = inplace.copy_
    Tensor.zero_ = inplace.zero_
    Tensor.fill_ = inplace.fill_
    for name in ("uniform_", "normal_", "random_", "bernoulli_", "exponential_"):
        setattr(Tensor, name, getattr(creation, name))
    Tensor.bernoulli = lambda self, p=None, *, generator=None: creation.bernoulli(
        self, p, generator=generator)
    Tensor.multinomial = creation.multinomial
    Tensor.__getitem__ = indexing.getitem
    Tensor.__setitem__ = indexing.setitem

    fast = F._fast_binary
    Tensor.__add__ = Tensor.__radd__ = fast(P.ADD)
    Tensor.__sub__ = lambda a, b: F.sub(a, b)
    Tensor.__rsub__ = lambda a, b: F.sub(b, a)
    Tensor.__mul__ = Tensor.__rmul__ = fast(P.MUL)
    Tensor.__truediv__ = lambda a, b: F.binary(P.DIV, a, b)
    Tensor.__rtruediv__ = lambda a, b: F.binary(P.DIV, b, a)
    Tensor.__floordiv__ = lambda a, b: F.floor_divide(a, b)
    Tensor.__rfloordiv__ = lambda a, b: F.floor_divide(b, a)
    Tensor.__mod__ = lambda a, b: F.remainder(a, b)
    Tensor.__rmod__ = lambda a, b: F.remainder(b, a)
    Tensor.__pow__ = lambda a, b: F.pow(a, b)
    Tensor.__rpow__ = lambda a, b: F.pow(b, a)
    Tensor.__matmul__ = lambda a, b: F.matmul(a, b)
    Tensor.__rmatmul__ = lambda a, b: F.matmul(b, a)
    Tensor.__neg__ = F.neg
    Tensor.__pos__ = lambda a: a
    Tensor.__abs__ = F.abs
    Tensor.__invert__ = lambda a: F.logical_not(a) if a.dtype is dt.bool_ else F.bitwise_not(a)
    Tensor.__and__ = Tensor.__rand__ = lambda a, b: _logic(F.bitwise_and, F.logical_and, a, b)
    Tensor.__or__ = Tensor.__ror__ = lambda a, b: _logic(F.bitwise_or, F.logical_or, a, b)
    Tensor.__xor__ = Tensor.__rxor__ = lambda a, b: _logic(F.bitwise_xor, F.logical_xor, a, b)
    Tensor.__eq__ = fast(P.EQ)
    Tensor.__ne__ = fast(P.NE)
    Tensor.__lt__ = fast(P.LT)
    Tensor.__le__ = fast(P.LE)
    Tensor.__gt__ = fast(P.GT)
    Tensor.__ge__ = fast(P.GE)
    Tensor.__iadd__ = Tensor.add_
    Tensor.__isub__ = Tensor.sub_
    Tensor.__imul__ = Tensor.mul_
    Tensor.__itruediv__ = Tensor.div_
    Tensor.__ifloordiv__ = Tensor.floor_divide_
    Tensor.__imod__ = Tensor.remainder_
    Tensor.__ipow__ = Tensor.pow_
    Tensor.__iand__ = lambda a, b: inplace.write(a, a & b)
    Tensor.__ior__ = lambda a, b: inplace.write(a, a | b)
    Tensor.__ixor__ = lambda a, b: inplace.write(a, a ^ b)
    Tensor.__hash__ = lambda self: id(self)  # __eq__ is elementwise, so hash by identity

    Tensor.T = property(lambda self: self.permute(*reversed(range(self.ndim))))
    Tensor.mT = property(lambda self: self.transpose(-2, -1))
    Tensor.mH = Tensor.mT
    Tensor.H = property(lambda self: self.t())

    Tensor.to = to
    Tensor.type = type_
    Tensor.type_as = lambda self, other: self.to(other.dtype)
    for name, d in (("float", dt.float32), ("double", dt.float64), ("half", dt.float16),
                    ("bfloat16", dt.bfloat16), ("int", dt.int32), ("long", dt.int64),
                    ("short", dt.int16), ("char", dt.int8), ("byte", dt.uint8),
                    ("bool", dt.bool_)):
        setattr(Tensor, name, _converter(d))
    Tensor.new_zeros = _new_factory(creation.zeros)
    Tensor.new_ones = _new_factory(creation.ones)
    Tensor.new_empty = _new_factory(creation.empty)
    Tensor.new_full = lambda self, size, fill_value, *, dtype=None, device=None, \
        requires_grad=False: creation.full(tuple(size), fill_value, dtype=dtype or self.dtype,
                                           device=device or self.device,
                                           requires_grad=requires_grad)
    Tensor.new_tensor = lambda self, data, *, dtype=None, device=None, requires_grad=False: \
        creation.tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                        requires_grad=requires_grad)


def _logic(bitwise, logical, a, b):
    a_bool = not isinstance(a, Tensor) or a.dtype is dt.bool_
    b_bool = not isinstance(b, Tensor) or b.dtype is dt.bool_
    return logical(a, b) if a_bool and b_bool else bitwise(a, b)


def _converter(d):
    def convert(self, memory_format=None):
        return F.to_dtype(self, d)
    convert.__name__ = d.name
    return convert


def _new_factory(fn):
    def new(self, *size, dtype=None, device=None, requires_grad=False, **kw):
        return fn(*size, dtype=dtype or self.dtype, device=device or self.device,
                  requires_grad=requires_grad)
    return new


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    """to(dtype), to(device), to(device, dtype), to(other), with keyword forms.  A move between
    devices is a differentiable copy; ``non_blocking`` leaves a copy from pinned memory in flight
    on the current stream."""
    flags = [a for a in args if isinstance(a, bool)]   # to(dtype, non_blocking, copy)
    args = [a for a in args if not isinstance(a, bool)]
    if flags:
        non_blocking = flags[0]
        copy = flags[1] if len(flags) > 1 else copy
    for a in args:
        if isinstance(a, Tensor):
            dtype = a.dtype
            device = a.device
        elif isinstance(a, dt.dtype) or (a is not None and not isinstance(a, (str, _device_cls))
                                         and not isinstance(a, int)):
            dtype = a
        else:
            device = a
    dtype = dt.to_dtype(dtype)
    out = self
    if device is not None:
        device = check_device(device)
        if device != self.device:
            from .device_ops import move
            # a cast first where it makes the copy smaller, else after (as PyTorch's _to_copy)
            if dtype is not None and dtype is not self.dtype and dtype.itemsize < self.dtype.itemsize:
                return move(F.to_dtype(self, dtype), device, non_blocking)
            out = move(self, device, non_blocking)
            copy = False
    if dtype is None or dtype is out.dtype:
        return F.clone(out) if copy else out
    return F.to_dtype(out, dtype)


def type_(self, dtype=None, non_blocking=False):
    if dtype is None:
        return ("ember.cuda." if self.is_cuda else "ember.") + dt.legacy_name(self.dtype) + "Tensor"
    if isinstance(dtype, str):
        name = dtype.split(".")[-1].replace("Tensor", "")
        table = {v: k for k, v in dt._LEGACY.items()}
        dtype = dt.BY_NAME[table[name]]
    return to(self, dtype)


_install()


# --- the further ops (math_extra, shape_extra, reduce_extra, index_extra) ----------------------
_EXTRA_METHODS = """
asin acos atan asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh erfc erfinv lgamma
digamma mvlgamma logaddexp logaddexp2 hypot copysign nextafter gcd lcm bitwise_left_shift
bitwise_right_shift xlogy logit sinc deg2rad rad2deg heaviside signbit isposinf isneginf isreal
ldexp softmax log_softmax conj conj_physical resolve_conj resolve_neg angle i0
rot90 diff kron repeat_interleave unfold hsplit vsplit dsplit split_with_sizes unsafe_split
unsafe_chunk select_scatter slice_scatter diagonal_scatter cross sum_to_size diagflat
adjoint
cummax cummin logcumsumexp quantile nanquantile mode nanmedian cov corrcoef histc
index_copy scatter_reduce put masked_scatter isin index_reduce
addmv addbmm addr vdot frexp unique_consecutive renorm histogram igamma igammac
""".split()

_EXTRA_INPLACE = """
asin acos atan asinh acosh atanh arcsin arccos arctan arcsinh arccosh arctanh erfc erfinv lgamma
digamma mvlgamma logaddexp hypot copysign nextafter gcd lcm bitwise_left_shift
bitwise_right_shift xlogy logit sinc deg2rad rad2deg heaviside ldexp index_copy scatter_reduce
put masked_scatter index_reduce igamma igammac i0 addmv addbmm addr renorm arctan2 float_power cumsum cumprod sgn fix negative not_equal less
less_equal greater greater_equal multiply subtract true_divide fmax fmin addmm baddbmm bitwise_not
conj_physical cosh sinh
""".split()


def _install_extra():
    from . import math_extra, shape_extra, reduce_extra, index_extra, blas_extra
    modules = (math_extra, shape_extra, reduce_extra, index_extra, blas_extra)
    for name in _EXTRA_METHODS:
        fn = next(getattr(m, name) for m in modules if hasattr(m, name))
        setattr(Tensor, name, fn)
    Tensor.trace = F.trace
    Tensor.nonzero_static = blas_extra.nonzero_static
    for name in ("squeeze", "unsqueeze", "transpose", "t", "swapaxes", "swapdims"):
        setattr(Tensor, name + "_", _metadata_inplace(getattr(Tensor, name), name + "_"))
    Tensor.narrow_copy = shape_extra.narrow_copy
    Tensor.polygamma = lambda self, n: math_extra.polygamma(n, self)
    Tensor.polygamma_ = lambda self, n: inplace.write(self, math_extra.polygamma(n, self))
    for name in _EXTRA_INPLACE:
        if hasattr(Tensor, name) and not hasattr(Tensor, name + "_"):
            setattr(Tensor, name + "_", inplace.make_inplace(getattr(Tensor, name), name + "_"))
    Tensor.__rdiv__ = Tensor.__rtruediv__
    Tensor.__lshift__ = lambda a, b: math_extra.bitwise_left_shift(a, b)
    Tensor.__rshift__ = lambda a, b: math_extra.bitwise_right_shift(a, b)
    Tensor.__rlshift__ = lambda a, b: math_extra.bitwise_left_shift(b, a)
    Tensor.__rrshift__ = lambda a, b: math_extra.bitwise_right_shift(b, a)
    Tensor.__ilshift__ = lambda a, b: inplace.write(a, math_extra.bitwise_left_shift(a, b))
    Tensor.__irshift__ = lambda a, b: inplace.write(a, math_extra.bitwise_right_shift(a, b))
    Tensor.fill_diagonal_ = _fill_diagonal_
    from . import random_extra
    for name in ("cauchy_", "log_normal_", "geometric_", "new_empty_strided", "resize_",
                 "resize_as_"):
        setattr(Tensor, name, getattr(random_extra, name))
    Tensor.softmax = lambda self, dim, dtype=None: math_extra.softmax(self, dim, dtype)
    Tensor.log_softmax = lambda self, dim, dtype=None: math_extra.log_softmax(self, dim, dtype)


def _metadata_inplace(fn, name):
    """x.t_(), x.squeeze_(...): x itself becomes the view (its shape changes, the values do not;
    the view's autograd link, if any, comes along)."""
    def op(self, *args, **kwargs):
        inplace.check_leaf(self)
        out = fn(self, *args, **kwargs)
        # self keeps its own storage links (out is a view *of self*: copying those would make
        # self its own base)
        keep = {k: self.__dict__[k] for k in ("_base", "_view_src") if k in self.__dict__}
        self.__dict__.update(out.__dict__)
        for k in ("_base", "_view_src"):
            self.__dict__.pop(k, None)
        self.__dict__.update(keep)
        return self
    op.__name__ = name
    return op


def _fill_diagonal_(self, fill_value, wrap=False):
    n = min(self.shape)
    if self.ndim == 2 and wrap and self.shape[0] > self.shape[1] + 1:
        step = self.shape[1] + 1
        flat = self.reshape(-1)
        idx = list(range(0, self.numel(), step))
    else:
        idx = [sum(i * s for s in self.stride()) for i in range(n)] if self.ndim else []
    from .creation import tensor
    flat = self.reshape(-1) if self.is_contiguous() else None
    if flat is None:
        raise RuntimeError("fill_diagonal_ on a non-contiguous tensor is not supported")
    flat[tensor(idx, dtype=dt.int64)] = fill_value
    return self


_install_extra()
