"""The dtype table and PyTorch's type-promotion rules.

Every dtype ember knows is one row here: its name, item size, NumPy dtype, Triton name and the short
name used in printed IR (``f32``).  bfloat16 comes from ``ml_dtypes`` because NumPy has none.
"""
from __future__ import annotations

import numpy as np

try:  # ml_dtypes gives NumPy a real bfloat16 with ufunc support
    import ml_dtypes
    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a hard dependency, kept soft for odd installs
    _BF16 = None

BOOL, INT, FLOAT, COMPLEX = 0, 1, 2, 3  # promotion categories, in order


class dtype:
    __slots__ = ("name", "itemsize", "np", "triton", "short", "category", "is_signed", "_hash")

    def __init__(self, name, np_dtype, triton, short, category, is_signed):
        self.name = name
        self.np = np.dtype(np_dtype) if np_dtype is not None else None
        self.itemsize = self.np.itemsize if self.np is not None else 2
        self.triton = triton
        self.short = short
        self.category = category
        self.is_signed = is_signed
        self._hash = hash(name)

    @property
    def is_floating_point(self):
        return self.category == FLOAT

    @property
    def is_complex(self):
        return self.category == COMPLEX

    def to_real(self):
        """complex64 -> float32, complex128 -> float64; a real dtype is its own real dtype."""
        return _REAL_OF.get(self, self)

    def to_complex(self):
        """The complex dtype whose parts have this float dtype (PyTorch's toComplexType)."""
        return _COMPLEX_OF[self]

    def __repr__(self):
        return "ember." + self.name

    def __hash__(self):
        return self._hash

    def __reduce__(self):  # pickles as a reference to the module-level singleton
        return (_by_name, (self.name,))


float16 = dtype("float16", np.float16, "tl.float16", "f16", FLOAT, True)
bfloat16 = dtype("bfloat16", _BF16, "tl.bfloat16", "bf16", FLOAT, True)
float32 = dtype("float32", np.float32, "tl.float32", "f32", FLOAT, True)
float64 = dtype("float64", np.float64, "tl.float64", "f64", FLOAT, True)
int8 = dtype("int8", np.int8, "tl.int8", "i8", INT, True)
int16 = dtype("int16", np.int16, "tl.int16", "i16", INT, True)
int32 = dtype("int32", np.int32, "tl.int32", "i32", INT, True)
int64 = dtype("int64", np.int64, "tl.int64", "i64", INT, True)
uint8 = dtype("uint8", np.uint8, "tl.uint8", "u8", INT, False)
bool_ = dtype("bool", np.bool_, "tl.int1", "b8", BOOL, False)
# complex tensors run on NumPy (no Triton type: the Triton codegen does not take them)
complex64 = dtype("complex64", np.complex64, "complex64", "c64", COMPLEX, True)
complex128 = dtype("complex128", np.complex128, "complex128", "c128", COMPLEX, True)
cfloat, cdouble = complex64, complex128

half, float, double = float16, float32, float64
short, int, long = int16, int32, int64

ALL = (float16, bfloat16, float32, float64, int8, int16, int32, int64, uint8, bool_, complex64,
       complex128)
FLOATING = (float16, bfloat16, float32, float64)
COMPLEX_TYPES = (complex64, complex128)
_REAL_OF = {complex64: float32, complex128: float64}
_COMPLEX_OF = {float16: complex64, bfloat16: complex64, float32: complex64, float64: complex128,
               complex64: complex64, complex128: complex128}
BY_NAME = {d.name: d for d in ALL}
BY_SHORT = {d.short: d for d in ALL}
BY_NP = {d.np: d for d in ALL if d.np is not None}


def _by_name(name):
    return BY_NAME[name]


_default_float = [float32]


def get_default_dtype():
    return _default_float[0]


def set_default_dtype(d):
    if d not in FLOATING:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float[0] = d


def from_numpy_dtype(np_dtype) -> dtype:
    try:
        return BY_NP[np_dtype]
    except KeyError:
        d = np.dtype(np_dtype)
        if d in BY_NP:
            return BY_NP[d]
        raise TypeError(
            f"can't convert np.ndarray of type {d}. The only supported types are: float64, float32, "
            "float16, complex64, complex128, bfloat16, int64, int32, int16, int8, uint8, and "
            "bool.") from None


