"""Fusion: THE kernel plan every backend executes, built greedily, explaining every refused merge.

Each node gets a kind: ``pointwise`` (elementwise family), ``reduction`` (sum/prod/amax/amin),
``matmul``, ``view`` (reshape/permute/expand/slice: no kernel, indexing only), ``const`` (a ``full``
of a scalar value: a literal the kernel inlines), or ``opaque`` (everything else: conv, index,
cat, random, ...).

Groups (one kernel each):

* ``pointwise`` over an iteration shape S: elementwise nodes of shape S.  An operand that is a
  broadcast (``expand``) of a smaller value, or any other view of a value computed *before* the
  group, is an indexed read, not a break.
* ``reduction`` over S with reduced dims D: reductions of values of shape S along D together with
  their pointwise prologue (shape S) and epilogue: per-row values (the reduced shape, "reduced"
  class) and full-shape values that read per-row values broadcast back to S (``expand`` of a
  reduced value stays inside the group).  So softmax, log_softmax, layer_norm, rms_norm, a
  cross-entropy row and var/mean are one group each.  Its loop structure: parallel dims (not in
  D) outside, reduced dims D inside, and one pass over D per *phase* (a value that needs a
  reduction's result, like ``exp(x - max)`` for softmax's sum, is computed in the next pass).
* ``matmul`` and ``opaque`` nodes are a group of their own; ``view`` and ``const`` nodes launch
  nothing.

Walking the nodes in order, a pointwise node joins the group of its operands' producers when they
are compatible (same iteration space, no cycle between groups), merging several producer groups
where that is legal; a reduction turns a pointwise group over its input's shape into a reduction
group, or joins a reduction group of the same (S, D).  Every data edge between two kernel groups
that was not merged is in ``rejected`` with its reason.

The pass then puts the graph's nodes in plan order (each group contiguous, groups in a topological
order), so the memory plan and every backend see each group as one step.  Result
(``graph.fusion``, a ``FusionPlan``): ``groups`` in execution order (kernel groups numbered
0, 1, 2, ... in that order; views/constants have id -1), ``rejected``: ``(producer node, consumer
node, reason)``, ``group_of``: node -> group.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from .manager import register

REDUCTIONS = frozenset({"sum", "prod", "amax", "amin"})
VIEWS = frozenset({"reshape", "permute", "expand", "slice"})
FUSIBLE = ("pointwise", "reduction")


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
    if name == "full" and not isinstance(n.params.get("value"), (list, tuple)):
        return "const"
    return "opaque"


@dataclass(eq=False)
class FusionGroup:
    id: int
    kind: str                  # pointwise | reduction | matmul | view | const | opaque
    nodes: list = field(default_factory=list)
    shape: tuple = ()          # the iteration space S (pointwise/reduction groups)
    dims: tuple = ()           # reduced dims D (reduction groups)
    inputs: list = field(default_factory=list)    # values read from outside the group
    outputs: list = field(default_factory=list)   # values used outside it (or graph results)
    klass: dict = field(default_factory=dict)     # reduction groups: node -> "full" | "reduced"

    @property
    def parallel_dims(self):
        return tuple(d for d in range(len(self.shape)) if d not in self.dims)

    @property
    def reduced_shape(self):
        return tuple(1 if d in self.dims else s for d, s in enumerate(self.shape))

    def loops(self):
        """The loop structure as text: parallel dims, reduced dims and the passes over D."""
        par = ",".join(str(self.shape[d]) for d in self.parallel_dims) or "-"
        if self.kind != "reduction":
            return f"parallel [{par}]"
        red = ",".join(str(self.shape[d]) for d in self.dims)
        return f"parallel [{par}] reduced [{red}] in {len(phases(self)[1])} pass(es)"

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


def _static(shape):
    return all(isinstance(d, int) for d in shape)


def reduce_dims(n):
    nd = len(n.inputs[0].meta.shape)
    return tuple(sorted(d % nd for d in n.params["dims"])) if nd else ()


class _Planner:
    def __init__(self, graph):
        self.graph = graph
        self.group_of = {}
        self.groups = []
        self.view_reads = {}     # group -> groups whose values it reads through views
        self.rejected = []

    def new_group(self, n, kind, shape=None, dims=()):
        g = FusionGroup(len(self.groups), kind, [], tuple(shape if shape is not None
                                                         else n.out.meta.shape), tuple(dims))
        self.groups.append(g)
        self.view_reads[g] = set()
        self.add(g, n, "reduced" if kind == "reduction" else "full")
        return g

    def add(self, g, n, klass="full"):
        g.nodes.append(n)
        self.group_of[n] = g
        if g.kind == "reduction":
            g.klass[n] = klass

    def klass(self, v):
        """'full' or 'reduced' for a value computed in a reduction group."""
        g = self.group_of[v.node]
        return g.klass.get(v.node, "full")

    def reads(self, g):
        """The groups g reads values from (directly)."""
        out = set()
        for n in g.nodes:
            for v in n.inputs:
                if v.node is not None and self.group_of[v.node] is not g:
                    out.add(self.group_of[v.node])
        return out

    def reaches(self, starts, goal):
        """Some group of `starts` reads (transitively) from a group of `goal`."""
        seen, todo = set(), list(starts)
        while todo:
            g = todo.pop()
            if g in goal:
                return True
            if g not in seen:
                seen.add(g)
                todo.extend(self.reads(g))
        return False

    def merge_cycle(self, a, b):
        """Merging groups a and b would close a cycle through some third group."""
        return self.reaches(self.reads(a) - {b}, {b}) or self.reaches(self.reads(b) - {a}, {a})

    # --- where may node n go ------------------------------------------------------------------
    def fit(self, g, n, v):
        """Why operand v (computed in group g) keeps n out of g, or None if n may join g."""
        shape = tuple(n.out.meta.shape)
        if g.kind == "pointwise":
            if not _same(g.shape, shape):
                return f"shapes differ ({_fmt(g.shape)} vs {_fmt(shape)})"
            return None
        if g.kind == "reduction":
            k = self.klass(v)
            if k == "full" and _same(shape, g.shape):
                return None
            if k == "reduced" and _same(shape, g.reduced_shape):
                return None
            return (f"its {k} value does not fit a node of shape {_fmt(shape)} in a reduction "
                    f"over {_fmt(g.shape)} dims {g.dims}")
        return f"producer group is {g.kind}"

    def alias_target(self, p, shape):
        """The reduction group in which view node p (an expand of one of its per-row values back
        to the group's shape `shape`) would be an in-register broadcast, else None."""
        if p.prim.name != "expand":
            return None
        u = p.inputs[0]
        if u.node is None or node_kind(u.node) not in FUSIBLE:
            return None
        g = self.group_of[u.node]
        if g.kind == "reduction" and g.klass.get(u.node) == "reduced" and \
                _same(p.out.meta.shape, g.shape) and _same(shape, g.shape) and \
                _same(u.meta.shape, g.reduced_shape):
            return g
        return None

    def pointwise(self, n):
        cands = []                       # (group, operand, view node to move into it or None)
        blocked = set()                  # groups n reads through a view
        shape = tuple(n.out.meta.shape)
        for v in n.inputs:
            p = v.node
            if p is None:
                continue
            pk = node_kind(p)
            if pk == "const":
                continue                 # an inlined literal, not an edge between kernels
            pg = self.group_of[p]
            if pk == "view" and pg.kind == "view":
                g = self.alias_target(p, shape)
                if g is not None:
                    cands.append((g, v, p))
                    continue
                base = _view_base(v)
                if base.node is not None and node_kind(base.node) in FUSIBLE + ("matmul",
                                                                              "opaque"):
                    # read at other positions than its own: the value must be stored first
                    blocked.add(self.group_of[base.node])
                    self.rejected.append((base.node, n, f"read through a view "
                                          f"({p.prim.name}) of the stored value"))
                continue
            if pk in ("matmul", "opaque"):
                self.rejected.append((p, n, f"producer is {pk} ({p.prim.name})"))
                continue
            why = self.fit(pg, n, v)
            if why is not None:
                self.rejected.append((p, n, why))
            else:
                cands.append((pg, v, None))
        target = None
        joined = []
        for g, v, alias in cands:
            if g in blocked:
                self.rejected.append((v.node, n, "it also reads a view of this group's value "
                                      "(other positions)"))
                continue
            if g is target or target is None:
                target = g
                joined.append(alias)
                continue
            if g in self.view_reads[target] or target in self.view_reads[g]:
                why = "one group reads a view of the other's value (other positions)"
            elif g.kind == "reduction" and target.kind == "reduction" and \
                    (not _same(g.shape, target.shape) or g.dims != target.dims):
                why = "a different reduction (other shape or dims)"
            elif self.merge_cycle(target, g):
                why = "merging the groups would create a cycle between groups"
            else:
                why = None
            if why is not None:
                self.rejected.append((v.node, n, why))
                if alias is not None:
                    blocked.add(g)
                continue
            if g.kind == "reduction" and target.kind == "pointwise":
                self.merge(g, target)
                target = g
            else:
                self.merge(target, g)
            joined.append(alias)
        if target is None:
            g = self.new_group(n, "pointwise")
            self.view_reads[g] = blocked
            return g
        # n's other operands' groups must not read from the target (n would close a cycle)
        others = {self.group_of[v.node] for v in n.inputs if v.node is not None} - {target}
        others -= {self.group_of[a] for a in joined if a is not None}
        if self.reaches(others, {target}):
            for v in n.inputs:
                if v.node is not None and self.group_of[v.node] is target:
                    self.rejected.append((v.node, n, "would create a cycle between groups"))
            g = self.new_group(n, "pointwise")
            self.view_reads[g] = blocked
            return g
        for alias in joined:
            if alias is not None and self.group_of[alias] is not target:
                old = self.group_of[alias]      # the view's own group: it joins the kernel
                self.groups.remove(old)
                del self.view_reads[old]
                self.add(target, alias, "full")
                target.nodes.sort(key=self.pos.__getitem__)
        self.view_reads[target] |= blocked
        klass = "full"
        if target.kind == "reduction" and not _same(shape, target.shape):
            klass = "reduced"
        self.add(target, n, klass)
        return target

    def merge(self, a, b):
        """Move every node of group b into group a (a reduction group wins the kind)."""
        if b.kind == "reduction" and a.kind == "pointwise":
            a.kind, a.shape, a.dims, a.klass = "reduction", b.shape, b.dims, {}
            for m in a.nodes:
                a.klass[m] = "full" if _same(m.out.meta.shape, a.shape) else "reduced"
        for m in b.nodes:
            a.nodes.append(m)
            self.group_of[m] = a
            if a.kind == "reduction":
                a.klass[m] = b.klass.get(m) or ("full" if _same(m.out.meta.shape, a.shape)
                                                else "reduced")
        a.nodes.sort(key=self.pos.__getitem__)
        self.view_reads[a] |= self.view_reads.pop(b)
        for d in self.view_reads.values():
            if b in d:
                d.discard(b)
                d.add(a)
        self.groups.remove(b)

    def reduction(self, n):
        v = n.inputs[0]
        S, D = tuple(v.meta.shape), reduce_dims(n)
        p = v.node
        if p is not None and node_kind(p) in FUSIBLE:
            pg = self.group_of[p]
            if pg.kind == "pointwise" and _same(pg.shape, S):
                pg.kind, pg.dims = "reduction", D
                pg.klass = {m: "full" for m in pg.nodes}
                self.add(pg, n, "reduced")
                return pg
            if pg.kind == "reduction" and _same(pg.shape, S) and pg.dims == D and \
                    self.klass(v) == "full":
                self.add(pg, n, "reduced")
                return pg
            self.rejected.append((p, n, f"{n.prim.name} over dims {D} of {_fmt(S)} cannot join "
                                  f"a {pg.kind} group over {_fmt(pg.shape)}"
                                  + (f" dims {pg.dims}" if pg.kind == "reduction" else "")))
        elif p is not None and node_kind(p) in ("matmul", "opaque"):
            self.rejected.append((p, n, f"producer is {node_kind(p)} ({p.prim.name})"))
        return self.new_group(n, "reduction", S, D)

    def run(self):
        graph = self.graph
        self.pos = {n: i for i, n in enumerate(graph.nodes)}
        for n in graph.nodes:
            kind = node_kind(n)
            symbolic = not _static(tuple(n.out.meta.shape)) or any(
                not _static(tuple(v.meta.shape)) for v in n.inputs)
            if kind == "pointwise":
                g = self.pointwise(n)
            elif kind == "reduction" and not symbolic:
                g = self.reduction(n)
            else:
                g = self.new_group(n, "opaque" if kind == "reduction" else kind)
        return self.finish()

    def finish(self):
        graph = self.graph
        groups = _topological(self.groups, self.group_of, self.pos)
        k = 0
        for g in groups:
            if g.kind in ("view", "const"):
                g.id = -1
            else:
                g.id, k = k, k + 1
        graph.nodes[:] = [n for g in groups for n in g.nodes]
        used_outside = set(graph.outputs) | set(graph.mutations.values())
        for n in graph.nodes:
            for v in n.inputs:
                if v.node is None or self.group_of[v.node] is not self.group_of[n]:
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
                    if n.prim.name in VIEWS and n.inputs[0] not in g.outputs:
                        # a broadcast read in registers but needed outside too: the kernel
                        # stores the per-row value, and the view of it is taken after
                        g.outputs.append(n.inputs[0])
                    g.outputs.append(n.out)
        # keep only edges between two kernel groups that really ended up apart
        rejected, seen = [], set()
        for p, c, why in self.rejected:
            key = (p, c)
            if key in seen or self.group_of[p] is self.group_of[c]:
                continue
            seen.add(key)
            rejected.append((p, c, why))
        return FusionPlan(groups, rejected, self.group_of)


def _view_base(v):
    """The value a chain of views reads its memory from."""
    while v.node is not None and v.node.prim.name in VIEWS:
        v = v.node.inputs[0]
    return v


def _topological(groups, group_of, pos):
    """Groups in an order where each runs after every group it reads from; among ready groups,
    the one whose last node came first in the traced order."""
    readers, indeg = {g: set() for g in groups}, {g: 0 for g in groups}
    for g in groups:
        members = set(g.nodes)
        srcs = {group_of[v.node] for n in g.nodes for v in n.inputs
                if v.node is not None and v.node not in members}
        for s in srcs:
            readers[s].add(g)
        indeg[g] = len(srcs)
    key = {g: pos[g.nodes[-1]] for g in groups}
    ready = [(key[g], id(g), g) for g in groups if indeg[g] == 0]
    heapq.heapify(ready)
    out = []
    while ready:
        _, _, g = heapq.heappop(ready)
        out.append(g)
        for r in readers[g]:
            indeg[r] -= 1
            if indeg[r] == 0:
                heapq.heappush(ready, (key[r], id(r), r))
    if len(out) != len(groups):
        raise AssertionError("fusion: the groups form a cycle")
    return out


def phases(g):
    """For a reduction group: (phase of each node, [nodes whose full values are needed in each
    pass over the reduced dims]).  A full value that reads a reduction's result is computed in
    the pass after that reduction's; a reduction accumulates in the pass of its input."""
    members = set(g.nodes)
    phase = {}
    for n in g.nodes:
        ins = [phase[v.node] for v in n.inputs if v.node in members]
        p = max(ins, default=0)
        if n.prim.name in REDUCTIONS and g.klass[n] == "reduced":
            p += 1          # its result exists after the pass that reads its input
        phase[n] = p
    passes = {}
    outs = set(g.outputs)
    for n in g.nodes:
        if g.klass[n] == "reduced" and n.prim.name in REDUCTIONS:
            passes.setdefault(phase[n] - 1, []).append(n)
        elif g.klass[n] == "full" and n.out in outs:
            passes.setdefault(phase[n], []).append(n)
    n_pass = max(passes, default=0) + 1
    return phase, [passes.get(k, []) for k in range(n_pass)]


@register("fusion")
def fusion(graph):
    graph.fusion = _Planner(graph).run()
    return graph


def _fmt(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def format_groups(graph, why=False, runs_as=None):
    """The fused stage as text: one block per kernel group, with its loop structure (and, with
    `runs_as(group) -> str` from a backend, how that backend runs it)."""
    from ..ir.meta import format_type
    from ..ir.printer import assign_names
    plan = getattr(graph, "fusion", None)
    if plan is None:
        fusion(graph)
        plan = graph.fusion
    names = assign_names(graph)
    lines = [f"# {len(plan.kernels)} kernels ({sum(1 for g in plan.kernels if len(g.nodes) > 1)} "
             f"fused) from {len(graph.nodes)} nodes"]
    for g in plan.groups:
        if g.kind in ("view", "const"):
            continue
        ins = ", ".join(names[v] for v in g.inputs)
        outs = ", ".join(names[v] for v in g.outputs)
        loops = f" {g.loops()}" if g.kind in FUSIBLE else ""
        lines.append(f"group {g.id} {g.kind} {_fmt(g.shape)}{loops}: ({ins}) -> ({outs})")
        if runs_as is not None:
            lines.append(f"    # runs as: {runs_as(g)}")
        for n in g.nodes:
            args = ", ".join(names[v] for v in n.inputs)
            cls = f"  # {g.klass[n]}" if g.kind == "reduction" else ""
            lines.append(f"    {names[n.out]}: \"{format_type(n.out.meta)}\" = "
                         f"{n.prim.name}({args}){cls}")
    if why:
        lines.append("")
        lines.append(f"# not fused ({len(plan.rejected)} pairs):")
        for p, c, reason in plan.rejected:
            src = f"  # {c.source}" if c.source else ""
            lines.append(f"{names[p.out]} ({p.prim.name}) -> {names[c.out]} ({c.prim.name}): "
                         f"{reason}{src}")
    return "\n".join(lines) + "\n"
