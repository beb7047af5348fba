"""The numba kernels behind ember.runtime.native (imported by it on first use; needs numba).

Every loop here is written so that LLVM vectorizes it (checked with ``fn.inspect_asm``: packed
``vaddps``/``vmaxps``/``vfmadd...ps`` on ymm/zmm registers).  Three things that decide it:

* fast-math is limited to the flags each kernel needs: ``nnan``/``ninf`` would let LLVM assume
  away the NaN and infinity handling these kernels must keep (amax propagates NaN, exp(inf) = inf);
* a max/min reduction only vectorizes as ``llvm.maximum``/``llvm.minimum`` (NaN-propagating, like
  torch.amax); numba's ``max()`` and ``a if a > b else b`` both stay scalar (4 ms for 4M floats);
* inner loops run over a slice from index 0 (``x[lo:hi]``), not over ``range(lo, hi)`` of the
  whole array: the offset loop measured 50% slower.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

_SUM_FM = {"reassoc", "nsz", "contract"}   # reassoc lets LLVM keep several partial sums (SIMD lanes)
_EXP_FM = {"contract"}                     # FMA only: reassoc would fold the rounding trick away
_MAX_FM = {"reassoc", "nsz"}               # lets LLVM split a max into SIMD lanes (~10% faster)
_BLOCK = 4096                              # float32 partial sums cover at most this many elements


def _binary_intrinsic(name):
    @intrinsic
    def call(typingctx, a, b):
        def codegen(context, builder, signature, args):
            ty = args[0].type
            fn = builder.module.declare_intrinsic(name, [ty], ir.FunctionType(ty, [ty, ty]))
            return builder.call(fn, args)
        return a(a, b), codegen
    return call


_fmaximum = _binary_intrinsic("llvm.maximum")   # NaN-propagating max, vectorizable
_fminimum = _binary_intrinsic("llvm.minimum")


@intrinsic
def _scale_by_pow2(typingctx, p, shifted):
    """p * 2**k for float32 p, where ``shifted`` = k + 1.5 * 2**23 (so k sits in its low mantissa
    bits).  2**k is built from its exponent bits in two halves, 2**(k >> 1) * 2**(k - (k >> 1)),
    so k may run from -252 to 254: the result overflows to inf or underflows through the
    denormals with a single rounding, like a correctly scaled float."""
    sig = types.float32(types.float32, types.float32)

    def codegen(context, builder, signature, args):
        p, t = args
        i32 = ir.IntType(32)
        k = builder.sub(builder.bitcast(t, i32), ir.Constant(i32, 0x4B400000))
        k1 = builder.ashr(k, ir.Constant(i32, 1))
        k2 = builder.sub(k, k1)

        def pow2(e):
            bits = builder.shl(builder.add(e, ir.Constant(i32, 127)), ir.Constant(i32, 23))
            return builder.bitcast(bits, ir.FloatType())
        return builder.fmul(builder.fmul(p, pow2(k1)), pow2(k2))
    return sig, codegen


_F = np.float32
_LOG2E = _F(1.44269504088896341)
_SHIFTER = _F(12582912.0)          # 1.5 * 2**23: adding it rounds to an integer (ties to even)
_LN2_HI = _F(0.693359375)          # ln 2 split in two (Cody-Waite): k * _LN2_HI is exact
_LN2_LO = _F(-2.12194440e-4)
_X_MAX = _F(89.0)                  # exp(89) > float32 max: the scaling overflows to inf
_X_MIN = _F(-104.0)                # exp(-104) < half the smallest denormal: rounds to 0
_P0, _P1, _P2 = _F(1.9875691500e-4), _F(1.3981999507e-3), _F(8.3334519073e-3)
_P3, _P4, _P5 = _F(4.1665795894e-2), _F(1.6666665459e-1), _F(5.0000001201e-1)
_ONE = _F(1.0)


@njit(fastmath=_EXP_FM, inline="always")
def _expf(x):
    # clamp; NaN fails both compares and passes through (one vmaxps/vminps each, where
    # llvm.maximum/minimum would cost several instructions)
    x = _X_MIN if x < _X_MIN else x
    x = _X_MAX if x > _X_MAX else x
    t = x * _LOG2E + _SHIFTER
    k = t - _SHIFTER                       # round(x / ln 2)
    r = x - k * _LN2_HI
    r = r - k * _LN2_LO                    # |r| <= ln(2) / 2
    # Cephes expf's minimax polynomial: exp(r) = 1 + r + r^2 P(r), < 1 ulp on that range
    p = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
    p = p * (r * r) + r + _ONE
    return _scale_by_pow2(p, t)


@njit(parallel=True, fastmath=_EXP_FM, cache=True)
def exp_f32(x, out, block):
    for b in prange(-(-x.shape[0] // block)):
        xs = x[b * block:(b + 1) * block]
        os = out[b * block:(b + 1) * block]
        for i in range(xs.shape[0]):
            os[i] = _expf(xs[i])
    return 0


@njit(fastmath=_SUM_FM, inline="always")
def _sum_block(x, zero):
    s = zero
    for i in range(x.shape[0]):
        s += x[i]
    return s


@njit(fastmath=_SUM_FM, inline="always")
def _sum(x, zero):
    """Sum of a 1-D contiguous array in float64, from partial sums of _BLOCK elements in x's
    dtype (``zero`` is a 0 of that dtype): LLVM adds a block in a few dozen SIMD lanes, so each
    lane adds ~100 values (error like pairwise summation), and the blocks are combined in
    float64.  Loops index slices from 0, never x[lo:hi] by offset: a slice's loop vectorizes
    cleanly, an offset loop measured 50% slower."""
    total = 0.0
    for b in range(0, x.shape[0], _BLOCK):
        total += _sum_block(x[b:b + _BLOCK], zero)
    return total


@njit(parallel=True, fastmath=_SUM_FM, cache=True)
def full_sum(x, block, zero):
    # fixed-size blocks, not one per thread: the result does not depend on the thread count
    partial = np.empty(-(-x.shape[0] // block), np.float64)
    for p in prange(partial.shape[0]):
        partial[p] = _sum(x[p * block:(p + 1) * block], zero)
    return partial.sum()


@njit(parallel=True, fastmath=_SUM_FM, cache=True)
def row_sum(x2, out, zero):
    for r in prange(x2.shape[0]):
        out[r] = _sum(x2[r], zero)
    return 0


# max/min: one kernel per direction (not a factory of closures: numba's on-disk cache keys a
# kernel by its qualified name, which closures would share)
@njit(fastmath=_MAX_FM, inline="always")
def _max(x):
    m = x[0]
    for i in range(x.shape[0]):
        m = _fmaximum(m, x[i])
    return m


@njit(fastmath=_MAX_FM, inline="always")
def _min(x):
    m = x[0]
    for i in range(x.shape[0]):
        m = _fminimum(m, x[i])
    return m


@njit(parallel=True, fastmath=_MAX_FM, cache=True)
def full_max(x, block):
    partial = np.empty(-(-x.shape[0] // block), x.dtype)
    for p in prange(partial.shape[0]):
        partial[p] = _max(x[p * block:(p + 1) * block])
    return _max(partial)


@njit(parallel=True, fastmath=_MAX_FM, cache=True)
def full_min(x, block):
    partial = np.empty(-(-x.shape[0] // block), x.dtype)
    for p in prange(partial.shape[0]):
        partial[p] = _min(x[p * block:(p + 1) * block])
    return _min(partial)


@njit(parallel=True, fastmath=_MAX_FM, cache=True)
def row_max(x2, out):
    for r in prange(x2.shape[0]):
        out[r] = _max(x2[r])
    return 0


@njit(parallel=True, fastmath=_MAX_FM, cache=True)
def row_min(x2, out):
    for r in prange(x2.shape[0]):
        out[r] = _min(x2[r])
    return 0