import builtins as _builtins  # noqa: E402

_pyfloat, _pyint, _pybool = _builtins.float, _builtins.int, _builtins.bool


def to_dtype(d) -> dtype:
    """Accepts an ember dtype, a torch dtype object, a NumPy dtype, a name or a Python type."""
    if d is None or isinstance(d, dtype):
        return d
    if d is _pyfloat:
        return get_default_dtype()
    if d is _pyint:
        return int64
    if d is _pybool:
        return bool_
    name = str(d).replace("torch.", "").replace("ember.", "")
    if name in BY_NAME:
        return BY_NAME[name]
    return from_numpy_dtype(np.dtype(d))


def promote_types(a: dtype, b: dtype) -> dtype:
    """torch.promote_types: the smallest dtype both a and b convert to without losing category."""
    if a is b:
        return a
    return _PROMOTE[(a, b)]


def _promote_slow(a, b):
    if COMPLEX in (a.category, b.category):
        # complex wins; its parts are wide enough for both (complex64 + float64 -> complex128)
        parts = [d.to_real() for d in (a, b) if d.category >= FLOAT]
        return complex128 if any(p.itemsize == 8 for p in parts) else complex64
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == FLOAT:
        if {a, b} == {float16, bfloat16}:
            return float32
        return a if a.itemsize >= b.itemsize else b
    if a.category == BOOL:
        return a
    if a.is_signed == b.is_signed:
        return a if a.itemsize >= b.itemsize else b
    signed, unsigned = (a, b) if a.is_signed else (b, a)
    if signed.itemsize > unsigned.itemsize:
        return signed
    return {1: int16, 2: int32, 4: int64, 8: int64}[unsigned.itemsize]


_PROMOTE = {(a, b): _promote_slow(a, b) for a in ALL for b in ALL}


def scalar_dtype(x) -> dtype:
    """The dtype PyTorch gives a Python scalar when it meets a tensor."""
    if isinstance(x, _pybool):
        return bool_
    if isinstance(x, _pyint):
        return int64
    if isinstance(x, _pyfloat):
        return get_default_dtype()
    if isinstance(x, complex):
        return get_default_dtype().to_complex()
    if isinstance(x, (np.generic,)):
        return from_numpy_dtype(x.dtype)
    if hasattr(x, "free_symbols"):  # a symbolic size while tracing (ember.shapes.SymDim)
        return int64
    raise TypeError(f"unsupported scalar type {type(x).__name__}")


def result_type(*operands) -> dtype:
    """torch.result_type over tensors and Python scalars, with PyTorch's three priority tiers:
    dimensioned tensors > zero-dim tensors > Python scalars. A lower tier only matters when its
    category (bool < int < float) is higher than everything above it; a Python scalar then gives
    the default dtype of its category (float32 / int64)."""
    dims = zeros = scalar_cat = None
    for x in operands:
        dt = getattr(x, "dtype", None)
        if isinstance(dt, dtype):
            if x.ndim > 0:
                dims = dt if dims is None else promote_types(dims, dt)
            else:
                zeros = dt if zeros is None else promote_types(zeros, dt)
        else:
            c = scalar_dtype(x).category
            scalar_cat = c if scalar_cat is None else max(scalar_cat, c)
    result = dims
    if zeros is not None and (result is None or zeros.category > result.category):
        # a complex 0-d tensor with float tensors takes their precision (float32 -> complex64)
        if result is not None and result.category == FLOAT and zeros.category == COMPLEX:
            result = result.to_complex()
        else:
            result = zeros
    if scalar_cat is not None and (result is None or scalar_cat > result.category):
        default = get_default_dtype()
        if scalar_cat == COMPLEX and result is not None and result.category == FLOAT:
            # a complex scalar with a float tensor keeps the tensor's precision (float64 -> c128)
            return result.to_complex() if result.itemsize >= default.itemsize else \
                default.to_complex()
        result = (bool_, int64, default, default.to_complex())[scalar_cat]
    return result


_LEGACY = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
           "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
           "bool": "Bool", "complex64": "ComplexFloat", "complex128": "ComplexDouble"}


def legacy_name(d: dtype) -> str:
    """PyTorch's scalar-type name used in its error messages ('Float', 'Long')."""
    return _LEGACY[d.name]
