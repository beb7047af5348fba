"""Kernel grouping and buffer planning for the Triton backend.

Greedy over the graph's node order, one open group at a time (each group becomes one kernel, or two
for scatters):

* **pointwise** groups: elementwise nodes plus *positional* ones (gather, index, pad, flip, cat,
  slice_scatter, full, arange, non-view reshape) over one iteration space of ``numel`` elements;
  values computed inside the group are never stored unless something outside reads them.
* **reduction** groups: reductions over the same input shape ``S`` and dims ``D`` together with
  their pointwise prologue (shape ``S``) and epilogue (shape ``S`` or the reduced shape), so
  softmax, log_softmax, layer_norm, rms_norm and their backward passes are one kernel.  A reduced
  value broadcast back to ``S`` (``expand``) stays in registers.
* **matmul** groups: a matmul and its pointwise epilogue (bias, activation, scale) of its shape.
* **scatter** (scatter, scatter_add, index_put): copy then scatter kernels.
* **scan** (cumsum): rows x columns like a reduction, ``tl.cumsum`` per block with a carry
  across blocks for long rows.
* **host**: primitives without a Triton kernel (cumsum, argsort, conv, random sources) run their
  NumPy rule in the host wrapper (so on a GPU they would need a copy; see docs/triton.md).

View primitives (permute, expand, slice, stride-compatible reshape) of materialized values cost
nothing: they become a ``Layout`` over the same buffer and are folded into index expressions.  A
node that must read a value at other positions than its own (a matmul operand, a gathered tensor,
a view) forces that value out of the open group: the group closes and the value is stored.
Every refusal to fuse is recorded in ``Schedule.notes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...shapes import prod as numel  # numel(shape): used here and by codegen/kernels
from .indexing import Layout

ELEMENTWISE_FAMILY = "elementwise"
POSITIONAL = {"gather", "index", "pad", "flip", "cat", "slice_scatter", "full", "arange"}
REDUCTIONS = {"sum", "prod", "amax", "amin", "argmax", "argmin"}
VIEWS = {"reshape", "permute", "expand", "slice"}
SCATTERS = {"scatter", "scatter_add", "index_put"}


def reduce_dims(node):
    p = node.params
    return tuple(p["dims"]) if "dims" in p else (p["dim"],) if node.inputs[0].shape else ()


def aligned_inputs(node):
    """Inputs read at the node's own element (so they may be computed in the same kernel)."""
    name = node.prim.name
    if node.prim.family == ELEMENTWISE_FAMILY:
        return set(range(len(node.inputs)))
    if name == "gather":
        return {1}
    if name == "slice_scatter":
        return {0}
    return set()


@dataclass(eq=False)
class Group:
    id: int
    kind: str                      # pointwise | reduction | matmul | scatter | scan | host
    shape: tuple                   # iteration shape (reduction: the reduced input's shape S)
    dims: tuple = ()               # reduction dims
    nodes: list = field(default_factory=list)
    outputs: list = field(default_factory=list)   # values stored to buffers
    aliases: dict = field(default_factory=dict)   # value -> value it aliases (in-register views)
    broadcasts: set = field(default_factory=set)  # expand nodes of reduced values (reduction)
    positional_reshapes: set = field(default_factory=set)
    klass: dict = field(default_factory=dict)     # reduction groups: value -> full | reduced
    closed: bool = False

    @property
    def rows(self):
        return numel(self.reduced_shape)

    @property
    def reduced_shape(self):
        return tuple(1 if i in self.dims else s for i, s in enumerate(self.shape))

    def values(self):
        return [n.out for n in self.nodes]

    def describe(self):
        names = [n.prim.name for n in self.nodes]
        return f"{self.kind}[{', '.join(names)}]"


@dataclass
class Schedule:
    groups: list
    layouts: dict      # materialized value -> (base value, Layout)
    owner: dict        # node output -> Group
    notes: list        # why groups were split
    consts: dict = field(default_factory=dict)   # value -> its `full` node (never a kernel)
    const_buffers: list = field(default_factory=list)  # consts something reads from memory


