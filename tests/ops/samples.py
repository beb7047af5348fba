"""THE op sample table: one row per op and case, driving every op test.

A row is ``Sample(name, fn, inputs, ...)``.  ``fn(*tensors)`` is written once and runs on ember
tensors and on torch tensors alike; a row whose fn takes a ``lib`` keyword gets the module
(``ember`` or ``torch``) for module functions.  ``inputs`` are NumPy arrays made deterministically
here; float inputs are cast to each dtype in ``dtypes``.  ``layout`` turns inputs into views
("T": a transposed view of transposed storage, "step": every other row of a twice-as-tall
storage), so non-contiguous inputs are exercised with the same logical values.

A new op is one row.  The tests (test_samples.py, test_registry.py) check every row's values and
dtype against PyTorch (and NumPy where ``ref`` is given), gradients against PyTorch, gradients by
central differences in float64, and that every primitive a row binds agrees with its infer rule.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

FLOATS = ("float32", "float64", "float16", "bfloat16")


@dataclass
class Sample:
    name: str
    fn: Callable
    inputs: tuple = ()
    grad: bool = True              # check input gradients against PyTorch
    fd: bool | None = None         # finite-difference check in float64 (default: = grad)
    dtypes: tuple = ("float32",)   # float inputs are cast to each of these
    layout: tuple | str | None = None
    ref: Callable | None = None    # NumPy reference on the (cast) input arrays
    tol: tuple | None = None       # (rtol, atol) over the per-dtype default
    grad_tol: tuple | None = None
    gg: bool = True                # check double backward against PyTorch (when fd is on)
    gpu: bool = True               # False: host-only (complex values, LAPACK factors), skipped by
    #                                the Triton and CUDA sample tests
    takes_lib: bool = field(init=False, default=False)

    def __post_init__(self):
        self.inputs = tuple(np.asarray(a) for a in self.inputs)
        if self.fd is None:
            self.fd = self.grad
        self.takes_lib = "lib" in inspect.signature(self.fn).parameters

    def call(self, tensors, lib):
        return self.fn(*tensors, lib=lib) if self.takes_lib else self.fn(*tensors)

    def layouts(self):
        if self.layout is None or isinstance(self.layout, str):
            return (self.layout,) * len(self.inputs)
        return tuple(self.layout)

    def cast_inputs(self, dtype):
        """The input arrays with float ones cast to `dtype` (a name)."""
        import ember
        np_dt = ember.dtypes.BY_NAME[dtype].np
        return tuple(a.astype(np_dt) if a.dtype.kind == "f" else a for a in self.inputs)


# --- deterministic inputs -------------------------------------------------------------------------
_rng = np.random.RandomState(1234)


def r(*shape, lo=-2.0, hi=2.0):
    """Uniform floats (float64; cast per sample dtype)."""
    return _rng.uniform(lo, hi, size=shape)


def pos(*shape):
    return _rng.uniform(0.5, 2.0, size=shape)


def away(*shape):
    """Floats with |x| in [0.3, 2]: away from the kinks of abs/relu/sign/round."""
    x = _rng.uniform(0.3, 2.0, size=shape)
    return x * np.where(_rng.rand(*shape) < 0.5, -1.0, 1.0)


def distinct(*shape):
    """Floats with no ties (and gaps >= 0.1), for max/min/sort/topk and their gradients."""
    n = int(np.prod(shape)) if shape else 1
    return (_rng.permutation(n) * 0.25 - n * 0.125 + _rng.uniform(0, 0.05, n)).reshape(shape)


def ints(*shape, lo=-5, hi=6, dtype=np.int64):
    return _rng.randint(lo, hi, size=shape).astype(dtype)


def nonzero_ints(*shape, lo=1, hi=6, dtype=np.int64):
    x = _rng.randint(lo, hi, size=shape)
    return (x * np.where(_rng.rand(*shape) < 0.5, -1, 1)).astype(dtype)


def bools(*shape):
    return np.asarray(_rng.rand(*shape) < 0.5)


def index(*shape, n):
    return _rng.randint(0, n, size=shape).astype(np.int64)


def perm_index(shape, dim, n):
    """Index without repeats along `dim` (scatter is deterministic only without duplicates)."""
    out = np.empty(shape, np.int64)
    moved = np.moveaxis(out, dim, -1)
    for pos_ in np.ndindex(moved.shape[:-1]):
        moved[pos_] = _rng.permutation(n)[:moved.shape[-1]]
    return out


def scalar(v=0.7):
    return np.array(v, dtype=np.float64)


# --- helpers for rows that need the module ---------------------------------------------------------
def is_torch(lib):
    return lib.__name__ == "torch"


def prim_pad(x, pads, lib, value=0.0):
    """The pad primitive directly (ember) vs torch.nn.functional.pad; pads are torch-style."""
    if is_torch(lib):
        return lib.nn.functional.pad(x, pads, value=value)
    import ember
    nd = x.ndim
    pairs = [(0, 0)] * nd
    for i in range(len(pads) // 2):
        pairs[nd - 1 - i] = (pads[2 * i], pads[2 * i + 1])
    return ember.ops.PAD(x, pads=tuple(pairs), value=value)


def setitem(x, key, value):
    """x[key] = value on a clone (so leaves stay leaves), returning the result."""
    y = x.clone()
    y[key] = value
    return y


def inplace(method, *args, **kwargs):
    """x.method_(*args) on a clone of x, returning the clone."""
    def f(x, *rest):
        y = x.clone()
        out = getattr(y, method)(*rest, *args, **kwargs)
        assert out is y
        return y
    return f


S = Sample
SAMPLES: list[Sample] = []


def add(*rows):
    SAMPLES.extend(rows)


# ==================================================================================================
# elementwise unary
# ==================================================================================================
_UNARY = [  # (name, input maker, differentiable, numpy reference)
    ("exp", r, True, np.exp), ("log", pos, True, np.log), ("log1p", pos, True, np.log1p),
    ("expm1", r, True, np.expm1), ("sqrt", pos, True, np.sqrt),
    ("rsqrt", pos, True, lambda x: 1 / np.sqrt(x)), ("sin", r, True, np.sin),
    ("cos", r, True, np.cos), ("tan", r, True, np.tan), ("tanh", r, True, np.tanh),
    ("sigmoid", r, True, lambda x: 1 / (1 + np.exp(-x))), ("relu", away, True, None),
    ("abs", away, True, np.abs), ("neg", r, True, np.negative), ("reciprocal", away, True, None),
    ("erf", r, True, None), ("sign", away, True, np.sign), ("floor", away, True, np.floor),
    ("ceil", away, True, np.ceil), ("round", away, True, None), ("trunc", away, True, np.trunc),
    ("square", r, True, np.square), ("exp2", r, True, np.exp2), ("log2", pos, True, np.log2),
    ("log10", pos, True, np.log10), ("sinh", r, True, np.sinh), ("cosh", r, True, np.cosh),
    ("frac", away, True, None), ("isnan", r, False, np.isnan), ("isinf", r, False, np.isinf),
    ("isfinite", r, False, np.isfinite), ("logical_not", r, False, np.logical_not),
    ("nan_to_num", r, True, None),
]
for _name, _mk, _g, _ref in _UNARY:
    add(S(_name, (lambda n: lambda x: getattr(x, n)())(_name), [_mk(3, 4)], grad=_g,
          dtypes=FLOATS, ref=_ref))
    add(S(_name + "_fn_0d", (lambda n: lambda x, lib: getattr(lib, n)(x))(_name), [_mk()],
          grad=_g, dtypes=("float64",)))
    add(S(_name + "_T", (lambda n: lambda x: getattr(x, n)())(_name), [_mk(3, 4)], grad=_g,
          layout="T"))
add(
    S("exp_empty", lambda x: x.exp(), [r(0, 3)]),
    S("exp_int", lambda x: x.exp(), [ints(2, 3)], grad=False),  # int -> default float
    S("sqrt_int", lambda x, lib: lib.sqrt(x), [ints(5, lo=0)], grad=False),
    S("sin_bool", lambda x: x.sin(), [bools(4)], grad=False),
    S("sigmoid_extreme", lambda x: x.sigmoid(), [np.array([-1000.0, -30, 0, 30, 1000])],
      fd=False),
    S("log_zero_neg", lambda x: x.log(), [np.array([0.0, -1.0, 1.0])], grad=False),
    S("round_half_even", lambda x: x.round(), [np.array([0.5, 1.5, 2.5, -0.5, -1.5])],
      grad=False, dtypes=FLOATS),
    S("round_decimals", lambda x: x.round(decimals=2), [r(5)], fd=False),
    S("abs_int", lambda x: x.abs(), [ints(6)], grad=False),
    S("neg_int8", lambda x: -x, [ints(6, dtype=np.int8)], grad=False),
    S("relu_int", lambda x: x.relu(), [ints(6)], grad=False),
    S("sign_int", lambda x: x.sign(), [ints(6)], grad=False),
    S("sign_bool", lambda x: x.sign(), [bools(6)], grad=False),
    S("sign_nan_negzero", lambda x: x.sign(), [np.array([np.nan, -0.0, 0.0, -np.inf, 3.0])],
      grad=False, dtypes=FLOATS),
    S("sinh_small", lambda x: x.sinh(), [np.array([1e-5, -3e-4, 1e-30, 0.0])], fd=False,
      ref=np.sinh, tol=(1e-6, 0)),
    S("floor_int", lambda x: x.floor(), [ints(6)], grad=False),
    S("bitwise_not_int", lambda x: x.bitwise_not(), [ints(6)], grad=False),
    S("bitwise_not_uint8", lambda x: ~x, [ints(6, lo=0, hi=255, dtype=np.uint8)], grad=False),
    S("invert_bool", lambda x: ~x, [bools(6)], grad=False),
    S("logical_not_int", lambda x: x.logical_not(), [ints(6)], grad=False),
    S("isnan_nan", lambda x: x.isnan(), [np.array([np.nan, 1.0, np.inf])], grad=False,
      dtypes=FLOATS),
    S("isinf_int", lambda x: x.isinf(), [ints(4)], grad=False),
    S("nan_to_num_special", lambda x: x.nan_to_num(), [np.array([np.nan, np.inf, -np.inf, 1.0])],
      grad=False, dtypes=("float32", "float64", "float16")),
    S("nan_to_num_args", lambda x: x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0),
      [np.array([np.nan, np.inf, -np.inf, 1.0])], grad=False),
    S("positive", lambda x: +x, [r(3)]),
    S("clone", lambda x: x.clone(), [r(2, 3)], layout="T"),
    S("detach", lambda x: x.detach() + 0, [r(2, 3)], grad=False),
)

# ==================================================================================================
# elementwise binary, broadcasting and promotion
# ==================================================================================================
_BINARY = [  # (name, a maker, b maker, differentiable, reference)
    ("add", r, r, True, np.add), ("sub", r, r, True, np.subtract),
    ("mul", r, r, True, np.multiply), ("div", r, away, True, np.divide),
    ("pow", pos, r, True, np.power), ("maximum", distinct, distinct, True, np.maximum),
    ("minimum", distinct, distinct, True, np.minimum), ("atan2", away, away, True, np.arctan2),
    ("remainder", r, away, True, None), ("fmod", r, away, True, np.fmod),
    ("floor_divide", r, away, False, None),
    ("eq", ints, ints, False, np.equal), ("ne", ints, ints, False, np.not_equal),
    ("lt", r, r, False, np.less), ("le", r, r, False, np.less_equal),
    ("gt", r, r, False, np.greater), ("ge", r, r, False, np.greater_equal),
    ("logical_and", bools, bools, False, np.logical_and),
    ("logical_or", bools, bools, False, np.logical_or),
    ("logical_xor", bools, bools, False, np.logical_xor),
]
for _name, _ma, _mb, _g, _ref in _BINARY:
    _fn = (lambda n: lambda a, b: getattr(a, n)(b))(_name)
    add(S(_name, _fn, [_ma(3, 4), _mb(3, 4)], grad=_g, dtypes=FLOATS, ref=_ref),
        S(_name + "_bcast", _fn, [_ma(3, 1), _mb(4)], grad=_g),
        S(_name + "_bcast_0d", _fn, [_ma(2, 3), _mb()], grad=_g, dtypes=("float64",)),
        S(_name + "_T", (lambda n: lambda a, b, lib: getattr(lib, n)(a, b))(_name),
          [_ma(3, 4), _mb(3, 4)], grad=_g, layout=("T", "step")),
        S(_name + "_empty", _fn, [_ma(0, 4), _mb(1, 4)], grad=_g))
_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
        "/": lambda a, b: a / b, "//": lambda a, b: a // b, "%": lambda a, b: a % b,
        "**": lambda a, b: a ** b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b}
for _sym, _f in _OPS.items():
    _g = _sym in "+-*/**"
    _b = away if _sym in ("/", "//", "%") else r
    _a = pos if _sym == "**" else r
    add(S(f"op{_sym}", _f, [_a(2, 3), _b(2, 3)], grad=_g and _sym not in ("//",)),
        S(f"op{_sym}_scalar", (lambda f: lambda a: f(a, 1.5))(_f), [_a(2, 3)],
          grad=_g and _sym != "//"),
        S(f"op{_sym}_rscalar", (lambda f: lambda a: f(1.5, a))(_f), [_b(2, 3)],
          grad=_g and _sym not in ("//", "%")),
        S(f"op{_sym}_int", _f, [ints(2, 3, lo=1), nonzero_ints(2, 3)] if _sym != "**" else
          [ints(2, 3, lo=0, hi=4), ints(2, 3, lo=0, hi=4)], grad=False),
        S(f"op{_sym}_int_scalar", (lambda f: lambda a: f(a, 2))(_f), [ints(2, 3)], grad=False),
        S(f"op{_sym}_int_float_scalar", (lambda f: lambda a: f(a, 2.5))(_f), [ints(2, 3)],
          grad=False))
add(
    # type promotion through ops (tensor-tensor, tensor-scalar, 0-d tensors)
    S("promote_i8_i16", lambda a, b: a + b, [ints(3, dtype=np.int8), ints(3, dtype=np.int16)],
      grad=False),
    S("promote_u8_i8", lambda a, b: a + b, [ints(3, lo=0, dtype=np.uint8),
                                            ints(3, dtype=np.int8)], grad=False),
    S("promote_bool_int", lambda a, b: a + b, [bools(3), ints(3, dtype=np.int32)], grad=False),
    S("promote_bool_bool", lambda a, b: a + b, [bools(3), bools(3)], grad=False),
    S("promote_bool_mul_scalar", lambda a: a * 2, [bools(3)], grad=False),
    S("promote_bool_float_scalar", lambda a: a * 2.5, [bools(3)], grad=False),
    S("promote_int_float", lambda a, b: a * b, [ints(3), r(3)], grad=True),
    S("promote_f16_f32", lambda a, b: a + b.float(), [r(3), r(3)], dtypes=("float16",),
      fd=False),
    S("promote_bf16_f16", lambda a, b: a.bfloat16() + b.half(), [r(3), r(3)], grad=False),
    S("promote_0d_f64_f32", lambda a, b: a.float() + b.double(), [r(3), scalar()], grad=False),
    S("promote_0d_float_int", lambda a, b: a + b, [ints(3), scalar(2.5)], grad=False),
    S("promote_0d_int_u8", lambda a, b: a + b, [ints(3, lo=0, dtype=np.uint8),
                                                np.array(300)], grad=False),
    S("promote_int8_scalar_overflow", lambda a: a + 1, [ints(3, lo=120, hi=128, dtype=np.int8)],
      grad=False),
    S("int_true_div", lambda a, b: a / b, [ints(4), nonzero_ints(4)], grad=False),
    S("int_div_trunc", lambda a, b: a.div(b, rounding_mode="trunc"), [ints(6), nonzero_ints(6)],
      grad=False),
    S("int_div_floor", lambda a, b: a.div(b, rounding_mode="floor"), [ints(6), nonzero_ints(6)],
      grad=False),
    S("float_div_trunc", lambda a, b: a.div(b, rounding_mode="trunc"), [r(6), away(6)],
      grad=False),
    S("int_remainder_neg", lambda a, b: a % b, [ints(6), nonzero_ints(6)], grad=False),
    S("int_fmod_neg", lambda a, b: a.fmod(b), [ints(6), nonzero_ints(6)], grad=False),
    S("pow_int_scalar", lambda a: a ** 3, [r(4)]),
    S("pow_scalar_2", lambda a: a ** 2, [r(4)]),
    S("pow_scalar_half", lambda a: a ** 0.5, [pos(4)]),
    S("pow_scalar_neg", lambda a: a.pow(-1.5), [pos(4)]),
    S("pow_rscalar", lambda a: 2 ** a, [r(4)]),
    S("pow_zero_base", lambda a, b: a ** b, [np.array([0.0, 0.0, 2.0]), np.array([2.0, 3.0, 1.0])],
      fd=False),
    S("pow_int_int", lambda a: a ** 2, [ints(5)], grad=False),
    S("float_power", lambda a, b: a.float_power(b), [pos(4), r(4)], grad=False),
    S("add_alpha", lambda a, b: a.add(b, alpha=2), [r(3), r(3)]),
    S("sub_alpha", lambda a, b, lib: lib.sub(a, b, alpha=0.5), [r(3), r(3)]),
    S("maximum_ties", lambda a, b: a.maximum(b), [np.array([1.0, 2.0, 3.0]),
                                                  np.array([1.0, 1.0, 3.0])], fd=False),
    S("maximum_int", lambda a, b, lib: lib.maximum(a, b), [ints(5), ints(5)], grad=False),
    S("maximum_nan", lambda a, b: a.maximum(b), [np.array([np.nan, 1.0]), np.array([1.0, 2.0])],
      grad=False),
    S("bitwise_and", lambda a, b: a & b, [ints(5), ints(5)], grad=False),
    S("bitwise_or", lambda a, b: a | b, [ints(5), ints(5)], grad=False),
    S("bitwise_xor", lambda a, b: a ^ b, [ints(5), ints(5)], grad=False),
    S("bitwise_and_fn", lambda a, b: a.bitwise_and(b), [ints(5, dtype=np.int32),
                                                        ints(5, dtype=np.int32)], grad=False),
    S("bitwise_or_fn", lambda a, b: a.bitwise_or(b), [ints(5, lo=0, dtype=np.uint8),
                                                      ints(5, lo=0, dtype=np.uint8)], grad=False),
    S("bitwise_xor_fn", lambda a, b: a.bitwise_xor(b), [ints(2, 3), ints(3)], grad=False),
    S("and_bool", lambda a, b: a & b, [bools(5), bools(5)], grad=False),
    S("or_bool", lambda a, b: a | b, [bools(5), bools(5)], grad=False),
    S("xor_bool", lambda a, b: a ^ b, [bools(5), bools(5)], grad=False),
    S("eq_float", lambda a, b: a == b, [np.array([1.0, 2.0, np.nan]), np.array([1.0, 3.0, np.nan])],
      grad=False, dtypes=FLOATS),
    S("eq_scalar", lambda a: a == 2, [ints(6)], grad=False),
    S("lt_int_float", lambda a, b: a < b, [ints(6), r(6)], grad=False),
    S("eq_bool_int", lambda a, b: a == b, [bools(4), ints(4, lo=0, hi=2)], grad=False),
    S("comparison_bcast", lambda a, b: a >= b, [r(3, 1), r(1, 4)], grad=False),
    S("add_3way_bcast", lambda a, b, c: a + b * c, [r(2, 1, 3), r(4, 1), r(3)]),
    S("add_empty_bcast", lambda a, b: a + b, [r(0, 1), r(3)]),
    S("add_0d_0d", lambda a, b: a + b, [scalar(0.3), scalar(-1.2)]),
    S("mul_T_T", lambda a, b: a * b, [r(3, 4), r(3, 4)], layout="T"),
    S("mul_step", lambda a, b: a * b, [r(3, 4), r(3, 4)], layout="step"),
    S("mul_expanded", lambda a, b: a.expand(3, 4) * b, [r(1, 4), r(3, 4)]),
)

# where / clamp / masked_fill / lerp / addcmul / addcdiv / isclose
add(
    S("where", lambda c, a, b, lib: lib.where(c, a, b), [bools(3, 4), r(3, 4), r(3, 4)],
      dtypes=FLOATS, ref=np.where),
    S("where_bcast", lambda c, a, b, lib: lib.where(c, a, b), [bools(3, 1), r(4), r(3, 4)]),
    S("where_scalar", lambda c, a, lib: lib.where(c, a, 0.0), [bools(3, 4), r(3, 4)]),
    S("where_scalar_first", lambda c, a, lib: lib.where(c, 1.5, a), [bools(3, 4), r(3, 4)]),
    S("where_int_float", lambda c, a, b, lib: lib.where(c, a, b), [bools(4), ints(4), r(4)]),
    S("where_method", lambda c, a, b: a.where(c, b), [bools(4), r(4), r(4)]),
    S("where_T", lambda c, a, b, lib: lib.where(c, a, b), [bools(3, 4), r(3, 4), r(3, 4)],
      layout="T"),
    S("where_int", lambda c, a, b, lib: lib.where(c, a, b), [bools(4), ints(4), ints(4)],
      grad=False),
    S("where_1arg", lambda c, lib: lib.where(c), [bools(3, 4)], grad=False),
    S("clamp", lambda x: x.clamp(-0.5, 0.5), [away(3, 4) * 0.8], dtypes=FLOATS, fd=False),
    S("clamp_min", lambda x: x.clamp(min=0.1), [distinct(6) + 0.02], fd=False),
    S("clamp_max_fn", lambda x, lib: lib.clamp(x, max=0.1), [distinct(6) + 0.02], fd=False),
    S("clamp_tensor_bounds", lambda x, lo, hi: x.clamp(lo, hi), [r(3, 4), r(4) - 1, r(3, 1) + 1],
      fd=False),
    S("clamp_int", lambda x: x.clamp(-2, 3), [ints(8)], grad=False),
    S("clamp_int_float_bound", lambda x: x.clamp(-2.5, 3), [ints(8)], grad=False),
    S("clip", lambda x: x.clip(-1, 1), [distinct(5) * 0.5 + 0.01], fd=False),
    S("clamp_min_method", lambda x: x.clamp_min(0.1), [distinct(5)], fd=False),
    S("clamp_max_method", lambda x: x.clamp_max(0.1), [distinct(5)], fd=False),
    S("masked_fill", lambda x, m: x.masked_fill(m, -1.0), [r(3, 4), bools(3, 4)],
      dtypes=FLOATS),
    S("masked_fill_bcast", lambda x, m: x.masked_fill(m, 2), [r(3, 4), bools(4)]),
    S("masked_fill_0d_value", lambda x, m, v: x.masked_fill(m, v), [r(3, 4), bools(3, 4),
                                                                     scalar(3.0)]),
    S("masked_fill_int", lambda x, m: x.masked_fill(m, 7), [ints(5), bools(5)], grad=False),
    S("lerp", lambda a, b: a.lerp(b, 0.3), [r(4), r(4)]),
    S("lerp_tensor_weight", lambda a, b, w: a.lerp(b, w), [r(4), r(4), r(4)]),
    S("addcmul", lambda a, b, c: a.addcmul(b, c, value=0.5), [r(4), r(4), r(4)]),
    S("addcdiv", lambda a, b, c, lib: lib.addcdiv(a, b, c, value=2), [r(4), r(4), away(4)]),
    S("isclose", lambda a, b, lib: lib.isclose(a, b), [np.array([1.0, 2.0, np.nan]),
                                                       np.array([1.0 + 1e-9, 2.1, np.nan])],
      grad=False),
    S("isclose_nan", lambda a, b: a.isclose(b, equal_nan=True), [np.array([1.0, np.nan]),
                                                                 np.array([1.0, np.nan])],
      grad=False),
    S("allclose", lambda a, b, lib: lib.allclose(a, b), [r(3), r(3)], grad=False),
    S("equal", lambda a, lib: lib.equal(a, a.clone()), [r(3)], grad=False),
    S("equal_shape", lambda a, b, lib: lib.equal(a, b), [r(3), r(1)], grad=False),
)

# ==================================================================================================
# reductions
# ==================================================================================================
add(
    S("sum", lambda x: x.sum(), [r(3, 4)], dtypes=FLOATS, ref=lambda x: np.sum(x)),
    S("sum_dim", lambda x: x.sum(1), [r(3, 4)], dtypes=FLOATS),
    S("sum_dim_keepdim", lambda x: x.sum(1, keepdim=True), [r(3, 4)]),
    S("sum_neg_dim", lambda x: x.sum(-2), [r(3, 4)], layout="T"),
    S("sum_dims_tuple", lambda x: x.sum((0, 2)), [r(2, 3, 4)]),
    S("sum_dims_list_keepdim", lambda x, lib: lib.sum(x, [0, -1], keepdim=True), [r(2, 3, 4)]),
    S("sum_0d", lambda x: x.sum(), [scalar()]),
    S("sum_0d_dim", lambda x: x.sum(0), [scalar()]),
    S("sum_empty", lambda x: x.sum(), [r(0, 3)]),
    S("sum_empty_dim", lambda x: x.sum(0), [r(0, 3)]),
    S("sum_int", lambda x: x.sum(0), [ints(3, 4, dtype=np.int32)], grad=False),
    S("sum_uint8", lambda x: x.sum(), [ints(30, lo=0, hi=255, dtype=np.uint8)], grad=False),
    S("sum_bool", lambda x: x.sum(), [bools(3, 4)], grad=False),
    S("sum_dtype", lambda x: x.sum(dtype=x.new_zeros(()).double().dtype), [r(3)]),
    S("sum_step", lambda x: x.sum(0), [r(3, 4)], layout="step"),
    S("nansum", lambda x: x.nansum(), [np.array([1.0, np.nan, 2.0])], grad=False),
    S("mean", lambda x: x.mean(), [r(3, 4)], dtypes=FLOATS, ref=lambda x: np.mean(x)),
    S("mean_dim", lambda x: x.mean(-1, keepdim=True), [r(3, 4)]),
    S("mean_dims", lambda x, lib: lib.mean(x, (0, 1)), [r(2, 3, 4)]),
    S("mean_empty", lambda x: x.mean(), [r(0)], grad=False),
    S("mean_dtype", lambda x: x.mean(dtype=x.double().dtype), [ints(4)], grad=False),
    S("prod", lambda x: x.prod(), [away(2, 3)], dtypes=FLOATS),
    S("prod_dim", lambda x: x.prod(1), [away(3, 4)]),
    S("prod_dim_keepdim", lambda x: x.prod(0, keepdim=True), [away(3, 4)]),
    S("prod_one_zero", lambda x: x.prod(1), [np.array([[0.0, 2.0, 3.0], [1.0, 2.0, 3.0]])]),
    # double backward of prod through two zeros of a slice is 0 in ember (PyTorch: exact)
    S("prod_two_zeros", lambda x: x.prod(1), [np.array([[0.0, 2.0, 0.0], [1.0, 2.0, 3.0]])],
      gg=False),
    S("prod_int", lambda x: x.prod(), [nonzero_ints(5)], grad=False),
    S("prod_empty", lambda x: x.prod(), [r(0)]),
    S("max", lambda x: x.max(), [distinct(3, 4)], dtypes=FLOATS),
    S("max_dim", lambda x: x.max(1), [distinct(3, 4)]),
    S("max_dim_keepdim", lambda x: x.max(0, keepdim=True), [distinct(3, 4)]),
    S("max_dim_values", lambda x: x.max(dim=-1).values, [distinct(3, 4)], layout="T"),
    S("max_binary", lambda a, b: a.max(b), [distinct(3), distinct(3)]),
    S("max_ties", lambda x: x.max(), [np.array([1.0, 3.0, 3.0])], fd=False),
    S("max_dim_ties", lambda x: x.max(0), [np.array([1.0, 3.0, 3.0])], fd=False),
    S("max_int", lambda x: x.max(0), [ints(3, 4)], grad=False),
    S("max_bool", lambda x: x.max(), [bools(5)], grad=False),
    S("max_0d", lambda x: x.max(0), [scalar()]),
    S("max_nan", lambda x: x.max(), [np.array([1.0, np.nan, 2.0])], grad=False),
    S("min", lambda x, lib: lib.min(x), [distinct(3, 4)]),
    S("min_dim", lambda x: x.min(0), [distinct(3, 4)], dtypes=FLOATS),
    S("min_binary", lambda a, b, lib: lib.min(a, b), [distinct(3), distinct(3)]),
    S("amax", lambda x: x.amax(1), [distinct(3, 4)]),
    S("amax_dims", lambda x, lib: lib.amax(x, (0, 2), keepdim=True), [distinct(2, 3, 4)]),
    S("amax_ties", lambda x: x.amax(), [np.array([1.0, 3.0, 3.0])], fd=False),
    S("amin", lambda x: x.amin(), [distinct(3, 4)]),
    S("amin_int", lambda x: x.amin(0), [ints(3, 4)], grad=False),
    S("aminmax", lambda x, lib: lib.aminmax(x, dim=0), [distinct(3, 4)]),
    S("argmax", lambda x: x.argmax(), [distinct(3, 4)], grad=False, dtypes=FLOATS),
    S("argmax_dim", lambda x: x.argmax(1), [distinct(3, 4)], grad=False),
    S("argmax_keepdim", lambda x: x.argmax(0, keepdim=True), [distinct(3, 4)], grad=False),
    S("argmax_all_keepdim", lambda x: x.argmax(keepdim=True), [distinct(3, 4)], grad=False),
    S("argmax_ties_first", lambda x: x.argmax(), [np.array([1.0, 3.0, 3.0])], grad=False),
    S("argmax_int", lambda x: x.argmax(0), [ints(3, 4)], grad=False),
    S("argmax_0d", lambda x: x.argmax(), [scalar()], grad=False),
    S("argmin", lambda x, lib: lib.argmin(x, -1), [distinct(3, 4)], grad=False, layout="T"),
    S("argmin_all", lambda x: x.argmin(), [distinct(3, 4)], grad=False),
    S("var", lambda x: x.var(), [r(3, 4)], dtypes=FLOATS),
    S("var_dim", lambda x: x.var(1), [r(3, 4)]),
    S("var_unbiased_false", lambda x: x.var(0, unbiased=False, keepdim=True), [r(3, 4)]),
    S("var_correction0", lambda x: x.var(1, correction=0), [r(3, 4)]),
    S("var_correction2", lambda x, lib: lib.var(x, (0, 1), correction=2), [r(3, 4)]),
    S("var_one_elem", lambda x: x.var(), [r(1)], grad=False),
    S("var_int", lambda x: x.float().var(), [ints(5)], grad=False),
    S("std", lambda x: x.std(), [r(3, 4)], dtypes=FLOATS),
    S("std_dim", lambda x: x.std(0, keepdim=True), [r(3, 4)]),
    S("std_correction0", lambda x, lib: lib.std(x, -1, correction=0), [r(3, 4)]),
    S("var_mean", lambda x, lib: lib.var_mean(x, 1), [r(3, 4)]),
    S("std_mean", lambda x, lib: lib.std_mean(x, 0, correction=0), [r(3, 4)]),
    S("logsumexp", lambda x: x.logsumexp(1), [r(3, 4)], dtypes=FLOATS),
    S("logsumexp_keepdim", lambda x, lib: lib.logsumexp(x, (0, 1), keepdim=True), [r(3, 4)]),
    S("logsumexp_big", lambda x: x.logsumexp(0), [np.array([1000.0, 1000.0, -1000.0])]),
    S("logsumexp_neginf", lambda x: x.logsumexp(0), [np.array([-np.inf, -np.inf])], grad=False),
    S("logsumexp_0d", lambda x: x.logsumexp(0), [scalar()]),
    S("logsumexp_int", lambda x: x.logsumexp(0), [ints(4)], grad=False),
    S("all", lambda x: x.all(), [bools(3, 4)], grad=False),
    S("all_dim", lambda x: x.all(1), [bools(3, 4)], grad=False),
    S("all_float", lambda x: x.all(), [r(3)], grad=False),
    S("all_int_keepdim", lambda x, lib: lib.all(x, 0, keepdim=True), [ints(3, 4)], grad=False),
    S("all_empty", lambda x: x.all(), [bools(0)], grad=False),
    S("any", lambda x: x.any(), [bools(3, 4)], grad=False),
    S("any_dim", lambda x: x.any(0), [bools(3, 4)], grad=False),
    S("any_float", lambda x: x.any(1), [np.array([[0.0, 0.0], [0.0, 1.0]])], grad=False),
    S("any_empty", lambda x: x.any(), [bools(0, 2)], grad=False),
    S("any_uint8", lambda x: x.any(), [ints(4, lo=0, hi=2, dtype=np.uint8)], grad=False),
    S("cumsum", lambda x: x.cumsum(1), [r(3, 4)], dtypes=FLOATS),
    S("cumsum_dim0", lambda x, lib: lib.cumsum(x, 0), [r(3, 4)], layout="T"),
    S("cumsum_neg", lambda x: x.cumsum(-1), [r(5)]),
    S("cumsum_0d", lambda x: x.cumsum(0), [scalar()]),
    S("cumsum_int", lambda x: x.cumsum(0), [ints(5, dtype=np.int32)], grad=False),
    S("cumsum_bool", lambda x: x.cumsum(0), [bools(5)], grad=False),
    S("cumsum_dtype", lambda x: x.cumsum(0, dtype=x.double().dtype), [r(4)]),
    S("cumsum_empty", lambda x: x.cumsum(0), [r(0)]),
    S("cumprod", lambda x: x.cumprod(1), [away(2, 4)], dtypes=("float32", "float64")),
    S("cumprod_zeros", lambda x: x.cumprod(0), [np.array([2.0, 0.0, 3.0, 0.0, -1.5])]),
    S("cumprod_T_long", lambda x, lib: lib.cumprod(x, 0), [away(5, 3)], layout="T"),
    S("cumprod_int", lambda x: x.cumprod(1), [ints(2, 5)], grad=False),
    S("cumprod_bool", lambda x: x.cumprod(0), [bools(6)], grad=False),
    S("cumprod_0d", lambda x: x.cumprod(0), [scalar()]),
    S("cumprod_dtype", lambda x, lib: x.cumprod(0, dtype=lib.float64), [ints(4)], grad=False),
    S("nansum_int", lambda x: x.nansum(1), [ints(2, 3)], grad=False),
    S("square_bool", lambda x: x.square(), [bools(4)], grad=False),
    S("tril_bool", lambda x: x.tril(), [bools(3, 3)], grad=False),
    S("triu_int", lambda x: x.triu(-1), [ints(3, 4)], grad=False),
    S("uint8_wrap_scalar", lambda x: (x + -1, x < -1, x.clamp(-1, 2), x * 300), [ints(
        5, lo=0, hi=255, dtype=np.uint8)], grad=False),
    S("int8_wrap_scalar", lambda x: (x + 200, x == 200, x.masked_fill(x > 0, 127)),
      [ints(5, dtype=np.int8)], grad=False),
    S("int_pow_neg_tensor", lambda a, b: a ** b, [np.array([2, 1, -1, 0, -1, 3]),
                                                  np.array([-1, -1, -1, -2, -2, 2])], grad=False),
    S("int_rpow_neg", lambda b: 2 ** b, [np.array([-1, 0, 3])], grad=False),
    S("count_nonzero", lambda x, lib: lib.count_nonzero(x), [ints(3, 4)], grad=False),
    S("norm", lambda x: x.norm(), [r(3, 4)]),
    S("norm_dim", lambda x, lib: lib.norm(x, dim=1), [r(3, 4)]),
    S("norm_p1", lambda x: x.norm(1), [away(5)]),
    S("norm_inf", lambda x: x.norm(float("inf")), [distinct(5)]),
    S("dist", lambda a, b, lib: lib.dist(a, b), [r(4), r(4)]),
    S("nanmean", lambda x: x.nanmean(), [np.array([1.0, np.nan, 2.0])], grad=False),
)

# ==================================================================================================
# linear algebra
# ==================================================================================================
add(
    S("matmul", lambda a, b: a @ b, [r(3, 4), r(4, 5)], dtypes=FLOATS, ref=np.matmul),
    S("matmul_T", lambda a, b: a.matmul(b), [r(3, 4), r(4, 5)], layout="T"),
    S("matmul_batched", lambda a, b, lib: lib.matmul(a, b), [r(2, 3, 4), r(2, 4, 2)]),
    S("matmul_bcast_batch", lambda a, b: a @ b, [r(2, 1, 3, 4), r(3, 4, 2)]),
    S("matmul_3d_2d", lambda a, b: a @ b, [r(2, 3, 4), r(4, 5)]),
    S("matmul_2d_3d", lambda a, b: a @ b, [r(3, 4), r(2, 4, 5)]),
    S("matmul_1d_2d", lambda a, b: a @ b, [r(4), r(4, 3)]),
    S("matmul_2d_1d", lambda a, b: a @ b, [r(3, 4), r(4)]),
    S("matmul_1d_1d", lambda a, b: a @ b, [r(4), r(4)]),
    S("matmul_1d_3d", lambda a, b: a @ b, [r(4), r(2, 4, 3)]),
    S("matmul_3d_1d", lambda a, b: a @ b, [r(2, 3, 4), r(4)]),
    S("matmul_empty_k", lambda a, b: a @ b, [r(3, 0), r(0, 2)]),
    S("matmul_int", lambda a, b: a @ b, [ints(2, 3), ints(3, 2)], grad=False),
    S("mm", lambda a, b: a.mm(b), [r(3, 4), r(4, 2)]),
    S("mm_fn_T", lambda a, b, lib: lib.mm(a, b), [r(3, 4), r(4, 2)], layout=("step", "T")),
    S("bmm", lambda a, b: a.bmm(b), [r(2, 3, 4), r(2, 4, 2)]),
    S("mv", lambda a, b: a.mv(b), [r(3, 4), r(4)]),
    S("dot", lambda a, b, lib: lib.dot(a, b), [r(4), r(4)]),
    S("outer", lambda a, b: a.outer(b), [r(3), r(4)]),
    S("addmm", lambda c, a, b, lib: lib.addmm(c, a, b, beta=0.5, alpha=2), [r(3, 2), r(3, 4),
                                                                             r(4, 2)]),
    S("baddbmm", lambda c, a, b, lib: lib.baddbmm(c, a, b), [r(2, 3, 2), r(2, 3, 4), r(2, 4, 2)]),
    S("tensordot", lambda a, b, lib: lib.tensordot(a, b, dims=([1], [0])), [r(3, 4), r(4, 2)]),
    S("trace", lambda a, lib: lib.trace(a), [r(3, 3)]),
    S("einsum_mm", lambda a, b, lib: lib.einsum("ij,jk->ik", a, b), [r(2, 3), r(3, 4)],
      dtypes=("float32", "float64")),
    S("einsum_bmm_T", lambda a, b, lib: lib.einsum("bij,bkj->bik", a, b), [r(2, 2, 3),
                                                                        r(2, 4, 3)], layout="T"),
    S("einsum_attention", lambda q, k, lib: lib.einsum("bhqd,bhkd->bhqk", q, k),
      [r(1, 2, 3, 4), r(1, 2, 2, 4)]),
    S("einsum_diag", lambda a, lib: lib.einsum("ii->i", a), [r(3, 3)]),
    S("einsum_trace", lambda a, lib: lib.einsum("ii", a), [r(3, 3)]),
    S("einsum_outer", lambda a, b, lib: lib.einsum("i,j->ij", a, b), [r(2), r(3)]),
    S("einsum_sum", lambda a, lib: lib.einsum("ij->", a), [r(2, 3)]),
    S("einsum_implicit", lambda a, b, lib: lib.einsum("ij,jk", a, b), [r(2, 3), r(3, 2)]),
    S("einsum_ellipsis_bcast", lambda a, b, lib: lib.einsum("...ij,...jk", a, b),
      [r(2, 2, 3), r(3, 4)]),
    S("einsum_three", lambda a, b, c, lib: lib.einsum("ij,jk,kl->il", a, b, c),
      [r(2, 3), r(3, 2), r(2, 2)]),
    S("einsum_list_operands", lambda a, b, lib: lib.einsum("i,i->", [a, b]), [r(3), r(3)]),
    S("einsum_permute", lambda a, lib: lib.einsum("ijk->kji", a), [r(2, 3, 4)]),
)

# ==================================================================================================
# shape ops and views
# ==================================================================================================
add(
    S("view", lambda x: x.view(4, 3), [r(3, 4)], dtypes=FLOATS),
    S("view_minus1", lambda x: x.view(-1), [r(3, 4)]),
    S("view_tuple", lambda x: x.view((2, -1, 2)), [r(3, 4)]),
    S("view_0d", lambda x: x.view(1, 1), [scalar()]),
    S("view_as", lambda x, y: x.view_as(y), [r(3, 4), r(12)], grad=False),
    S("view_empty", lambda x: x.view(0, 5), [r(0, 3)]),
    S("view_int", lambda x: x.view(2, 2), [ints(4)], grad=False),
    S("reshape", lambda x: x.reshape(2, 6), [r(3, 4)]),
    S("reshape_T_copies", lambda x: x.reshape(-1), [r(3, 4)], layout="T"),
    S("reshape_fn", lambda x, lib: lib.reshape(x, (6, 2)), [r(3, 4)], layout="step"),
    S("reshape_0d", lambda x: x.reshape(()), [r(1, 1)]),
    S("reshape_as", lambda x, y: x.reshape_as(y), [r(3, 4), r(2, 6)], grad=False),
    S("permute", lambda x: x.permute(2, 0, 1), [r(2, 3, 4)], dtypes=FLOATS),
    S("permute_tuple_neg", lambda x, lib: lib.permute(x, (-1, 0, 1)), [r(2, 3, 4)]),
    S("transpose", lambda x: x.transpose(0, 1), [r(3, 4)]),
    S("transpose_neg", lambda x, lib: lib.transpose(x, -1, -3), [r(2, 3, 4)]),
    S("transpose_0d", lambda x: x.transpose(0, -1), [scalar()]),
    S("t", lambda x: x.t(), [r(3, 4)]),
    S("t_1d", lambda x: x.t(), [r(3)]),
    S("T_prop", lambda x: x.T, [r(2, 3, 4)], grad=True),
    S("mT_prop", lambda x: x.mT, [r(2, 3, 4)]),
    S("unsqueeze", lambda x: x.unsqueeze(1), [r(3, 4)]),
    S("unsqueeze_neg", lambda x, lib: lib.unsqueeze(x, -1), [r(3, 4)], layout="T"),
    S("unsqueeze_0d", lambda x: x.unsqueeze(0), [scalar()]),
    S("squeeze", lambda x: x.squeeze(), [r(1, 3, 1, 4)]),
    S("squeeze_dim", lambda x: x.squeeze(0), [r(1, 3, 1)]),
    S("squeeze_dim_noop", lambda x: x.squeeze(1), [r(1, 3, 1)]),
    S("squeeze_dims", lambda x: x.squeeze((0, 2)), [r(1, 3, 1)]),
    S("squeeze_0d", lambda x: x.squeeze(), [scalar()]),
    S("flatten", lambda x: x.flatten(), [r(2, 3, 4)]),
    S("flatten_range", lambda x: x.flatten(1, 2), [r(2, 3, 4)]),
    S("flatten_T", lambda x, lib: lib.flatten(x), [r(3, 4)], layout="T"),
    S("flatten_0d", lambda x: x.flatten(), [scalar()]),
    S("unflatten", lambda x: x.unflatten(1, (2, -1)), [r(3, 4)]),
    S("ravel", lambda x: x.ravel(), [r(3, 4)], layout="T"),
    S("expand", lambda x: x.expand(3, 4), [r(1, 4)]),
    S("expand_neg1_new_dim", lambda x: x.expand(2, -1, 4), [r(3, 1)]),
    S("expand_as", lambda x, y: x.expand_as(y), [r(3, 1), r(3, 4)], grad=False),
    S("expand_0d", lambda x: x.expand(2, 3), [scalar()]),
    S("broadcast_to", lambda x, lib: lib.broadcast_to(x, (2, 3)), [r(3)]),
    S("broadcast_tensors", lambda a, b, lib: lib.broadcast_tensors(a, b), [r(3, 1), r(4)]),
    S("narrow", lambda x: x.narrow(1, 1, 2), [r(3, 4)]),
    S("narrow_neg_start", lambda x, lib: lib.narrow(x, 0, -2, 2), [r(3, 4)], layout="T"),
    S("narrow_empty", lambda x: x.narrow(0, 3, 0), [r(3, 4)]),
    S("select", lambda x: x.select(1, -1), [r(3, 4)]),
    S("contiguous", lambda x: x.contiguous(), [r(3, 4)], layout="T"),
    S("contiguous_noop", lambda x: x.contiguous(), [r(3, 4)]),
    S("cat", lambda a, b, lib: lib.cat([a, b]), [r(2, 3), r(1, 3)], dtypes=FLOATS),
    S("cat_dim1", lambda a, b, lib: lib.cat((a, b), 1), [r(2, 3), r(2, 1)], layout="T"),
    S("cat_neg_dim", lambda a, b, c, lib: lib.cat([a, b, c], dim=-1), [r(2, 1), r(2, 2), r(2, 0)]),
    S("cat_promote", lambda a, b, lib: lib.cat([a, b]), [ints(2), r(3)], grad=True),
    S("cat_int_bool", lambda a, b, lib: lib.cat([a, b]), [ints(2), bools(2)], grad=False),
    # the skipped legacy empty input gets no gradient (None) where torch gives zeros
    S("cat_legacy_empty", lambda a, b, lib: lib.cat([a, b]), [r(0), r(2, 3)], grad=False),
    S("cat_single", lambda a, lib: lib.cat([a]), [r(2, 3)]),
    S("concat", lambda a, b, lib: lib.concat([a, b], 0), [r(1), r(2)]),
    S("stack", lambda a, b, lib: lib.stack([a, b]), [r(2, 3), r(2, 3)], dtypes=FLOATS),
    S("stack_dim1", lambda a, b, lib: lib.stack((a, b), 1), [r(2, 3), r(2, 3)], layout="T"),
    S("stack_last", lambda a, b, lib: lib.stack([a, b], -1), [r(2), r(2)]),
    S("stack_0d", lambda a, b, lib: lib.stack([a, b]), [scalar(1.0), scalar(2.0)]),
    S("hstack", lambda a, b, lib: lib.hstack([a, b]), [r(2, 1), r(2, 2)]),
    S("vstack", lambda a, b, lib: lib.vstack([a, b]), [r(3), r(2, 3)]),
    S("split", lambda x: x.split(2), [r(5, 3)]),
    S("split_sizes", lambda x, lib: lib.split(x, [1, 3], dim=1), [r(2, 4)]),
    S("split_T", lambda x: x.split(1, -1), [r(3, 2)], layout="T"),
    S("chunk", lambda x: x.chunk(3), [r(5, 2)]),
    S("chunk_dim", lambda x, lib: lib.chunk(x, 2, dim=1), [r(2, 4)]),
    S("chunk_more_than_size", lambda x: x.chunk(4), [r(2, 2)]),
    S("tensor_split", lambda x: x.tensor_split(3), [r(5)]),
    S("unbind", lambda x: x.unbind(1), [r(2, 3)]),
    S("flip", lambda x: x.flip(0), [r(3, 4)], dtypes=FLOATS),
    S("flip_dims", lambda x, lib: lib.flip(x, (0, -1)), [r(2, 3, 4)], layout="T"),
    S("flip_int", lambda x: x.flip(0), [ints(5)], grad=False),
    S("fliplr", lambda x: x.fliplr(), [r(2, 3)]),
    S("roll", lambda x: x.roll(1, 1), [r(3, 4)]),
    S("roll_flat", lambda x, lib: lib.roll(x, -2), [r(3, 4)]),
    S("roll_multi", lambda x: x.roll((1, 2), (0, 1)), [r(3, 4)]),
    S("repeat", lambda x: x.repeat(2, 3), [r(2, 3)]),
    S("repeat_new_dims", lambda x: x.repeat(2, 1, 2), [r(3)]),
    S("tile", lambda x, lib: lib.tile(x, (2,)), [r(2, 3)]),
    S("movedim", lambda x: x.movedim(0, -1), [r(2, 3, 4)]),
    S("tril", lambda x: x.tril(), [r(3, 4)]),
    S("triu_diag", lambda x, lib: lib.triu(x, 1), [r(3, 4)]),
    S("tril_batched", lambda x: x.tril(-1), [r(2, 3, 3)]),
    S("diagonal", lambda x: x.diagonal(), [r(3, 4)]),
    S("diagonal_offset", lambda x, lib: lib.diagonal(x, 1), [r(3, 4)]),
    S("diagonal_neg_offset", lambda x: x.diagonal(-1), [r(3, 4)]),
    S("diag_1d", lambda x, lib: lib.diag(x), [r(3)]),
    S("diag_2d", lambda x, lib: lib.diag(x, 1), [r(3, 3)]),
    S("meshgrid", lambda a, b, lib: lib.meshgrid(a, b, indexing="ij"), [r(2), r(3)]),
    S("meshgrid_xy", lambda a, b, lib: lib.meshgrid(a, b, indexing="xy"), [r(2), r(3)]),
    S("pad_prim", lambda x, lib: prim_pad(x, (1, 2, 0, 1), lib), [r(2, 3)]),
    S("pad_prim_crop", lambda x, lib: prim_pad(x, (-1, 1), lib, value=2.0), [r(2, 3)]),
    S("pad_prim_0", lambda x, lib: prim_pad(x, (0, 0, 1, 0), lib), [ints(2, 2)], grad=False),
)

# ==================================================================================================
# convolution and pooling primitives (through nn.functional)
# ==================================================================================================
def _nnf(lib):
    return lib.nn.functional


add(
    S("conv2d", lambda x, w, b, lib: _nnf(lib).conv2d(x, w, b, padding=1), [r(1, 2, 4, 4),
                                                                          r(3, 2, 3, 3), r(3)]),
    S("conv1d_stride_groups", lambda x, w, lib: _nnf(lib).conv1d(x, w, stride=2, groups=2),
      [r(2, 4, 7), r(4, 2, 3)]),
    S("conv2d_dilation_T", lambda x, w, lib: _nnf(lib).conv2d(x, w, dilation=2),
      [r(1, 1, 5, 5), r(2, 1, 2, 2)], layout="T"),
    S("conv_transpose2d", lambda x, w, b, lib: _nnf(lib).conv_transpose2d(x, w, b, stride=2),
      [r(1, 2, 3, 3), r(2, 3, 2, 2), r(3)]),
    S("max_pool2d", lambda x, lib: _nnf(lib).max_pool2d(x, 2), [distinct(1, 2, 4, 4)]),
    S("max_pool2d_indices", lambda x, lib: _nnf(lib).max_pool2d(x, 3, stride=2, padding=1,
                                                                return_indices=True),
      [distinct(1, 1, 5, 5)]),
    S("avg_pool2d", lambda x, lib: _nnf(lib).avg_pool2d(x, 2), [r(1, 2, 4, 4)]),
)

# ==================================================================================================
# indexing
# ==================================================================================================
add(
    S("getitem_int", lambda x: x[1], [r(3, 4)], dtypes=FLOATS),
    S("getitem_neg_int", lambda x: x[-1, -2], [r(3, 4)]),
    S("getitem_slice", lambda x: x[1:], [r(3, 4)]),
    S("getitem_slice_step", lambda x: x[::2, 1], [r(3, 4)]),
    S("getitem_slice_neg", lambda x: x[-2:, :-1], [r(3, 4)], layout="T"),
    S("getitem_slice_oob", lambda x: x[1:100, 5:], [r(3, 4)]),
    S("getitem_none", lambda x: x[None, :, None], [r(3, 4)]),
    S("getitem_ellipsis", lambda x: x[..., 1], [r(2, 3, 4)]),
    S("getitem_ellipsis_none", lambda x: x[1, ..., None], [r(2, 3, 4)]),
    S("getitem_0d_ellipsis", lambda x: x[...], [scalar()]),
    S("getitem_0d_none", lambda x: x[None], [scalar()]),
    S("getitem_bool_true", lambda x: x[True], [r(3)]),
    S("getitem_tensor_idx", lambda x, i: x[i], [r(5, 3), index(4, n=5)]),
    S("getitem_tensor_idx_2d", lambda x, i: x[i], [r(5, 3), index(2, 2, n=5)]),
    S("getitem_neg_tensor_idx", lambda x, i: x[i], [r(5, 3), index(3, n=5) - 5]),
    S("getitem_list", lambda x: x[[0, 2, 2]], [r(3, 4)]),
    S("getitem_two_idx", lambda x, i, j: x[i, j], [r(3, 4), index(5, n=3), index(5, n=4)]),
    S("getitem_idx_bcast", lambda x, i, j: x[i, j], [r(3, 4), index(2, 1, n=3), index(3, n=4)]),
    S("getitem_idx_after_slice", lambda x, i: x[1:, i], [r(3, 4), index(2, n=4)]),
    S("getitem_idx_separated", lambda x, i, j: x[i, :, j], [r(3, 4, 5), index(2, n=3),
                                                            index(2, n=5)]),
    S("getitem_idx_int_mix", lambda x, i: x[i, 1], [r(3, 4), index(2, n=3)]),
    S("getitem_idx_int32", lambda x, i: x[i], [r(4, 2), index(3, n=4).astype(np.int32)]),
    S("getitem_idx_T", lambda x, i: x[:, i], [r(3, 4), index(3, n=4)], layout=("T", None)),
    S("getitem_mask", lambda x, m: x[m], [r(3, 4), bools(3, 4)]),
    S("getitem_mask_rows", lambda x, m: x[m], [r(3, 4), bools(3)]),
    S("getitem_mask_dim1", lambda x, m: x[:, m], [r(3, 4), bools(4)]),
    S("getitem_mask_cmp", lambda x: x[x > 0], [r(3, 4)]),
    S("getitem_mask_empty", lambda x, m: x[m], [r(3), np.zeros(3, bool)]),
    S("getitem_int_tensor_0d", lambda x, i: x[i], [r(3, 4), np.array(2)]),
    S("getitem_int_dtype", lambda x: x[1:, 0], [ints(3, 4)], grad=False),
    S("setitem_int", lambda x: setitem(x, 1, 5.0), [r(3, 4)], dtypes=FLOATS),
    S("setitem_slice_tensor", lambda x, v: setitem(x, (slice(None), slice(1, 3)), v),
      [r(3, 4), r(3, 2)]),
    S("setitem_slice_bcast", lambda x, v: setitem(x, slice(0, 2), v), [r(3, 4), r(4)]),
    S("setitem_step", lambda x, v: setitem(x, (slice(None, None, 2),), v), [r(5, 2), r(3, 2)]),
    S("setitem_idx", lambda x, i, v: setitem(x, i, v), [r(5, 3), perm_index((3,), 0, 5), r(3, 3)]),
    S("setitem_idx_scalar", lambda x, i: setitem(x, i, 0.0), [r(5, 3), index(3, n=5)]),
    S("setitem_two_idx", lambda x, i, j, v: setitem(x, (i, j), v),
      [r(3, 4), np.array([0, 1, 2]), np.array([3, 0, 1]), r(3)]),
    S("setitem_mask", lambda x, m: setitem(x, m, -1.0), [r(3, 4), bools(3, 4)]),
    S("setitem_mask_cmp", lambda x: setitem(x, x < 0, 0.0), [r(3, 4)], fd=False),
    S("setitem_mask_tensor", lambda x, m, v: setitem(x, m, v), [r(4), np.array([1, 0, 1, 0],
                                                                            bool), r(2)]),
    S("setitem_ellipsis", lambda x, v: setitem(x, (Ellipsis, 0), v), [r(2, 3), r(2)]),
    S("setitem_none", lambda x: setitem(x, (None, 0), 2.0), [r(2, 3)]),
    S("setitem_int_value_cast", lambda x: setitem(x, 0, 3.7), [ints(3, 2)], grad=False),
    S("setitem_bool_tensor", lambda x: setitem(x, 1, True), [bools(3)], grad=False),
    S("setitem_0d", lambda x: setitem(x, (), 4.0), [scalar()]),
    S("setitem_view_of_grad_input", lambda x, v: setitem(x.t(), 0, v), [r(3, 4), r(3)]),
    S("gather", lambda x, i: x.gather(1, i), [r(3, 4), index(3, 2, n=4)], dtypes=FLOATS),
    S("gather_dim0", lambda x, i, lib: lib.gather(x, 0, i), [r(3, 4), index(2, 4, n=3)]),
    S("gather_smaller", lambda x, i: x.gather(1, i), [r(3, 4), index(2, 3, n=4)]),
    S("gather_T", lambda x, i: x.gather(0, i), [r(3, 4), index(2, 4, n=3)], layout=("T", None)),
    S("gather_int", lambda x, i: x.gather(0, i), [ints(3), index(4, n=3)], grad=False),
    S("gather_empty", lambda x, i: x.gather(1, i), [r(3, 4), index(3, 0, n=4)]),
    S("scatter", lambda x, i, s: x.scatter(1, i, s), [r(3, 4), perm_index((3, 2), 1, 4),
                                                      r(3, 2)], dtypes=FLOATS),
    S("scatter_value", lambda x, i: x.scatter(0, i, 1.5), [r(3, 4), perm_index((2, 4), 0, 3)]),
    S("scatter_src_bigger", lambda x, i, s, lib: lib.scatter(x, 1, i, s),
      [r(3, 4), perm_index((2, 2), 1, 4), r(3, 3)], grad=False),  # torch's grad is broken
    S("scatter_reduce_add", lambda x, i, s: x.scatter(1, i, s, reduce="add"),
      [r(2, 3), index(2, 4, n=3), r(2, 4)], grad=False),  # torch has no derivative for it
    S("scatter_int", lambda x, i, s: x.scatter(0, i, s), [ints(4), perm_index((2,), 0, 4),
                                                          ints(2)], grad=False),
    S("scatter_add", lambda x, i, s: x.scatter_add(1, i, s), [r(3, 4), index(3, 5, n=4),
                                                              r(3, 5)], dtypes=FLOATS),
    S("scatter_add_fn", lambda x, i, s, lib: lib.scatter_add(x, 0, i, s),
      [r(3, 2), index(4, 2, n=3), r(4, 2)]),
    S("scatter_add_int", lambda x, i, s: x.scatter_add(0, i, s), [ints(3), index(5, n=3),
                                                                  ints(5)], grad=False),
    S("index_select", lambda x, i: x.index_select(0, i), [r(3, 4), index(5, n=3)],
      dtypes=FLOATS),
    S("index_select_dim1", lambda x, i, lib: lib.index_select(x, 1, i), [r(3, 4), index(2, n=4)],
      layout=("T", None)),
    S("index_select_int32", lambda x, i: x.index_select(0, i), [r(3), index(2, n=3).astype(
        np.int32)]),
    S("index_select_0d", lambda x, i: x.index_select(0, i), [scalar(), np.array([0])]),
    S("index_add", lambda x, i, s: x.index_add(0, i, s), [r(3, 2), index(4, n=3), r(4, 2)]),
    S("index_put", lambda x, i, v: x.index_put((i,), v), [r(4, 3), perm_index((2,), 0, 4),
                                                         r(2, 3)], dtypes=("float32", "float64")),
    S("index_put_bcast_value", lambda x, i, j, v: x.index_put((i, j), v),
      [r(3, 4), np.array([0, 2]), np.array([3, 1]), scalar()]),
    S("index_put_accumulate", lambda x, i, v: x.index_put((i,), v, accumulate=True),
      [r(3, 2), index(5, n=3), r(5, 2)]),
    S("index_put_mask", lambda x, m: x.index_put((m,), x.new_tensor(7.0)), [r(3, 2), bools(3)]),
    S("index_put_int", lambda x, i, lib: lib.index_put(x, (i,), x.new_tensor(-1)),
      [ints(5), index(2, n=5)], grad=False),
    S("index_put_", lambda x, i, v: inplace("index_put_", accumulate=True)(x, (i,), v),
      [r(4), index(3, n=4), r(3)]),
    S("index_fill", lambda x, i: x.index_fill(1, i, -1.0), [r(3, 4), index(2, n=4)]),
    S("masked_select", lambda x, m: x.masked_select(m), [r(3, 4), bools(3, 4)]),
    S("masked_select_bcast", lambda x, m, lib: lib.masked_select(x, m), [r(3, 4), bools(4)]),
    S("take", lambda x, i: x.take(i), [r(3, 4), index(2, 2, n=12)]),
    S("take_along_dim", lambda x, i, lib: lib.take_along_dim(x, i, 1), [r(3, 4),
                                                                        index(3, 2, n=4)]),
    S("nonzero", lambda x: x.nonzero(), [ints(3, 4, lo=-1, hi=2)], grad=False),
    S("nonzero_tuple", lambda x, lib: lib.nonzero(x, as_tuple=True), [bools(3, 4)], grad=False),
    S("argwhere", lambda x, lib: lib.argwhere(x), [bools(2, 3)], grad=False),
    S("sort", lambda x: x.sort(), [distinct(3, 4)], dtypes=FLOATS),
    S("sort_dim0_desc", lambda x: x.sort(0, descending=True), [distinct(3, 4)], layout="T"),
    S("sort_stable_ties", lambda x, lib: lib.sort(x, stable=True),
      [np.array([3.0, 1.0, 3.0, 1.0, 2.0])], fd=False),
    S("sort_desc_stable_ties", lambda x: x.sort(descending=True, stable=True),
      [np.array([3.0, 1.0, 3.0, 1.0, 2.0])], fd=False),
    S("sort_int", lambda x: x.sort(), [ints(8)], grad=False),
    S("sort_bool", lambda x: x.sort(stable=True), [bools(6)], grad=False),
    S("sort_0d", lambda x: x.sort(), [scalar()]),
    S("sort_empty", lambda x: x.sort(), [r(0)]),
    S("argsort", lambda x: x.argsort(), [distinct(3, 4)], grad=False),
    S("argsort_desc", lambda x, lib: lib.argsort(x, 0, descending=True), [distinct(3, 4)],
      grad=False),
    S("msort", lambda x, lib: lib.msort(x), [distinct(3, 2)]),
    S("topk", lambda x: x.topk(2), [distinct(3, 4)], dtypes=FLOATS),
    S("topk_smallest", lambda x: x.topk(2, dim=0, largest=False), [distinct(3, 4)], layout="T"),
    S("topk_fn_k0", lambda x, lib: lib.topk(x, 0), [distinct(3, 4)]),
    S("topk_int", lambda x: x.topk(3), [np.array([5, 1, 4, 2, 3])], grad=False),
    S("kthvalue", lambda x: x.kthvalue(2, 1), [distinct(3, 4)]),
    S("median", lambda x: x.median(), [distinct(5)]),
    S("median_dim", lambda x: x.median(1), [distinct(3, 4)]),
    S("unique", lambda x, lib: lib.unique(x), [ints(8, lo=0, hi=4)], grad=False),
    S("unique_inverse_counts", lambda x, lib: lib.unique(x, return_inverse=True,
                                                         return_counts=True),
      [ints(8, lo=0, hi=4)], grad=False),
    S("bincount", lambda x, lib: lib.bincount(x), [ints(8, lo=0, hi=4)], grad=False),
    S("searchsorted", lambda s, v, lib: lib.searchsorted(s, v), [np.array([1.0, 3.0, 5.0, 7.0]),
                                                                 r(5) * 4 + 4], grad=False),
)

# ==================================================================================================
# in-place ops (on clones; every one goes through write()), conversions, scalars
# ==================================================================================================
add(
    S("add_", inplace("add_"), [r(3, 4), r(3, 4)], dtypes=FLOATS),
    S("add_bcast_", inplace("add_"), [r(3, 4), r(4)]),
    S("add_scalar_alpha_", inplace("add_", alpha=2), [r(3), r(3)]),
    S("sub_", inplace("sub_"), [r(3), r(3)]),
    S("mul_", inplace("mul_"), [r(3, 4), r(3, 4)], layout="T"),
    S("mul_scalar_", inplace("mul_", 2.0), [r(3)]),
    S("div_", inplace("div_"), [r(3), away(3)]),
    S("pow_", inplace("pow_", 2), [r(3)]),
    S("clamp_", inplace("clamp_", -0.5, 0.5), [away(6) * 0.8], fd=False),
    S("clamp_min_", inplace("clamp_min_", 0.0), [away(6)], fd=False),
    S("zero_", inplace("zero_"), [r(3, 4)]),
    S("fill_", inplace("fill_", 2.5), [r(3, 4)]),
    S("fill_tensor_", lambda x, v: inplace("fill_")(x, v), [r(3, 4), scalar()]),
    S("copy_", inplace("copy_"), [r(3, 4), r(3, 4)]),
    S("copy_bcast_", inplace("copy_"), [r(3, 4), r(4)]),
    S("copy_cast_", lambda x, y: inplace("copy_")(x, y.double()), [r(3), r(3)]),
    S("copy_int_from_float_", inplace("copy_"), [ints(4), r(4)], grad=False),
    S("exp_", inplace("exp_"), [r(3)]),
    S("sigmoid_", inplace("sigmoid_"), [r(3)]),
    S("relu_", inplace("relu_"), [away(4)]),
    S("neg_", inplace("neg_"), [r(4)]),
    S("masked_fill_", inplace("masked_fill_"), [r(3, 4), bools(3, 4), scalar(9.0)]),
    S("index_put__2", lambda x, i, v: inplace("index_put_")(x, (i,), v),
      [r(4, 2), perm_index((2,), 0, 4), r(2, 2)]),
    S("scatter_", inplace("scatter_"), [r(3, 4), np.array(1), perm_index((3, 2), 1, 4),
                                        r(3, 2)], grad=False),
    S("index_fill_", inplace("index_fill_", 2.0), [r(3, 4), np.array(0), index(2, n=3)],
      grad=False),
    S("iadd", lambda x, y: _iop(x, y, "+"), [r(3), r(3)]),
    S("isub_scalar", lambda x: _iop(x, 1, "-"), [r(3)]),
    S("imul", lambda x, y: _iop(x, y, "*"), [r(3, 4), r(4)]),
    S("idiv", lambda x, y: _iop(x, y, "/"), [r(3), away(3)]),
    S("iadd_int", lambda x, y: _iop(x, y, "+"), [ints(3), ints(3)], grad=False),
    S("iadd_int_bool", lambda x, y: _iop(x, y, "+"), [ints(3), bools(3)], grad=False),
    S("iand_bool", lambda x, y: _iop(x, y, "&"), [bools(4), bools(4)], grad=False),
    S("ior_int", lambda x, y: _iop(x, y, "|"), [ints(4), ints(4)], grad=False),
    S("to_float64", lambda x: x.to(x.new_zeros(()).double().dtype), [r(3)]),
    S("to_int", lambda x: x.to(x.new_zeros((), dtype=None).long().dtype), [r(5) * 3],
      grad=False),
    S("to_tensor", lambda x, y: x.to(y), [r(3), ints(1)], grad=False),
    S("to_same", lambda x: x.to(x.dtype), [r(3)]),
    S("to_copy", lambda x: x.to(x.dtype, copy=True), [r(3)]),
    S("to_kw", lambda x, lib: x.to(dtype=lib.float64), [r(3)]),
    S("to_cpu", lambda x: x.to("cpu"), [r(3)]),
    S("float_from_int", lambda x: x.float(), [ints(3)], grad=False),
    S("double", lambda x: x.double(), [r(3)]),
    S("half", lambda x: x.half(), [r(3)], fd=False),
    S("bfloat16", lambda x: x.bfloat16(), [r(3)], fd=False),
    S("long_trunc", lambda x: x.long(), [r(6) * 3], grad=False),
    S("int_", lambda x: x.int(), [r(6) * 3], grad=False),
    S("short", lambda x: x.short(), [ints(3)], grad=False),
    S("char", lambda x: x.char(), [ints(3)], grad=False),
    S("byte", lambda x: x.byte(), [ints(3, lo=0)], grad=False),
    S("bool_from_float", lambda x: x.bool(), [np.array([0.0, 0.5, -1.0])], grad=False),
    S("float_from_bool", lambda x: x.float(), [bools(3)], grad=False),
    S("type_as", lambda x, y: x.type_as(y), [ints(3), r(1)], grad=False),
    S("type_str", lambda x: x.type(), [r(3)], grad=False),
    S("item", lambda x: x.item(), [scalar()], grad=False),
    S("item_1elem", lambda x: x.item(), [ints(1, 1)], grad=False),
    S("tolist", lambda x: x.tolist(), [ints(2, 3)], grad=False),
    S("tolist_float", lambda x: x.tolist(), [r(2)], grad=False),
    S("tolist_0d", lambda x: x.tolist(), [ints()], grad=False),
    S("float_cast", lambda x: float(x), [scalar()], grad=False),
    S("int_cast", lambda x: int(x), [ints()], grad=False),
    S("bool_cast", lambda x: bool(x), [bools()], grad=False),
    S("len", lambda x: len(x), [r(3, 4)], grad=False),
    S("meta_shape", lambda x: (tuple(x.shape), x.size(), x.size(-1), x.dim(), x.ndim, x.numel()),
      [r(2, 3, 4)], grad=False),
    S("meta_stride", lambda x: (x.stride(), x.stride(0), x.is_contiguous(), x.storage_offset()),
      [r(3, 4)], grad=False, layout="T"),
    S("meta_stride_step", lambda x: (x.stride(), x.is_contiguous(), x.storage_offset()),
      [r(3, 4)], grad=False, layout="step"),
    S("meta_slice_offset", lambda x: (x[1:, 2:].storage_offset(), x[1:, 2:].stride()),
      [r(3, 4)], grad=False),
    S("meta_element_size", lambda x: (x.element_size(), x.nbytes, x.itemsize), [ints(3)],
      grad=False),
    S("is_floating_point", lambda x, y: (x.is_floating_point(), y.is_floating_point()),
      [r(2), ints(2)], grad=False),
    S("iter", lambda x: list(x), [r(3, 2)]),
)


def _iop(x, y, op):
    x = x.clone()
    if op == "+":
        x += y
    elif op == "-":
        x -= y
    elif op == "*":
        x *= y
    elif op == "/":
        x /= y
    elif op == "&":
        x &= y
    elif op == "|":
        x |= y
    return x


# ==================================================================================================
# creation (no tensor inputs: fn(lib=...)); random ones are checked through their properties
# ==================================================================================================
def _t(lib, name):
    return getattr(lib, name)


add(
    S("tensor_nested", lambda lib: lib.tensor([[1, 2], [3, 4]]), grad=False),
    S("tensor_float", lambda lib: lib.tensor([1.0, 2]), grad=False),
    S("tensor_bool", lambda lib: lib.tensor([True, False]), grad=False),
    S("tensor_scalar", lambda lib: lib.tensor(3.5), grad=False),
    S("tensor_int_scalar", lambda lib: lib.tensor(3), grad=False),
    S("tensor_empty", lambda lib: lib.tensor([]), grad=False),
    S("tensor_dtype", lambda lib: lib.tensor([1, 2], dtype=lib.float64), grad=False),
    S("tensor_mixed", lambda lib: lib.tensor([1, 2.5, True]), grad=False),
    S("tensor_from_np_f64", lambda lib: lib.tensor(np.array([1.0, 2.0])), grad=False),
    S("tensor_from_np_i32", lambda lib: lib.tensor(np.array([1, 2], np.int32)), grad=False),
    S("tensor_of_0d_tensors", lambda x, lib: lib.tensor([x, x]), [scalar()], grad=False),
    S("from_numpy", lambda lib: lib.from_numpy(np.arange(6, dtype=np.int16).reshape(2, 3)),
      grad=False),
    S("as_tensor", lambda lib: lib.as_tensor([1.0, 2.0], dtype=lib.float16), grad=False),
    S("zeros", lambda lib: lib.zeros(2, 3), grad=False),
    S("zeros_tuple_dtype", lambda lib: lib.zeros((2, 3), dtype=lib.int32), grad=False),
    S("zeros_0d", lambda lib: lib.zeros(()), grad=False),
    S("zeros_empty", lambda lib: lib.zeros(0, 3), grad=False),
    S("ones", lambda lib: lib.ones(3, dtype=lib.bool), grad=False),
    S("ones_list", lambda lib: lib.ones([2, 2]), grad=False),
    S("full", lambda lib: lib.full((2, 3), 1.5), grad=False),
    S("full_int", lambda lib: lib.full((2,), 7), grad=False),
    S("full_bool", lambda lib: lib.full((2,), True), grad=False),
    S("full_dtype", lambda lib: lib.full([2], 7, dtype=lib.float64), grad=False),
    S("empty_meta", lambda lib: (lib.empty(2, 3).shape, lib.empty(2, 3).dtype == lib.float32),
      grad=False),
    S("arange", lambda lib: lib.arange(5), grad=False),
    S("arange_start_end", lambda lib: lib.arange(2, 7), grad=False),
    S("arange_step", lambda lib: lib.arange(1, 10, 3), grad=False),
    S("arange_float", lambda lib: lib.arange(0, 1, 0.25), grad=False),
    S("arange_neg_step", lambda lib: lib.arange(5, 0, -1.5), grad=False),
    S("arange_dtype", lambda lib: lib.arange(4, dtype=lib.float64), grad=False),
    S("arange_empty", lambda lib: lib.arange(0), grad=False),
    S("arange_float_end", lambda lib: lib.arange(3.0), grad=False),
    S("linspace", lambda lib: lib.linspace(0, 1, 5), grad=False),
    S("linspace_one", lambda lib: lib.linspace(2, 3, 1), grad=False),
    S("linspace_int", lambda lib: lib.linspace(0, 10, 4, dtype=lib.int64), grad=False),
    S("logspace", lambda lib: lib.logspace(0, 2, 3), grad=False),
    S("eye", lambda lib: lib.eye(3), grad=False),
    S("eye_rect", lambda lib: lib.eye(2, 3, dtype=lib.int64), grad=False),
    S("zeros_like", lambda x, lib: lib.zeros_like(x), [r(2, 3)], grad=False),
    S("ones_like_dtype", lambda x, lib: lib.ones_like(x, dtype=lib.int32), [r(2, 3)],
      grad=False),
    S("full_like", lambda x, lib: lib.full_like(x, 7), [ints(2)], grad=False),
    S("empty_like_meta", lambda x, lib: lib.empty_like(x).shape, [r(2, 3)], grad=False),
    S("new_zeros", lambda x: x.new_zeros(2, 2), [ints(3)], grad=False),
    S("new_ones", lambda x: x.new_ones((2,)), [r(3)], grad=False),
    S("new_full", lambda x: x.new_full((2,), 3), [r(3)], grad=False),
    S("new_tensor", lambda x: x.new_tensor([1, 2]), [r(3)], grad=False),
    S("scalar_tensor", lambda lib: lib.scalar_tensor(3), grad=False),
    S("rand_props", lambda lib: (_rand_ok(lib, lib.rand(200)), lib.rand(2, 3).shape,
                                 lib.rand(2, dtype=lib.float64).dtype == lib.float64),
      grad=False),
    S("rand_like", lambda x, lib: lib.rand_like(x).shape, [r(2, 3)], grad=False),
    S("randn_props", lambda lib: (bool(lib.randn(2000).mean().abs() < 0.15),
                                  bool((lib.randn(2000).std() - 1).abs() < 0.15),
                                  lib.randn(3, 2).shape), grad=False),
    S("randn_like", lambda x, lib: lib.randn_like(x).dtype == x.dtype, [r(2)], grad=False),
    S("randint_props", lambda lib: (_randint_ok(lib.randint(2, 5, (300,))),
                                    lib.randint(3, (2, 2)).dtype == lib.int64,
                                    lib.randint(0, 3, (4,), dtype=lib.int32).dtype), grad=False),
    S("randint_like", lambda x, lib: lib.randint_like(x, 10).dtype == x.dtype, [ints(3)],
      grad=False),
    S("randperm", lambda lib: lib.randperm(10).sort().values, grad=False),
    S("normal_fn", lambda lib: lib.normal(2.0, 0.5, (4,)).shape, grad=False),
    S("manual_seed_repeat", lambda lib: _seed_repeats(lib), grad=False),
    S("generator_repeat", lambda lib: _generator_repeats(lib), grad=False),
    S("uniform_", lambda x: _inplace_props(x, "uniform_", -1, 1), [r(100)], grad=False),
    S("normal_", lambda x: x.clone().normal_(0, 0.01).abs().max() < 0.1, [r(100)], grad=False),
    S("random_", lambda x: bool(((x.clone().random_(0, 3) >= 0) & (x < 3)).all()), [r(20)],
      grad=False),
)


def _rand_ok(lib, x):
    return bool(((x >= 0) & (x < 1)).all()) and x.dtype == lib.float32


def _randint_ok(x):
    return bool(((x >= 2) & (x < 5)).all()) and bool((x == 2).any() and (x == 4).any())


def _seed_repeats(lib):
    lib.manual_seed(3)
    a = lib.rand(5)
    lib.manual_seed(3)
    b = lib.rand(5)
    c = lib.rand(5)
    return bool(lib.equal(a, b)), bool(lib.equal(a, c))


def _generator_repeats(lib):
    g = lib.Generator().manual_seed(7)
    a = lib.randn(4, generator=g)
    g.manual_seed(7)
    b = lib.randn(4, generator=g)
    lib.manual_seed(0)
    return bool(lib.equal(a, b)), g.initial_seed()


def _inplace_props(x, name, lo, hi):
    y = x.clone()
    out = getattr(y, name)(lo, hi)
    return out is y, bool(((y >= lo) & (y < hi)).all())


from tests.ops import samples_complex, samples_ctc, samples_linalg, samples_special  # noqa: E402
add(*samples_linalg.ROWS, *samples_special.ROWS, *samples_ctc.ROWS, *samples_complex.ROWS)
# ==================================================================================================
# elementwise primitives of ops/elementwise_extra.py
# ==================================================================================================
def _unit(*shape):
    return np.random.default_rng(7).uniform(-0.9, 0.9, shape)


def _above_one(*shape):
    return np.random.default_rng(8).uniform(1.2, 3.0, shape)


_EXTRA_UNARY = [  # (name, input maker, numpy reference)
    ("asin", _unit, np.arcsin), ("acos", _unit, np.arccos), ("atan", r, np.arctan),
    ("asinh", r, np.arcsinh), ("acosh", _above_one, np.arccosh), ("atanh", _unit, np.arctanh),
    ("erfc", r, None), ("erfinv", _unit, None), ("lgamma", pos, None), ("digamma", pos, None),
]
for _name, _mk, _ref in _EXTRA_UNARY:
    add(S(_name, (lambda n: lambda x: getattr(x, n)())(_name), [_mk(3, 4)],
          dtypes=("float32", "float64"), ref=_ref),
        S(_name + "_fn_0d", (lambda n: lambda x, lib: getattr(lib, n)(x))(_name), [_mk()],
          dtypes=("float64",)))
add(
    S("polygamma_2", lambda x, lib: lib.polygamma(2, x), [pos(3, 4)], dtypes=("float32", "float64")),
    S("logaddexp", lambda a, b: a.logaddexp(b), [r(3, 4), r(3, 4)], ref=np.logaddexp),
    S("logaddexp_bcast", lambda a, b, lib: lib.logaddexp(a, b), [r(3, 1), r(4)]),
    S("logaddexp2", lambda a, b: a.logaddexp2(b), [r(3, 4), r(3, 4)], ref=np.logaddexp2),
    S("hypot", lambda a, b: a.hypot(b), [away(3, 4), away(3, 4)], ref=np.hypot),
    S("copysign", lambda a, b: a.copysign(b), [away(3, 4), away(3, 4)], ref=np.copysign),
    S("nextafter", lambda a, b: a.nextafter(b), [r(3, 4), r(3, 4)], grad=False,
      ref=np.nextafter),
    S("gcd", lambda a, b: a.gcd(b), [ints(3, 4), ints(3, 4)], grad=False, ref=np.gcd),
    S("lcm", lambda a, b: a.lcm(b), [ints(3, 4), ints(3, 4)], grad=False, ref=np.lcm),
    S("bitwise_left_shift", lambda a, b: a.bitwise_left_shift(b),
      [ints(3, 4), ints(3, 4, lo=0, hi=5)], grad=False),
    S("bitwise_right_shift", lambda a, b: a >> b, [ints(3, 4), ints(3, 4, lo=0, hi=5)],
      grad=False),
    # torch differentiates only the second operand: the sample's a is a constant (built on the
    # CPU, so the rows do not run on a device)
    S("igamma", lambda x, lib: lib.igamma(lib.tensor([[0.5, 1.0], [2.0, 3.5]],
                                                    dtype=x.dtype), x), [pos(2, 2)], gpu=False),
    S("igammac", lambda x, lib: lib.igammac(lib.tensor([[0.5, 1.0], [2.0, 3.5]],
                                                      dtype=x.dtype), x), [pos(2, 2)], gpu=False),
)


BY_NAME = {}
for _s in SAMPLES:
    if _s.name in BY_NAME:
        raise ValueError(f"duplicate sample name {_s.name!r}")
    BY_NAME[_s.name] = _s
