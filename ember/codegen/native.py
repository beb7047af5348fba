"""Native CPU kernels for large pointwise groups: one Numba loop instead of one NumPy pass per node.

The NumPy backend runs one ufunc per node, so a chain of k elementwise ops over an array makes k
passes over memory (Adam's update of a 256x784 weight: 12 passes, ~440 us single-threaded).  Here
such a chain becomes one plain-Python loop (``def k0(...)`` in the generated module, readable and
runnable as is) that Numba compiles: one pass, ~105 us for that update, bit-identical results.

Which nodes (``find_groups``): elementwise nodes of the ops in ``_OPS`` whose output has a static
shape of at least ``MIN_ELEMENTS`` elements and whose operands are either arrays of exactly that
shape or scalars (a numel-1 value, possibly expanded, or a constant ``full``).  Walking the nodes in
order, a node joins the group of a producer of the same shape when every value of that group that
is read outside it is read only after this node (so the group can run as one step at its last
node); two producer groups merge the same way.  Groups of one node are dropped (nothing to fuse).
``reorder`` then moves the unrelated nodes that sit between a group's nodes before the group, so
each group is contiguous and the memory plan (recomputed on that order) sees it as one step.

Why the kernels are fast, and exact: the loop loads every operand of element i, computes the
group's nodes in graph order in the node's dtype, and stores the outputs; without ``fastmath`` the
arithmetic is IEEE like NumPy's loops (bit-identical for the ops in ``_OPS``).  LLVM vectorizes
the loop only when the number of distinct array arguments is small (it must check at run time
that written arrays do not overlap read ones): an output written into the storage of an operand (a
parameter or optimizer state updated in place, a reused buffer) is therefore passed once and
read and written through the same argument.  With one argument per operand and per output (7
arrays for Adam) the loop stayed scalar and was no faster than NumPy -- likely why an earlier
attempt (docs/compile.md) measured Numba slower.

When: the module always carries the NumPy statements too (``else:`` branch).  Numba (imported
lazily; ``numba`` missing means NumPy forever) compiles the kernels when a variant is called for
the second time (``numpy_backend.NATIVE_AFTER_CALLS``), so a compile's first call and one-shot
variants never pay for LLVM; ``EMBER_NATIVE=0`` keeps every call on NumPy.  Compiled kernels are
shared in-process by their canonical text (``canonical``: same ops, names aside), and kept on disk
(Numba's ``cache=True`` beside a source file in the ember cache directory) when the ember compile
cache is on.
"""
from __future__ import annotations

import hashlib
import os
import sys

import numpy as np

MIN_ELEMENTS = 16384       # smaller groups save a few us per call; each kernel costs LLVM time

_ARITH = {"add": "{0} + {1}", "sub": "{0} - {1}", "mul": "{0} * {1}", "div": "{0} / {1}",
          "neg": "-{0}", "abs": "abs({0})", "sqrt": "np.sqrt({0})",
          # NumPy's maximum/minimum: the first operand when it wins or is NaN, else the second
          "maximum": "({0} if {0} >= {1} or {0} != {0} else {1})",
          "minimum": "({0} if {0} <= {1} or {0} != {0} else {1})",
          "relu": "({0} if {0} >= {z} or {0} != {0} else {z})"}
_COMPARE = {"gt": "{0} > {1}", "lt": "{0} < {1}", "ge": "{0} >= {1}", "le": "{0} <= {1}",
            "eq": "{0} == {1}", "ne": "{0} != {1}"}
_OPS = frozenset(_ARITH) | frozenset(_COMPARE) | {"where", "convert"}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_NB_TYPE = {"float32": "float32", "float64": "float64", "bool": "boolean"}


def enabled():
    return os.environ.get("EMBER_NATIVE", "1") not in ("0", "")


def _static(shape):
    return all(isinstance(d, (int, np.integer)) for d in shape)


def _numel(shape):
    n = 1
    for d in shape:
        n *= int(d)
    return n


def scalar_source(v):
    """The numel-1 value (or constant ``full``) that `v` is a broadcast of, else None."""
    while True:
        n = v.node
        if n is not None and n.prim.name == "full" and not isinstance(n.params.get("value"),
                                                                        (list, tuple)):
            return v
        if _static(v.meta.shape) and _numel(v.meta.shape) == 1:
            return v
        if n is None or n.prim.name not in ("expand", "reshape"):
            return None
        v = n.inputs[0]