class _Scheduler:
    def __init__(self, graph, shapes, input_layouts):
        self.graph = graph
        self.shape = shapes          # value -> concrete shape
        self.layouts = {}
        for v, lay in zip(graph.inputs, input_layouts):
            self.layouts[v] = (v, lay)
        self.owner = {}
        self.groups = []
        self.cur = None
        self.notes = []
        self.consts = {}
        self.const_buffers = []
        self.pending = {}   # view of a value the open group will store -> that group

    # --- state helpers ----------------------------------------------------------------------
    def in_cur(self, v):
        return self.cur is not None and self.owner.get(v) is self.cur

    def close(self, why=None):
        if self.cur is not None:
            self.cur.closed = True
            if why:
                self.notes.append(f"group {self.cur.id} ({self.cur.describe()}) closed: {why}")
            self.cur = None

    def layout(self, v):
        """(base, Layout) of a materialized value; marks group values as stored outputs."""
        if v not in self.layouts and v in self.consts:
            self.const_buffers.append(v)
            self.layouts[v] = (v, Layout.contiguous(self.shape[v]))
        if v not in self.layouts:
            g = self.owner[v]
            assert g is not self.cur or g.closed, "reading an open group's value as memory"
            if v not in g.outputs:
                g.outputs.append(v)
            self.layouts[v] = (v, Layout.contiguous(self.shape[v]))
        return self.layouts[v]

    def new_group(self, kind, shape, dims=()):
        self.close()
        g = Group(len(self.groups), kind, tuple(shape), tuple(dims))
        self.groups.append(g)
        self.cur = g
        return g

    def add(self, node):
        g = self.cur
        g.nodes.append(node)
        self.owner[node.out] = g
        if g.kind == "reduction":
            g.klass[node.out] = self.klass_of(g, node)

    def klass_of(self, g, node):
        """In a reduction group, "reduced" values are one per row (indexed by the row's flat
        index, whatever their shape), "full" values one per element of S."""
        v = node.out
        if node.prim.name in REDUCTIONS:
            return "reduced"
        if node in g.broadcasts:
            return "full"
        if v in g.aliases:
            return g.klass.get(g.aliases[v], "full")
        if any(g.klass.get(i) == "reduced" for i in node.inputs):
            return "reduced"
        shape = self.shape[v]
        if shape != g.shape and numel(shape) == g.rows:
            return "reduced"
        return "full"

    # --- fitting ------------------------------------------------------------------------------
    def fits(self, node, shape):
        g = self.cur
        if g is None or g.kind in ("scatter", "host"):
            return False
        for i, v in enumerate(node.inputs):
            if i not in aligned_inputs(node) and self.in_cur(v):
                self.close(f"{node.prim.name} reads {v.name or 'a value'} at other positions")
                return False
        if g.kind == "pointwise":
            return numel(shape) == numel(g.shape)
        if g.kind == "reduction":
            return shape == g.shape or numel(shape) == g.rows
        if g.kind == "matmul":
            return shape == g.shape
        return False

    def run(self):
        for node in self.graph.nodes:
            name = node.prim.name
            shape = self.shape[node.out]
            if name == "full" or (name in VIEWS and node.inputs[0] in self.consts):
                # constants are folded into their readers (tl.full), never stored
                self.consts[node.out] = self.consts.get(node.inputs[0]) if node.inputs else node
                continue
            if self.cur is not None and any(self.pending.get(v) is self.cur for v in node.inputs):
                self.close(f"{name} reads a view of a value this group stores")
            if name in VIEWS and self.view(node, shape):
                if node.out not in self.pending and self.pending.get(node.inputs[0]):
                    self.pending[node.out] = self.pending[node.inputs[0]]
                continue
            if node.prim.family == ELEMENTWISE_FAMILY or name in POSITIONAL or name in VIEWS:
                if not self.fits(node, shape):
                    if self.cur is not None and not self.cur.closed:
                        self.close(f"{name} of shape {list(shape)} does not fit")
                    self.new_group("pointwise", shape)
                    if name in VIEWS:
                        self.cur.positional_reshapes.add(node)
                elif name in VIEWS:
                    self.cur.positional_reshapes.add(node)
                for i, v in enumerate(node.inputs):
                    if not self.in_cur(v) and (v not in self.consts or i not in
                                               aligned_inputs(node)):
                        self.layout(v)
                self.add(node)
            elif name in REDUCTIONS:
                self.reduction(node)
            elif name == "matmul":
                for v in node.inputs:
                    if self.in_cur(v):
                        self.close("matmul operands are read as tiles from memory")
                self.new_group("matmul", shape)
                for v in node.inputs:
                    self.layout(v)
                self.add(node)
            else:
                kind = "scatter" if name in SCATTERS and self.atomic_ok(node) else "host"
                if name == "cumsum" and node.inputs[0].shape and \
                        node.out.dtype.name not in ("bool", "float16", "bfloat16"):
                    kind = "scan"
                for v in node.inputs:
                    if self.in_cur(v):
                        self.close(f"{name} reads its inputs from memory")
                self.new_group(kind, shape)
                for v in node.inputs:
                    self.layout(v)
                self.add(node)
                self.close()
        self.close()
        for v in list(self.graph.outputs) + list(self.graph.mutations.values()):
            if v not in self.layouts and (v in self.owner or v in self.consts):
                self.layout(v)
        return Schedule(self.groups, self.layouts, self.owner, self.notes, self.consts,
                        self.const_buffers)

    @staticmethod
    def atomic_ok(node):
        """Accumulating scatters need tl.atomic_add, which has no 8/16-bit integer, bool or
        (in the interpreter) bfloat16 form: those run on the host."""
        accumulate = node.prim.name == "scatter_add" or node.params.get("accumulate", False)
        if not node.inputs[0].shape:
            return False
        return not accumulate or node.out.dtype.name in ("float16", "float32", "float64", "int32",
                                                         "int64")

    def view(self, node, shape):
        """Fold a view into a layout (True), or leave the node to be computed (False)."""
        src = node.inputs[0]
        name = node.prim.name
        if self.in_cur(src):
            g = self.cur
            if name == "reshape" and g.kind == "pointwise":
                g.aliases[node.out] = src
                self.add(node)
                return True
            if name == "expand" and g.kind == "reduction" and self.shape[src] == g.reduced_shape \
                    and tuple(shape) == g.shape and g.klass.get(src) == "reduced":
                g.broadcasts.add(node)
                g.aliases[node.out] = src
                self.add(node)
                return True
            if name == "reshape" and g.kind == "reduction" and g.klass.get(src) == "reduced":
                g.aliases[node.out] = src  # a reduced value is indexed by its flat row index
                self.add(node)
                return True
            # the group stores src; the view reads that memory, so nothing in this kernel may
            # read the view (run() closes the group first if something does)
            if src not in g.outputs:
                g.outputs.append(src)
            self.layouts[src] = (src, Layout.contiguous(self.shape[src]))
            self.pending[node.out] = g
        base, lay = self.layout(src)
        p = node.params
        if name == "permute":
            new = lay.permute(p["dims"])
        elif name == "expand":
            new = lay.expand(shape)
        elif name == "slice":
            new = lay.slice(p["starts"], p["stops"], p["steps"])
        else:
            new = lay.reshape(shape)
            if new is None:
                return False  # not a view of this layout: computed as a positional node
        self.layouts[node.out] = (base, new)
        return True

    def reduction(self, node):
        src = node.inputs[0]
        S = self.shape[src]
        dims = reduce_dims(node)
        g = self.cur
        if g is not None and g.kind == "reduction" and g.shape == S and g.dims == dims:
            self.add(node)
            if not self.in_cur(src) and src not in self.consts:
                self.layout(src)
            return
        if g is not None and g.kind == "pointwise" and self.in_cur(src) and not g.aliases and \
                all(self.shape[n.out] == S for n in g.nodes) and not g.positional_reshapes:
            g.kind, g.shape, g.dims = "reduction", tuple(S), tuple(dims)
            g.klass = {n.out: "full" for n in g.nodes}
            self.add(node)
            return
        if self.in_cur(src):
            self.close(f"{node.prim.name} over dims {dims} cannot join this group")
        self.new_group("reduction", S, dims)
        self.layout(src)
        self.add(node)


