"""How a NumPy buffer of each ember dtype travels through MPI.

Most dtypes have an MPI datatype.  bool travels as uint8 (0/1, so MIN/MAX/bitwise ops are the
logical ones).  float16 and bfloat16 have no portable MPI datatype: they travel as a 2-byte
contiguous type, and reductions use a user-defined MPI op that applies the NumPy ufunc in the
16-bit type (rounding after each combine, as torch's CPU backends do).
"""
from __future__ import annotations

import numpy as np

from ._mpi import mpi
from .reduce_ops import ReduceOp, normalize, numpy_ufunc

_BUILTIN = {"float32": "FLOAT", "float64": "DOUBLE", "int8": "INT8_T", "int16": "INT16_T",
            "int32": "INT32_T", "int64": "INT64_T", "uint8": "UINT8_T", "bool": "UINT8_T"}
_HALF = ("float16", "bfloat16")
_MPI_OPS = {ReduceOp.SUM: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN",
            ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND", ReduceOp.BOR: "BOR", ReduceOp.BXOR: "BXOR"}
_cache = {}


def wire(array):
    """(buffer view, MPI datatype) for a contiguous array: what MPI reads and writes."""
    entry = _by_dtype.get(array.dtype)
    if entry is None:
        entry = _by_dtype[array.dtype] = _transport(array.dtype)
    view, dt = entry
    return (array.view(view) if view is not None else array), dt


_by_dtype = {}      # NumPy dtype -> (dtype the buffer is viewed as or None, MPI datatype)


def _transport(dtype):
    name = dtype.name
    view = np.uint8 if name == "bool" else np.uint16 if name in _HALF else None
    return view, datatype(name)


def datatype(name):
    key = ("type", name)
    t = _cache.get(key)
    if t is None:
        MPI = mpi()
        if name in _BUILTIN:
            t = getattr(MPI, _BUILTIN[name])
        elif name in _HALF:
            t = MPI.BYTE.Create_contiguous(2)
            t.Commit()
        else:
            raise TypeError(f"ember.distributed: no MPI transport for dtype {name}")
        _cache[key] = t
    return t


def reduction(op, dtype):
    """(normalized ReduceOp, MPI op) for ReduceOp ``op`` on buffers of NumPy ``dtype`` (cached:
    NumPy's dtype introspection costs microseconds per call)."""
    key = (op, dtype)
    r = _cache.get(key)
    if r is None:
        mop = normalize(op, dtype)
        r = _cache[key] = (mop, mpi_op(mop, dtype))
    return r


def mpi_op(op, np_dtype):
    """The MPI op applying normalized ReduceOp ``op`` to buffers of np_dtype."""
    MPI = mpi()
    name = np.dtype(np_dtype).name
    if name not in _HALF:
        return getattr(MPI, _MPI_OPS[op])
    key = ("op", op, name)
    o = _cache.get(key)
    if o is None:
        dtype, ufunc = np.dtype(np_dtype), numpy_ufunc(op)

        def combine(inbuf, inoutbuf, _datatype):
            a = np.frombuffer(inbuf, dtype)
            b = np.frombuffer(inoutbuf, dtype)
            ufunc(a, b, out=b)

        o = _cache[key] = MPI.Op.Create(combine, commute=True)
    return o
