"""Fusion: group nodes into kernels, greedily, explaining every pair it did not fuse.

Each node gets a kind: ``pointwise`` (elementwise family), ``reduction`` (sum/prod/amax/amin),
``matmul``, ``view`` (reshape/permute/expand/slice: no kernel, indexing only), ``const`` (a ``full``
of a static or symbolic shape: a scalar the kernel inlines), or ``opaque`` (everything else: conv,
index, cat, random, ...).  Walking the nodes in order, a pointwise node joins the group of an
operand's producer when that group is pointwise over the same shape, and a reduction joins a
pointwise group over its input's shape (the group becomes a ``reduction`` group: a pointwise
prologue plus reductions of one iteration space).  Nothing fuses across matmul/opaque nodes or
through a view, and a join never creates a cycle between groups.

Result (``graph.fusion``, a ``FusionPlan``): ``groups`` in execution order (a group runs at the
position of its last node; every node of the graph is in exactly one group), and ``rejected``:
``(producer node, consumer node, reason)`` for every data edge that crosses groups.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .manager import register

REDUCTIONS = frozenset({"sum", "prod", "amax", "amin"})
VIEWS = frozenset({"reshape", "permute", "expand", "slice"})


def node_kind(n):
    name = n.prim.name
    if n.prim.family == "elementwise":
        return "pointwise"
    if name in REDUCTIONS:
        return "reduction"
    if name == "matmul":
        return "matmul"
    if name in VIEWS:
        return "view"
    if name == "full":
        return "const"
    return "opaque"


@dataclass(eq=False)
class FusionGroup:
    id: int
    kind: str                  # pointwise | reduction | matmul | view | const | opaque
    nodes: list = field(default_factory=list)
    shape: tuple = ()          # the iteration space (pointwise/reduction groups)
    inputs: list = field(default_factory=list)    # values read from outside the group
    outputs: list = field(default_factory=list)   # values used outside it (or graph results)

    def __repr__(self):
        return f"<FusionGroup {self.id} {self.kind}: {len(self.nodes)} nodes>"


@dataclass
class FusionPlan:
    groups: list
    rejected: list             # (producer Node, consumer Node, reason)
    group_of: dict             # Node -> FusionGroup

    @property
    def kernels(self):
        """Groups that launch a kernel (not views or inlined constants)."""
        return [g for g in self.groups if g.kind not in ("view", "const")]


def _same(a, b):
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


@register("fusion")
def fusion(graph):
    group_of = {}
    groups = []
    deps = {}      # group id -> set of group ids it (transitively) depends on
    rejected = []

    def new_group(n, kind):
        g = FusionGroup(len(groups), kind, [n], tuple(n.out.meta.shape))
        groups.append(g)
        deps[g.id] = set()
        return g

    def producer_groups(n):
        out = []
        for v in n.inputs:
            if v.node is not None:
                out.append(group_of[v.node])
        return out

    for n in graph.nodes:
        kind = node_kind(n)
        target = None
        if kind in ("pointwise", "reduction"):
            space = tuple(n.inputs[0].meta.shape) if kind == "reduction" else tuple(n.out.meta.shape)
            for v in n.inputs:
                p = v.node
                if p is None:
                    continue
                pg = group_of[p]
                if pg is target:
                    continue
                if target is not None:
                    rejected.append((p, n, f"already fused into group {target.id} (greedy: one "
                                           f"producer group per node)"))
                    continue
                reason = None
                pk = node_kind(p)
                if pk == "const":
                    continue   # inlined scalar, not an edge between kernels
                if pk == "view":
                    reason = f"operand comes through a view ({p.prim.name})"
                elif pk in ("matmul", "opaque"):
                    reason = f"producer is {pk} ({p.prim.name})"
                elif pg.kind == "reduction":
                    reason = "producer group ends in a reduction (a different iteration space)"
                elif pg.kind != "pointwise":
                    reason = f"producer group is {pg.kind}"
                elif not _same(pg.shape, space):
                    reason = f"shapes differ ({_fmt(pg.shape)} vs {_fmt(space)})"
                else:
                    others = set()
                    for w in n.inputs:
                        if w.node is not None and group_of[w.node] is not pg:
                            og = group_of[w.node]
                            others.add(og.id)
                            others |= deps[og.id]
                    if any(pg.id in deps[o] for o in others):
                        reason = "would create a cycle between groups"
                if reason is None:
                    target = pg
                else:
                    rejected.append((p, n, reason))
        if target is not None:
            target.nodes.append(n)
            if kind == "reduction":
                target.kind = "reduction"
            group_of[n] = target
            g = target
        else:
            g = new_group(n, kind)
            if kind == "reduction":
                g.shape = tuple(n.inputs[0].meta.shape)
            group_of[n] = g
        for pg in producer_groups(n):
            if pg is not g:
                deps[g.id].add(pg.id)
                deps[g.id] |= deps[pg.id]
    # group boundaries: inputs and outputs
    used_outside = set(graph.outputs) | set(graph.mutations.values())
    for n in graph.nodes:
        for v in n.inputs:
            if v.node is None or group_of[v.node] is not group_of[n]:
                used_outside.add(v)
    for g in groups:
        members = set(g.nodes)
        seen = set()
        for n in g.nodes:
            for v in n.inputs:
                if (v.node is None or v.node not in members) and v not in seen:
                    seen.add(v)
                    g.inputs.append(v)
            if n.out in used_outside:
                g.outputs.append(n.out)
    # a group runs where its last node is: keep groups in the order of their last nodes
    pos = {n: i for i, n in enumerate(graph.nodes)}
    groups.sort(key=lambda g: pos[g.nodes[-1]])
    graph.fusion = FusionPlan(groups, rejected, group_of)
    return graph


def _fmt(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def format_groups(graph, why=False):
    """The fused stage as text: one block per kernel group (views/constants listed briefly)."""
    from ..ir.meta import format_type
    from ..ir.printer import assign_names
    plan = getattr(graph, "fusion", None)
    if plan is None:
        fusion(graph)
        plan = graph.fusion
    names = assign_names(graph)
    # kernels are numbered 0, 1, ... as listed (views and inlined constants get no number)
    number = {g.id: k for k, g in enumerate(plan.kernels)}
    lines = [f"# {len(plan.kernels)} kernels ({sum(1 for g in plan.kernels if len(g.nodes) > 1)} "
             f"fused) from {len(graph.nodes)} nodes"]
    for g in plan.kernels:
        ins = ", ".join(names[v] for v in g.inputs)
        outs = ", ".join(names[v] for v in g.outputs)
        lines.append(f"group {number[g.id]} {g.kind} {_fmt(g.shape)}: ({ins}) -> ({outs})")
        for n in g.nodes:
            args = ", ".join(names[v] for v in n.inputs)
            lines.append(f"    {names[n.out]}: \"{format_type(n.out.meta)}\" = {n.prim.name}({args})")
    if why:
        # an inlined constant producer is no edge between kernels, whatever the reason recorded
        real = [r for r in plan.rejected if node_kind(r[0]) != "const"]
        lines.append("")
        lines.append(f"# not fused ({len(real)} pairs):")
        for p, c, reason in real:
            reason = re.sub(r"group (\d+)", lambda m: f"group {number.get(int(m[1]), m[1])}",
                            reason)
            src = f"  # {c.source}" if c.source else ""
            lines.append(f"{names[p.out]} ({p.prim.name}) -> {names[c.out]} ({c.prim.name}): "
                         f"{reason}{src}")
    return "\n".join(lines) + "\n"