def schedule(graph, shapes, input_layouts):
    return _Scheduler(graph, shapes, input_layouts).run()


def plan_buffers(sched, graph, shapes, itemsize):
    """Give every stored group output a buffer, reusing dead buffers of the same byte size.

    Returns ({value: buffer name}, [(buffer name, nbytes)], {"planned": bytes, "naive": bytes}).
    A buffer dies after the last group that reads any value laid out over it; graph outputs and
    mutated values never die."""
    last_use = {}
    for gi, g in enumerate(sched.groups):
        for n in g.nodes:
            for v in n.inputs:
                if v in sched.layouts:
                    base = sched.layouts[v][0]
                    last_use[base] = gi
    forever = len(sched.groups)
    for v in list(graph.outputs) + list(graph.mutations.values()):
        if v in sched.layouts:
            last_use[sched.layouts[v][0]] = forever
    buffer_of, buffers, free = {}, [], {}
    naive = 0
    for gi, g in enumerate(sched.groups):
        for v in g.outputs:
            if g.kind == "host":
                continue
            nbytes = numel(shapes[v]) * itemsize(v)
            naive += nbytes
            pool = free.get(nbytes)
            if pool:
                name = pool.pop()
            else:
                name = f"buf{len(buffers)}"
                buffers.append((name, nbytes))
            buffer_of[v] = name
        # buffers whose last reader is this group can be reused by later groups
        for v, name in list(buffer_of.items()):
            if last_use.get(v, -1) == gi and name not in _live_names(buffer_of, last_use, gi):
                free.setdefault(numel(shapes[v]) * itemsize(v), []).append(name)
                last_use[v] = -2
        for v in g.outputs:  # a value nobody reads (dead but kept) is freed right away
            if v in buffer_of and v not in last_use:
                free.setdefault(numel(shapes[v]) * itemsize(v), []).append(buffer_of[v])
                last_use[v] = -2
    planned = sum(n for _, n in buffers)
    return buffer_of, buffers, {"planned": planned, "naive": naive}


def _live_names(buffer_of, last_use, gi):
    return {name for v, name in buffer_of.items() if last_use.get(v, -1) > gi}