def _eligible(n):
    prim = n.prim.name
    if n.prim.family != "elementwise" or prim not in _OPS:
        return False
    shape, out = tuple(n.out.meta.shape), n.out.meta.dtype.np
    if not _static(shape) or _numel(shape) < MIN_ELEMENTS:
        return False
    for x in n.inputs:
        if tuple(x.meta.shape) != shape:
            if scalar_source(x) is None:
                return False
        elif x.node is not None and x.node.prim.name == "expand" and scalar_source(x) is None:
            return False      # a broadcast row/column: the flat kernel would read a copy
    ins = [x.meta.dtype.np for x in n.inputs]
    if prim in _ARITH:
        return out in _FLOATS and all(d == out for d in ins)
    if prim in _COMPARE:
        return out == np.bool_ and len(set(ins)) == 1 and ins[0] in _FLOATS
    if prim == "where":
        return out in _FLOATS and ins[0] == np.bool_ and ins[1] == out and ins[2] == out
    return out in _FLOATS and ins[0] in _FLOATS + (np.dtype(np.bool_),)   # convert


def find_groups(graph):
    """Lists of nodes (graph order), each to run as one native kernel."""
    pos = {n: i for i, n in enumerate(graph.nodes)}
    readers = {}
    for n in graph.nodes:
        for x in n.inputs:
            readers.setdefault(x, []).append(pos[n])
    group_of = {}

    def legal(members, at):
        # every value of the group read outside it is read after position `at`
        for m in members:
            for p in readers.get(m.out, ()):
                node = graph.nodes[p]
                if node not in members and p <= at:
                    return False
        return True

    for n in graph.nodes:
        if not _eligible(n):
            continue
        shape = tuple(n.out.meta.shape)
        cands = []
        for x in n.inputs:
            g = group_of.get(x.node)
            if g is not None and tuple(x.meta.shape) == shape and g not in cands:
                cands.append(g)
        members = {n}
        for g in cands:     # merge every producer group that stays legal
            if legal(members | set(g), pos[n]):
                members |= set(g)
        members = sorted(members, key=pos.__getitem__)
        for m in members:
            group_of[m] = members
    seen, groups = set(), []
    for n in graph.nodes:
        g = group_of.get(n)
        if g is not None and id(g) not in seen:
            seen.add(id(g))
            if len(g) >= 2:
                groups.append(g)
    return groups


def reorder(graph, groups):
    """Make every group contiguous: the other nodes between a group's first and last node move
    before the group (they cannot read its values: find_groups checked that).  Returns False
    (graph unchanged) if the result would not be a valid order."""
    nodes = list(graph.nodes)
    for g in groups:
        members = set(g)
        pos = {n: i for i, n in enumerate(nodes)}
        first, last = pos[g[0]], pos[g[-1]]
        region = nodes[first:last + 1]
        nodes[first:last + 1] = [n for n in region if n not in members] + \
            [n for n in region if n in members]
    done = set(graph.inputs)
    for n in nodes:
        if any(x not in done for x in n.inputs):
            return False
        done.add(n.out)
    graph.nodes[:] = nodes
    return True


def _literal(x, dtype):
    x = float(x)
    if x != x:
        return f"np.{dtype}(np.nan)"
    if x in (float("inf"), float("-inf")):
        return f"np.{dtype}({'' if x > 0 else '-'}np.inf)"
    return f"np.{dtype}({x!r})"


class Kernel:
    """One group's kernel: its source (``def kN``), the call's argument expressions and the Numba
    signature."""

    def __init__(self, index, group, outputs, names, scalars, storage, target):
        """outputs: the group's values needed after it (graph order); names: value -> the module's
        name; scalars: value -> Python number (constants the module inlines); storage(v): a key
        naming the memory `v` lives in (equal keys = the same array); target(v): the expression of
        the array an output is written into."""
        self.index = index
        self.name = f"k{index}"
        self.group = group
        self.outputs = outputs
        members = set(group)
        params, exprs, types, key_param = [], [], [], {}
        pre, body, stores = [], [], []
        loaded = {}

        def array_param(key, expr, dtype):
            if key in key_param:
                return key_param[key]
            p = f"x{len(params)}"
            params.append(p)
            exprs.append(expr)
            types.append(_NB_TYPE[dtype.name] + "[::1]")
            key_param[key] = p
            return p

        def operand(x, dtype):
            """The loop-local expression of operand x, used at element type `dtype`."""
            if x.node in members:
                return names[x]
            if x in loaded:
                return loaded[x]
            src = scalar_source(x)
            if src is not None:
                value = src.node.params["value"] if src.node is not None and \
                    src.node.prim.name == "full" else scalars.get(src)
                if value is not None:
                    loaded[x] = repr(bool(value)) if dtype == np.bool_ else \
                        _literal(value, dtype.name)
                    return loaded[x]
                p = array_param(storage(src), f"{names[src]}.reshape(-1)", src.meta.dtype.np)
                c = f"c{len(pre)}"
                pre.append(f"    {c} = {p}[0]    # {names[src]}")
                loaded[x] = c
                return c
            p = array_param(storage(x), f"{names[x]}.reshape(-1)", x.meta.dtype.np)
            body.append(f"        {names[x]} = {p}[i]")
            loaded[x] = names[x]
            return names[x]

        for n in group:
            prim, dtype = n.prim.name, n.out.meta.dtype.np
            if prim == "where":
                c, a, b = (operand(x, d) for x, d in zip(n.inputs, (np.dtype(np.bool_), dtype,
                                                                     dtype)))
                expr = f"({a} if {c} else {b})"
            elif prim == "convert":
                expr = f"np.{dtype.name}({operand(n.inputs[0], n.inputs[0].meta.dtype.np)})"
            else:
                at = n.inputs[0].meta.dtype.np if prim in _COMPARE else dtype
                args = [operand(x, at) for x in n.inputs]
                fmt = _ARITH.get(prim) or _COMPARE[prim]
                expr = fmt.format(*args, z=f"np.{dtype.name}(0)")
            src = f"  {n.source}" if n.source else ""
            body.append(f"        {names[n.out]} = {expr}    # {prim}{src}")
        for v in outputs:
            p = array_param(storage(v), f"{target(v)}.reshape(-1)", v.meta.dtype.np)
            stores.append(f"        {p}[i] = {names[v]}")
        self.exprs = exprs
        self.signature = f"void({', '.join(types)})"
        lines = [f"def {self.name}({', '.join(params)}):"] + pre + \
            [f"    for i in range({params[0]}.shape[0]):"] + body + stores
        self.source = "\n".join(lines) + "\n"


