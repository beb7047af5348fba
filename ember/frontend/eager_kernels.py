"""Large eager pointwise ops as cached one-op CPU kernels, rendered like compiled groups.

``bind`` hands an elementwise op of at least ``MIN_ELEMENTS`` elements here.  The op becomes a
one-node graph, its plan a one-node pointwise group, and ``codegen/cpu_kernels.py`` renders and
compiles that group exactly as it does a compiled program's (the scalar rule, a parallel loop, the
background compile and the disk cache).  Kernels are cached by (primitive, params, dtypes,
layout): C-contiguous operands run a flat 1-D loop, others an N-d loop through their strides
(a broadcast operand has stride 0).  Until a kernel is compiled, or when it cannot run (no Numba,
``EMBER_NATIVE=0``, a forked DataLoader worker, another thread in a kernel), ``run`` returns None
and ``bind`` runs the NumPy rule as before.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..ops.scalar import ops_used, rule_expr

MIN_ELEMENTS = 1 << 18
_cache = {}          # key -> (slot, argument plan, output dtype) or False (never a kernel)
_FLAT = ("C",)


def _layout(a):
    return "C" if a.flags.c_contiguous else "A"


def worth_a_kernel(expr):
    """Whether a one-op kernel beats NumPy for this rule: NumPy runs a rule of one vocabulary op
    as one SIMD ufunc pass (add, exp, log, tanh: as fast as a kernel or faster, measured), but a
    composite rule (sigmoid = 4 passes, rsqrt, sign, relu) as several passes, and erf through
    SciPy's scalar loop."""
    ops = [op for op, _ in ops_used(expr) if op != "cast"]
    return len(ops) > 1 or "erf" in ops


def _build(prim, arrays, params, flat):
    from ..codegen import cpu_kernels
    from ..ir.graph import Graph
    from ..ops.registry import Meta
    from ..passes.fusion import fusion
    shape = (arrays[0].size,) if flat else arrays[0].shape
    g = Graph("eager")
    ins = [g.add_input(Meta(tuple(shape), dt.BY_NP[a.dtype]), f"a{i}")
           for i, a in enumerate(arrays)]
    out = g.add_node(prim, ins, params)
    g.outputs = [out]
    expr = rule_expr(prim, [v.meta.dtype for v in ins], out.meta.dtype, params)
    if not worth_a_kernel(expr):
        return False
    plan = fusion(g).fusion
    grp = plan.kernels[0]
    saved = cpu_kernels.MIN_ELEMENTS
    cpu_kernels.MIN_ELEMENTS = 0
    try:
        if cpu_kernels.why_not(grp) is not None:
            return False
    finally:
        cpu_kernels.MIN_ELEMENTS = saved
    names = {v: f"a{i}" for i, v in enumerate(ins)}
    names[out] = "out"
    kern = cpu_kernels.Kernel(grp, names, lambda v: "out")
    # what each kernel argument is: the output, operand i, or the extent of dim d
    how = []
    for key, expr in zip(kern.arg_of, kern.args):
        if key[0] == "out":
            how.append(("out", 0))
        elif key[0] == "extent":
            how.append(("ext", key[1]))
        else:
            how.append(("in", int(expr[1:])))
    slot = cpu_kernels.KernelSlot(kern.source, f"eager_{prim.name}", parallel=True)
    return slot, how, out.meta.dtype.np


def run(prim, arrays, params):
    """prim's result over `arrays` from its kernel, or None (then the caller runs NumPy)."""
    if prim.scalar is None or prim.family != "elementwise":
        return None
    first = arrays[0]
    shape = first.shape
    for a in arrays:
        if a.__class__ is not np.ndarray or a.shape != shape:
            return None          # a CUDA array, or operands NumPy would broadcast
    flat = all(a.flags.c_contiguous for a in arrays)
    key = (prim, tuple(sorted((k, repr(v)) for k, v in params.items())),
           tuple(a.dtype for a in arrays), flat,
           () if flat else (tuple(d == 1 for d in shape), tuple(_layout(a) for a in arrays)))
    entry = _cache.get(key)
    if entry is None:
        try:
            entry = _build(prim, arrays, params, flat)
        except Exception:       # noqa: BLE001 -- an op the renderer cannot take: NumPy
            entry = False
        _cache[key] = entry
    if entry is False:
        return None
    slot, how, out_dtype = entry
    if not slot.ok:
        return None
    out = np.empty(shape, out_dtype)
    views = [a.reshape(-1) for a in arrays] if flat else arrays
    o = out.reshape(-1) if flat else out
    S = (first.size,) if flat else shape
    args = tuple(o if k == "out" else views[i] if k == "in" else S[i] for k, i in how)
    if not slot.run(args):
        if slot.spec is not None and slot.fn is None:
            from ..codegen import cpu_kernels
            cpu_kernels.start_compiling()
        return None
    return out
