"""Memory planning: liveness, buffer reuse and in-place updates, for every backend.

Storage roots: a view node (reshape/permute/expand/slice) shares its operand's storage, so the
planner works on *roots* (the value that owns the memory) and a root lives until the last read of
any of its views.  Graph outputs and the values written back into mutated inputs live to the end.

Result (``graph.memory_plan``, a ``MemoryPlan``):

* ``buffers``: ``Buffer(id, shape, dtype)``, shapes may be symbolic; reuse is keyed by exact
  (shape, dtype), so the plan holds for every size a symbolic program runs at;
* ``assign``: value -> buffer id for each materialized value (the node writes its result there);
* ``inplace``: value -> graph input whose memory the value is written into directly (a parameter,
  buffer or optimizer state updated in place instead of computed elsewhere and copied back);
* ``live``: root value -> (defining position, last position that reads it or a view of it);
  inputs are defined at -1, and "the end" is ``len(graph.nodes)``;
* ``outputs_fresh``: roots returned to the caller (or viewed by a returned value) are never
  planned: they are allocated per call, because the caller keeps them.

Byte counts at the traced size hints: ``planned_bytes`` (the buffers), ``naive_bytes`` (every value
in its own allocation, none freed), ``live_peak_bytes`` (the most bytes live at once if each value
were freed right after its last use: the eager lower bound).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .manager import register

VIEWS = frozenset({"reshape", "permute", "expand", "slice"})
# primitives whose result the NumPy backend (and any fused backend) may write into a given buffer
# while an operand with the same layout is being read (elementwise ufuncs)
INPLACE_SAFE_FAMILIES = frozenset({"elementwise"})


@dataclass(eq=False)
class Buffer:
    id: int
    shape: tuple
    dtype: object

    def nbytes(self, hints=None):
        return _nbytes(self.shape, self.dtype, hints)


@dataclass
class MemoryPlan:
    buffers: list = field(default_factory=list)
    assign: dict = field(default_factory=dict)
    inplace: dict = field(default_factory=dict)
    live: dict = field(default_factory=dict)
    root: dict = field(default_factory=dict)
    outputs_fresh: set = field(default_factory=set)
    planned_bytes: int = 0
    naive_bytes: int = 0
    live_peak_bytes: int = 0

    def summary(self):
        return {"buffers": len(self.buffers), "planned_values": len(self.assign),
                "inplace_updates": len(self.inplace), "planned_bytes": self.planned_bytes,
                "naive_bytes": self.naive_bytes, "live_peak_bytes": self.live_peak_bytes}


def _nbytes(shape, dtype, hints=None):
    n = 1
    for d in shape:
        if not isinstance(d, (int, np.integer)):
            import sympy     # only symbolic sizes get here (static programs never import sympy)
            e = sympy.sympify(d)
            d = int(e.subs({s: (hints or {}).get(s.name, 2) for s in e.free_symbols}))
        n *= int(d)
    return n * dtype.itemsize


def storage_roots(graph):
    root = {v: v for v in graph.inputs}
    for n in graph.nodes:
        root[n.out] = root[n.inputs[0]] if n.prim.name in VIEWS else n.out
    return root


def liveness(graph, root=None):
    """root value -> (def position, last read position); outputs and mutations live to the end."""
    root = root or storage_roots(graph)
    end = len(graph.nodes)
    live = {v: [-1, -1] for v in graph.inputs}
    for i, n in enumerate(graph.nodes):
        if root[n.out] is n.out:
            live[n.out] = [i, i]
        for v in n.inputs:
            r = root[v]
            live[r][1] = max(live[r][1], i)
    for v in list(graph.outputs) + list(graph.mutations.values()):
        live[root[v]][1] = end
    return {v: tuple(x) for v, x in live.items()}


@register("memory_plan")
def memory_plan(graph):
    plan = MemoryPlan()
    root = plan.root = storage_roots(graph)
    live = plan.live = liveness(graph, root)
    hints = graph.hints
    for v in graph.outputs:
        plan.outputs_fresh.add(root[v])
    internal, unsafe, in_reduction = _kernel_plan_facts(graph, root, live)
    targets_of = {}
    for t, v in graph.mutations.items():
        targets_of.setdefault(v, []).append(t)
    # which roots are read at position i only directly (not through a view) -- for in-place ufuncs
    read_via_view = {}
    for i, n in enumerate(graph.nodes):
        for v in n.inputs:
            if root[v] is not v:
                read_via_view[(root[v], i)] = True
    free = {}          # (shape, dtype) -> [buffer ids]
    buf_of_root = {}
    owner = {}         # buffer id -> the root that holds it now
    releases = {}      # position -> roots whose buffers free after it
    for r, (d, last) in live.items():
        releases.setdefault(last, []).append(r)
    for i, n in enumerate(graph.nodes):
        v = n.out
        if root[v] is v and v not in plan.outputs_fresh and n.prim.name != "full" and \
                v not in internal:
            # 1. a mutated input whose old value is dead: write the new value straight into it
            ts = targets_of.get(v, ())
            if len(ts) == 1 and n not in in_reduction and (ts[0], n) not in unsafe and \
                    _inplace_ok(ts[0], n, i, live, read_via_view, plan, graph):
                plan.inplace[v] = ts[0]
            else:
                key = (tuple(v.meta.shape), v.meta.dtype)
                bid = None
                # 2. an operand dying here with the same layout (elementwise only)
                if n.prim.family in INPLACE_SAFE_FAMILIES and n not in in_reduction:
                    for x in n.inputs:
                        if x.node is not None and root[x] is x and x in buf_of_root and \
                                live[x][1] == i and (tuple(x.meta.shape), x.meta.dtype) == key \
                                and not read_via_view.get((x, i)) and (x, n) not in unsafe:
                            bid = buf_of_root[x]
                            break
                # 3. a free buffer of the same shape and dtype
                if bid is None and free.get(key):
                    bid = free[key].pop()
                if bid is None:
                    bid = len(plan.buffers)
                    plan.buffers.append(Buffer(bid, key[0], key[1]))
                plan.assign[v] = bid
                buf_of_root[v] = bid
                owner[bid] = v
        for r in releases.get(i, ()):
            b = buf_of_root.get(r)
            if b is not None and owner[b] is r:
                buf = plan.buffers[b]
                free.setdefault((tuple(buf.shape), buf.dtype), []).append(b)
    plan.planned_bytes = sum(b.nbytes(hints) for b in plan.buffers)
    sizes = {v: _nbytes(v.meta.shape, v.meta.dtype, hints) for v in live if v.node is not None}
    plan.naive_bytes = sum(sizes.values())
    events = [0] * (len(graph.nodes) + 2)
    for v, nb in sizes.items():
        d, last = live[v]
        events[d] += nb
        events[last + 1] -= nb
    run = peak = 0
    for e in events:
        run += e
        peak = max(peak, run)
    plan.live_peak_bytes = peak
    graph.memory_plan = plan
    return graph


def _kernel_plan_facts(graph, root, live):
    """What the kernel plan (graph.fusion) changes: a group's values used only inside it get no
    buffer (a kernel keeps them in registers; the NumPy statements allocate them), and a kernel
    that reads memory at other positions than the element it writes (a reduction's passes, a
    broadcast or transposed operand) must not have that memory reused or overwritten while it
    runs: such roots stay live to the group's last node.  Returns (internal values, {(root, node)
    pairs that must not share memory}, nodes of reduction groups); extends `live` in place."""
    plan = getattr(graph, "fusion", None)
    internal, unsafe, in_reduction = set(), set(), set()
    if plan is None:
        return internal, unsafe, in_reduction
    pos = {n: i for i, n in enumerate(graph.nodes)}
    for g in plan.kernels:
        if g.kind not in ("pointwise", "reduction") or any(n not in pos for n in g.nodes):
            continue
        outs = set(g.outputs)
        members = set(g.nodes)
        internal.update(n.out for n in g.nodes if n.out not in outs)
        last = pos[g.nodes[-1]]
        if g.kind == "reduction":
            in_reduction |= members
        for n in g.nodes:
            for v in n.inputs:
                if v.node in members:
                    continue
                r = root[v]
                direct = r is v and tuple(v.meta.shape) == tuple(g.shape)
                if g.kind == "reduction" or not direct:
                    d, end = live[r]
                    live[r] = (d, max(end, last))
                    unsafe.update((r, m) for m in g.nodes)
    return internal, unsafe, in_reduction


def _inplace_ok(target, n, i, live, read_via_view, plan, graph):
    d, last = live[target]
    if last > i:
        return False
    if last == i:
        # the node reads the target: only an elementwise op reading it directly (same layout)
        if n.prim.family not in INPLACE_SAFE_FAMILIES or read_via_view.get((target, i)):
            return False
    if tuple(target.meta.shape) != tuple(n.out.meta.shape) or target.meta.dtype is not n.out.meta.dtype:
        return False
    return n.prim.name not in VIEWS
