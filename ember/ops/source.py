"""Source primitives: tensors made from nothing (constants, ranges, random numbers).  Random
primitives take an explicit seed, so a traced program is a pure function of its inputs and seeds."""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from .registry import Meta, define


def _full_np(shape, value, dtype):
    if isinstance(value, int) and not isinstance(value, bool) and dtype.category == dt.INT:
        value = np.asarray(value).astype(dtype.np)  # out-of-range ints wrap, as in PyTorch
    return np.full(shape, value, dtype=dtype.np)


FULL = define("full", family="source", infer=lambda shape, value, dtype: Meta(tuple(shape), dtype),
              numpy=_full_np, differentiable=False, triton="full",
              params=("shape", "value", "dtype"))


def _arange_len(start, end, step):
    import math
    return max(0, math.ceil((end - start) / step))


def _arange_np(start, end, step, dtype):
    n = _arange_len(start, end, step)
    return (start + np.arange(n, dtype=np.float64 if dtype.is_floating_point else np.int64) * step
            ).astype(dtype.np)


ARANGE = define("arange", family="source",
                infer=lambda start, end, step, dtype: Meta((_arange_len(start, end, step),), dtype),
                numpy=_arange_np, differentiable=False, triton="arange",
                params=("start", "end", "step", "dtype"))


def _random_np(kind):
    def f(shape, dtype, seed, low=0, high=1):
        rng = np.random.default_rng(seed)
        if kind == "uniform":
            x = rng.random(shape, dtype=np.float64 if dtype is dt.float64 else np.float32)
            if (low, high) != (0, 1):
                x = x * (high - low) + low
        elif kind == "normal":
            x = rng.standard_normal(shape, dtype=np.float64 if dtype is dt.float64 else np.float32)
        else:
            x = rng.integers(low, high, size=shape, dtype=np.int64)
        return x.astype(dtype.np, copy=False)
    return f


def _infer_random(shape, dtype, seed, low=0, high=1):
    return Meta(tuple(shape), dtype)


RAND_UNIFORM = define("rand_uniform", family="source", infer=_infer_random,
                      numpy=_random_np("uniform"), differentiable=False, triton="philox_uniform",
                      params=("shape", "dtype", "seed", "low", "high"))
RAND_NORMAL = define("rand_normal", family="source", infer=_infer_random,
                     numpy=_random_np("normal"), differentiable=False, triton="philox_normal",
                     params=("shape", "dtype", "seed"))
RAND_INT = define("rand_int", family="source", infer=_infer_random, numpy=_random_np("int"),
                  differentiable=False, triton="philox_int",
                  params=("shape", "dtype", "seed", "low", "high"))
