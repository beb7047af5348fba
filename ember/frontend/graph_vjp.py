"""The autodiff pass's node builder (``passes/autodiff.py``): vjp rules evaluated on graph values.

The registry's vjp rules are written with Tensor methods, so that one rule serves the eager tape,
traced code and this pass.  The pass is a graph transform and never sees a Tensor: it asks this
builder (installed as ``ops.registry.FRONTEND.graph_vjp``) for a handle per graph value, runs the
rules through it, and gets graph values back.  Inside ``with builder:`` a tracer bound to the
graph is installed (grad mode off), so every Tensor op a rule runs appends a node to the graph.
"""
from __future__ import annotations

from .creation import ones, zeros
from .dispatch import STATE
from .tensor import Tensor
from .trace import TracedData, Tracer, TraceError, _to_tensor_dims


class GraphVJP:
    def __init__(self, graph):
        from ..shapes import ShapeEnv
        self.graph = graph
        self.env = ShapeEnv()
        self.tracer = Tracer(graph=graph, env=self.env)
        self.tracer.names = {v.name for v in graph.inputs}
        self._handles = {}

    def __enter__(self):
        if STATE.tracer is not None:
            raise TraceError("autodiff cannot run while ember is tracing")
        self._saved = STATE.grad_enabled
        STATE.tracer, STATE.grad_enabled = self.tracer, False
        return self

    def __exit__(self, *exc):
        STATE.tracer, STATE.grad_enabled = None, self._saved
        return False

    def handle(self, v):
        """The traced tensor standing for graph value ``v``."""
        t = self._handles.get(v)
        if t is None:
            t = self._handles[v] = Tensor.__new__(Tensor)
            t._data = TracedData(_to_tensor_dims(v.meta.shape, self.env), v.meta.dtype.np)
            t._value = v
        return t

    @staticmethod
    def value(h):
        return h._value

    def new_input(self, meta, name):
        return self.graph.add_input(meta, self.tracer._unique(name))

    def vjp(self, prim, g, out, inputs, params, needs):
        if prim.vjp_needs:
            return prim.vjp(g, out, *inputs, needs=needs, **params)
        return prim.vjp(g, out, *inputs, **params)

    @staticmethod
    def add(a, b):
        return a + b

    @staticmethod
    def ones(meta):
        return ones(tuple(meta.shape), dtype=meta.dtype)

    def zeros_like(self, v):
        return zeros(tuple(self.handle(v).shape), dtype=v.meta.dtype)
