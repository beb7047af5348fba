"""A semantic diff of two programs: what changed in the interface (inputs, outputs, guards), in the
computation (node counts per primitive, the first differing lines of the canonical text, source
comments ignored) and in the stored state (shapes, dtypes, largest value change)."""
from __future__ import annotations

import collections
import difflib

import numpy as np

from .meta import format_relation, format_type
from .printer import print_graph


def _inputs(p):
    return {v.name: (v.kind, v.target, format_type(v.meta)) for v in p.graph.inputs}


def diff_programs(a, b):
    """A dict describing the differences (``same`` is True when the programs are equivalent up
    to source comments and value names)."""
    ia, ib = _inputs(a), _inputs(b)
    out = {
        "inputs_added": sorted(set(ib) - set(ia)),
        "inputs_removed": sorted(set(ia) - set(ib)),
        "inputs_changed": {k: {"a": list(ia[k]), "b": list(ib[k])}
                           for k in sorted(set(ia) & set(ib)) if ia[k] != ib[k]},
        "outputs": None,
        "guards_added": [], "guards_removed": [],
        "primitive_counts": {}, "text_diff": [], "state": {},
    }
    oa = [format_type(v.meta) for v in a.graph.outputs]
    ob = [format_type(v.meta) for v in b.graph.outputs]
    if oa != ob:
        out["outputs"] = {"a": oa, "b": ob}
    ga = {format_relation(r) for r in a.graph.guards}
    gb = {format_relation(r) for r in b.graph.guards}
    out["guards_added"], out["guards_removed"] = sorted(gb - ga), sorted(ga - gb)
    ca = collections.Counter(n.prim.name for n in a.graph.nodes)
    cb = collections.Counter(n.prim.name for n in b.graph.nodes)
    out["primitive_counts"] = {k: [ca.get(k, 0), cb.get(k, 0)] for k in sorted(set(ca) | set(cb))
                               if ca.get(k, 0) != cb.get(k, 0)}
    ta = print_graph(a.graph, source_lines=False).splitlines()
    tb = print_graph(b.graph, source_lines=False).splitlines()
    ta[0] = ta[0].replace(f"def {a.graph.name}(", "def _(", 1)
    tb[0] = tb[0].replace(f"def {b.graph.name}(", "def _(", 1)
    out["text_diff"] = list(difflib.unified_diff(ta, tb, "a", "b", lineterm="", n=1))
    for k in sorted(set(a.state) | set(b.state)):
        if k not in a.state or k not in b.state:
            out["state"][k] = "only in " + ("b" if k not in a.state else "a")
            continue
        x, y = a.state[k]._data, b.state[k]._data
        if x.shape != y.shape or x.dtype != y.dtype:
            out["state"][k] = f"{x.dtype}{list(x.shape)} -> {y.dtype}{list(y.shape)}"
        elif not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            d = np.abs(x.astype(np.float64) - y.astype(np.float64))
            out["state"][k] = f"values differ (max abs change {float(np.nanmax(d)):.6g})"
    out["same"] = not (out["inputs_added"] or out["inputs_removed"] or out["inputs_changed"] or
                       out["outputs"] or out["guards_added"] or out["guards_removed"] or
                       out["text_diff"] or out["state"])
    return out
