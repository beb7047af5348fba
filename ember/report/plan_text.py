"""Text views of the pass pipeline's analyses for ``ember ir show`` and the HTML report: the
memory plan (buffers, which value goes where, peak bytes) and a stage's IR without source
comments."""
from __future__ import annotations

import re

_SOURCE_COMMENT = re.compile(r"  # [^\n]*$", re.M)


def strip_sources(text):
    """IR text without the trailing ``  # file.py:14`` comments (``--no-source``)."""
    return _SOURCE_COMMENT.sub("", text)


def format_memory_plan(graph):
    """The planned stage: summary, buffers, and per node where its result is written."""
    from ..ir.meta import format_type
    from ..ir.printer import assign_names
    plan = graph.memory_plan
    names = assign_names(graph)
    hints = graph.hints
    s = plan.summary()
    lines = [f"# memory plan of {graph.name}: {s['buffers']} buffers, {s['planned_values']} values "
             f"planned, {s['inplace_updates']} in-place updates",
             f"# planned peak {s['planned_bytes']} bytes (unplanned {s['naive_bytes']}, live lower "
             f"bound {s['live_peak_bytes']}){_hint_note(hints)}", "buffers:"]
    for b in plan.buffers:
        users = [names[v] for v, bid in plan.assign.items() if bid == b.id]
        shape = "[" + ",".join(str(d) for d in b.shape) + "]"
        lines.append(f"  B{b.id}: {b.dtype.short}{shape} {b.nbytes(hints)} bytes <- "
                     f"{', '.join(users)}")
    lines.append("assignment:")
    for i, n in enumerate(graph.nodes):
        v = n.out
        root = plan.root.get(v, v)
        if v in plan.assign:
            where = f"B{plan.assign[v]}"
        elif v in plan.inplace:
            where = f"in place into {names[plan.inplace[v]]}"
        elif root is not v:
            where = f"view of {names[root]}"
        elif root in plan.outputs_fresh:
            where = "fresh (returned to the caller)"
        elif n.prim.name == "full":
            where = "inlined constant"
        else:
            where = "fresh"
        d, last = plan.live.get(root, (i, i))
        live = f"live {d}..{'end' if last >= len(graph.nodes) else last}"
        lines.append(f"  {i:>4} {names[v]}: \"{format_type(v.meta)}\" = {n.prim.name} -> {where}"
                     f"  ({live})")
    return "\n".join(lines) + "\n"


def _hint_note(hints):
    if not hints:
        return ""
    return " at " + ", ".join(f"{k}={v}" for k, v in sorted(hints.items()))


def live_bytes(graph):
    """Per node position: bytes of values alive there if each were freed after its last use
    (the memory plan's liveness at the traced sizes), and the unplanned running total."""
    from ..passes.memory_plan import _nbytes
    plan = graph.memory_plan
    n = len(graph.nodes)
    live = [0] * (n + 1)
    naive = [0] * (n + 1)
    for v, (d, last) in plan.live.items():
        if v.node is None:
            continue
        nb = _nbytes(v.meta.shape, v.meta.dtype, graph.hints)
        for i in range(max(d, 0), min(last, n) + 1):
            live[i] += nb
        for i in range(max(d, 0), n + 1):
            naive[i] += nb
    return live[:n], naive[:n]