def group_outputs(graph, group):
    """The group's values read outside it or returned/written back by the graph (graph order)."""
    members = set(group)
    needed = set(graph.outputs) | set(graph.mutations.values())
    for n in graph.nodes:
        if n not in members:
            needed.update(x for x in n.inputs if x.node in members)
    return [n.out for n in group if n.out in needed]


# --- loading ------------------------------------------------------------------------------------

_COMPILED = {}     # kernel source -> compiled dispatcher (or the exception it raised)


def canonical(source):
    """The kernel's computation without its names: comments dropped, the function renamed ``k``
    and every value name (``t12``, ``a3``) renamed by first appearance.  Two groups with the same
    ops in the same order and the same signature (the relu masks of two conv layers, the Adam
    updates of two weights) share one compiled kernel."""
    import re
    text = "\n".join(ln.split("#", 1)[0].rstrip() for ln in source.splitlines())
    text = re.sub(r"^def \w+\(", "def k(", text, count=1)
    names = {}
    return re.sub(r"\b[ta]\d+\b", lambda m: names.setdefault(m.group(0), f"v{len(names)}"),
                  text) + "\n"


def compile_kernel(name, source, signature):
    """The Numba-compiled kernel for `source` (a ``def name(...)`` block); raises ImportError
    without Numba and whatever Numba raises on a kernel it cannot compile."""
    source = canonical(source)
    key = (source, signature)
    hit = _COMPILED.get(key)
    if hit is not None:
        if isinstance(hit, Exception):
            raise hit
        return hit
    import numba            # ImportError: no Numba (the caller stays on NumPy)
    try:
        k = None
        fn = _disk_function("k", source)
        if fn is not None:
            try:
                k = numba.njit(signature, error_model="numpy", cache=True, nogil=True)(fn)
            except Exception:    # e.g. no writable __pycache__ for Numba: compile uncached
                k = None
        if k is None:
            ns = {"np": np}
            exec(compile(source, f"<ember native {name}>", "exec"), ns)
            k = numba.njit(signature, error_model="numpy", nogil=True)(ns["k"])
    except Exception as e:       # a kernel Numba cannot compile: remember, stay on NumPy
        _COMPILED[key] = e
        raise
    _COMPILED[key] = k
    return k


def _disk_function(name, source):
    """With the ember compile cache on: the kernel imported from a file in the cache directory,
    so that Numba's cache=True can keep its machine code beside it; else None."""
    from . import cache
    if not cache.enabled():
        return None
    import importlib.util
    d = os.path.join(cache.cache_dir(), "native")
    text = "import numpy as np\n\n\n" + source
    mod = "k_" + hashlib.sha256(text.encode()).hexdigest()[:24]
    path = os.path.join(d, mod + ".py")
    try:
        if not os.path.exists(path):
            os.makedirs(d, exist_ok=True)
            tmp = path + f".{os.getpid()}.tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        m = sys.modules.get(mod)
        if m is None:
            spec = importlib.util.spec_from_file_location(mod, path)
            m = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(m)
            sys.modules[mod] = m        # Numba's cache finds the function's module by name
        return getattr(m, name)
    except (OSError, ImportError, SyntaxError):
        return None
