"""Shared helpers for passes that replace values: a union-find style replacement map applied to
node inputs, outputs and mutations, and the constant view of a value."""
from __future__ import annotations

import numpy as np


class Replacer:
    """Collects `old -> new` value replacements while a pass walks the nodes in order."""

    def __init__(self):
        self.map = {}

    def find(self, v):
        m = self.map
        while v in m:
            v = m[v]
        return v

    def replace(self, old, new):
        if old is not new:
            self.map[old] = new

    def rewire(self, node):
        if self.map:
            node.inputs = [self.find(v) for v in node.inputs]

    def finish(self, graph):
        if self.map:
            graph.outputs = [self.find(v) for v in graph.outputs]
            graph.mutations = {t: self.find(v) for t, v in graph.mutations.items()}
        return graph


def scalar_constant(v):
    """The Python number a value holds everywhere when it is a `full` (seen through reshape/expand
    of a full), else None."""
    n = v.node
    while n is not None and n.prim.name in ("reshape", "expand"):
        n = n.inputs[0].node
    if n is not None and n.prim.name == "full":
        return n.params["value"]
    return None


def const_array(v):
    """NumPy value of a value computed only from `full` nodes (a static, tiny subgraph), else None."""
    n = v.node
    if n is None:
        return None
    if n.prim.name == "full":
        return n.prim.numpy(**n.params)
    return None


def is_static(shape):
    return all(isinstance(d, (int, np.integer)) for d in shape)
