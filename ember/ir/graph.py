"""The graph IR: an ordered list of SSA nodes over values with symbolic shapes.

* ``Value``: one SSA value.  Graph inputs have ``kind`` "input" (a call argument), "param" or
  "buffer" (module state, ``target`` is its qualified name such as ``fc1.weight``) or "const" (an
  eager tensor the traced code captured); every other value is the output of exactly one node.
* ``Node``: a primitive applied to values with keyword params; it records the output meta and the
  user source line that created it.
* ``Graph``: inputs, nodes (in execution order), outputs, in-place writes to inputs
  (``mutations``: input value -> its final value), size guards and the size hints seen while
  tracing.
"""
from __future__ import annotations

from ..ops.registry import REGISTRY

INPUT_KINDS = ("input", "param", "buffer", "const")


class Value:
    __slots__ = ("meta", "node", "name", "kind", "target")

    def __init__(self, meta, node=None, name=None, kind=None, target=None):
        self.meta = meta
        self.node = node        # the producing Node; None for graph inputs
        self.name = name        # a hint for the printer (inputs keep theirs)
        self.kind = kind        # one of INPUT_KINDS for graph inputs, else None
        self.target = target    # qualified state name for params/buffers

    @property
    def shape(self):
        return self.meta.shape

    @property
    def dtype(self):
        return self.meta.dtype

    def __repr__(self):
        from .meta import format_type
        return f"<Value {self.name or '?'}: {format_type(self.meta)}>"


class Node:
    __slots__ = ("prim", "inputs", "params", "out", "source")

    def __init__(self, prim, inputs, params, meta, source=None):
        self.prim = prim
        self.inputs = list(inputs)
        self.params = dict(params)
        self.out = Value(meta, self)
        self.source = source    # "file.py:14" of the user code that created it

    def __repr__(self):
        return f"<Node {self.prim.name} -> {self.out!r}>"


class Graph:
    def __init__(self, name="forward"):
        self.name = name
        self.inputs: list[Value] = []
        self.nodes: list[Node] = []
        self.outputs: list[Value] = []
        self.mutations: dict[Value, Value] = {}
        self.guards: list = []
        self.hints: dict[str, int] = {}

    # --- building ------------------------------------------------------------------------------
    def add_input(self, meta, name, kind="input", target=None):
        v = Value(meta, None, name, kind, target)
        self.inputs.append(v)
        return v

    def add_node(self, prim, inputs, params, meta=None, source=None):
        if isinstance(prim, str):
            prim = REGISTRY[prim]
        if meta is None:
            meta = prim.infer(*[v.meta for v in inputs], **params)
        node = Node(prim, inputs, params, meta, source)
        self.nodes.append(node)
        return node.out

    # --- queries -------------------------------------------------------------------------------
    def input_named(self, name):
        for v in self.inputs:
            if v.name == name:
                return v
        raise KeyError(name)

    def inputs_of_kind(self, *kinds):
        return [v for v in self.inputs if v.kind in kinds]

    @property
    def symbols(self):
        out = set()
        for v in self.inputs:
            for d in v.meta.shape:
                if not isinstance(d, int):
                    out |= d.free_symbols
        return sorted(out, key=lambda s: (len(s.name), s.name))

    def users(self):
        """value -> the nodes that read it."""
        out = {}
        for n in self.nodes:
            for v in n.inputs:
                out.setdefault(v, []).append(n)
        return out

    def prune(self):
        """Drop nodes whose values no output or mutation needs (dead code)."""
        live = set(self.outputs) | set(self.mutations.values())
        kept = []
        for n in reversed(self.nodes):
            if n.out in live:
                kept.append(n)
                live.update(n.inputs)
        self.nodes = kept[::-1]
        return self

    def __str__(self):
        from .printer import print_graph
        return print_graph(self)

    def __repr__(self):
        return (f"<Graph {self.name}: {len(self.inputs)} inputs, {len(self.nodes)} nodes, "
                f"{len(self.outputs)} outputs>")
