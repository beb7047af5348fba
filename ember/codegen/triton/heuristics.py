"""Block sizes and warps.

* pointwise: ``XBLOCK = min(1024, next_pow2(numel))``; 4 warps from 512 elements per block on
  (2 below 256, 1 for tiny blocks) -- enough bytes in flight per SM without idle lanes.
* reduction: rows of up to ``PERSISTENT_MAX`` (1024) elements are *persistent*: one block holds a
  whole row (``RBLOCK = next_pow2(row)``), each value is loaded once and every reduction of the
  group works on registers; ``XBLOCK`` rows per program keep a block near 4096 elements.  Longer
  rows use the *looped* variant (``RBLOCK`` = 1024 chunks, one pass per reduction plus one for
  the full-shape outputs).  Autotune configs vary XBLOCK (persistent) or RBLOCK (looped).
* matmul: 64x64x32 tiles shrunk to the problem (min 16, ``tl.dot``'s minimum) with autotune over
  the usual 32..128 tiles and 4/8 warps; fp32 accumulation (fp64 for float64).

Under the interpreter only the heuristic's own config is used (autotuning would time Python).
"""
from __future__ import annotations

PERSISTENT_MAX = 1024
LOOP_RBLOCK = 1024


def next_pow2(n):
    p = 1
    while p < n:
        p *= 2
    return p


def warps_for(elements):
    if elements >= 512:
        return 4
    if elements >= 256:
        return 2
    return 1


def pointwise(numel):
    xblock = min(1024, next_pow2(max(numel, 1)))
    return {"XBLOCK": xblock, "num_warps": warps_for(xblock)}


def reduction(rows, cols, persistent_max=PERSISTENT_MAX):
    """(persistent?, heuristic config, autotune configs)."""
    if cols <= persistent_max:
        rblock = next_pow2(max(cols, 1))
        xblock = max(1, min(next_pow2(max(rows, 1)), 4096 // rblock, 64))
        best = {"XBLOCK": xblock, "RBLOCK": rblock}
        configs = [best] + [{"XBLOCK": x, "RBLOCK": rblock} for x in (1, 2, 8, 32)
                            if x != xblock and x * rblock <= 16384]
        return True, best, configs
    rblock = min(LOOP_RBLOCK, persistent_max) if persistent_max < LOOP_RBLOCK else LOOP_RBLOCK
    rblock = next_pow2(rblock)
    best = {"XBLOCK": 1, "RBLOCK": rblock}
    configs = [best] + [{"XBLOCK": 1, "RBLOCK": r} for r in (512, 2048) if r != rblock] + \
        [{"XBLOCK": 4, "RBLOCK": 256}]
    return False, best, configs


def matmul(m, n, k, dtype_name):
    def clamp(v, hi):
        return max(16, min(hi, next_pow2(v)))
    best = {"BM": clamp(m, 64), "BN": clamp(n, 64), "BK": clamp(k, 32)}
    configs = [best]
    for bm, bn, bk, w in ((128, 128, 32, 8), (128, 64, 32, 4), (64, 128, 32, 4), (32, 32, 32, 4),
                          (64, 64, 64, 4)):
        c = {"BM": bm, "BN": bn, "BK": bk, "_warps": w}
        if c not in configs:
            configs.append(c)
    return best, configs
