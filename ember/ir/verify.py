"""The verifier: a graph is well formed when values are defined before use and exactly once (SSA),
every node's params are its primitive's, every node's recorded meta equals the meta its
primitive's infer rule gives, outputs and mutations name defined values, and guards only mention
size symbols of the inputs."""
from __future__ import annotations

from .graph import INPUT_KINDS
from .meta import format_type


class VerifyError(RuntimeError):
    pass


def _same_meta(a, b):
    if a.dtype is not b.dtype or len(a.shape) != len(b.shape):
        return False
    for x, y in zip(a.shape, b.shape):
        if x != y and not (hasattr(x, "equals") and x.equals(y)):
            return False
    return True


def verify(graph):
    """Raise VerifyError naming the first problem; return the graph when it is well formed."""
    defined = set()
    names = set()

    def fail(msg):
        raise VerifyError(f"{graph.name}: {msg}")

    for v in graph.inputs:
        if v.kind not in INPUT_KINDS:
            fail(f"input {v.name!r} has unknown kind {v.kind!r}")
        if v.node is not None or v in defined:
            fail(f"input {v.name!r} is defined twice")
        if v.name in names:
            fail(f"two inputs are named {v.name!r}")
        if v.kind in ("param", "buffer") and not v.target:
            fail(f"{v.kind} input {v.name!r} has no target name")
        names.add(v.name)
        defined.add(v)
    symbols = set()
    for v in graph.inputs:
        for d in v.meta.shape:
            if not isinstance(d, int):
                symbols |= d.free_symbols
    for i, n in enumerate(graph.nodes):
        where = f"node {i} ({n.prim.name})"
        for v in n.inputs:
            if v not in defined:
                fail(f"{where} reads a value that is not defined before it")
        if n.out in defined:
            fail(f"{where} defines a value that is already defined (not SSA)")
        if n.out.node is not n:
            fail(f"{where}: its output does not point back at it")
        unknown = set(n.params) - set(n.prim.params)
        if unknown:
            fail(f"{where} has unknown params {sorted(unknown)}")
        for k, p in n.params.items():
            extra = _free(p) - symbols
            if extra:
                fail(f"{where} param {k} uses unknown size symbols {sorted(map(str, extra))}")
        try:
            meta = n.prim.infer(*[v.meta for v in n.inputs], **n.params)
        except Exception as e:
            fail(f"{where}: infer rule rejects its inputs: {e}")
        if not _same_meta(meta, n.out.meta):
            fail(f"{where}: recorded type {format_type(n.out.meta)} but its inputs give "
                 f"{format_type(meta)}")
        defined.add(n.out)
    for v in graph.outputs:
        if v not in defined:
            fail("an output is not defined in the graph")
    for t, v in graph.mutations.items():
        if t.kind is None or t not in defined:
            fail("a copy_ target is not a graph input")
        if v not in defined:
            fail(f"the value written into {t.name!r} is not defined")
        if not _same_meta(t.meta, v.meta):
            fail(f"copy_ into {t.name!r} ({format_type(t.meta)}) from a "
                 f"{format_type(v.meta)} value")
    for g in graph.guards:
        extra = g.free_symbols - symbols
        if extra:
            fail(f"guard {g} uses unknown size symbols {sorted(map(str, extra))}")
    return graph


def _free(p):
    if isinstance(p, (tuple, list)):
        out = set()
        for x in p:
            out |= _free(x)
        return out
    fs = getattr(p, "free_symbols", None)
    return set(fs) if fs and not isinstance(p, type) else set()
