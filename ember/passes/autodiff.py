"""Autodiff: derive the backward graph of a graph from the registry's vjp rules.

``autodiff(graph, wrt=None, outputs=None, seeds=None)`` appends to ``graph`` the nodes computing the
gradient of ``sum(outputs[i] * seed_i)`` (seed: ones for a scalar output, or a new graph input
named ``grad_<k>`` per output otherwise) with respect to the ``wrt`` input values (default: every
float input), and appends those gradients to ``graph.outputs`` (a zero ``full`` where an input
does not influence the outputs).

How: walking the forward nodes in reverse, each differentiable node whose output has a gradient
calls ``prim.vjp(g, out, *inputs, **params)`` on *traced* tensors standing for its values, with a
tracer bound to this same graph installed, so every Tensor op inside the vjp rule appends graph
nodes -- the very rules the eager tape uses, now producing graph nodes.  Gradients of a value read
by several nodes are summed.  Only values on a path from ``wrt`` to the outputs are differentiated.
The new nodes carry the source line of the forward node they differentiate.
"""
from __future__ import annotations

from ..frontend.dispatch import STATE
from .manager import register


def _traced(v, env):
    from ..frontend.tensor import Tensor
    from ..ir.trace import TracedData, _to_tensor_dims
    t = Tensor.__new__(Tensor)
    t._data = TracedData(_to_tensor_dims(v.meta.shape, env), v.meta.dtype.np)
    t._value = v
    return t


def autodiff(graph, wrt=None, outputs=None, seeds=None):
    from ..ir.trace import Tracer
    from ..shapes import ShapeEnv
    if wrt is None:
        wrt = [v for v in graph.inputs if v.meta.dtype.is_floating_point]
    outs = list(graph.outputs if outputs is None else outputs)
    # values that depend on wrt
    needs = set(wrt)
    for n in graph.nodes:
        if n.prim.differentiable and any(v in needs for v in n.inputs):
            needs.add(n.out)
    env = ShapeEnv()
    tracer = Tracer(graph=graph, env=env)
    tracer.names = {v.name for v in graph.inputs}
    saved_tracer, saved_grad = STATE.tracer, STATE.grad_enabled
    if saved_tracer is not None:
        raise RuntimeError("autodiff cannot run while ember is tracing")
    STATE.tracer, STATE.grad_enabled = tracer, False
    try:
        grads = {}
        tensors = {}

        def T(v):
            t = tensors.get(v)
            if t is None:
                t = tensors[v] = _traced(v, env)
            return t

        def accumulate(v, g):
            prev = grads.get(v)
            grads[v] = g if prev is None else prev + g

        for k, o in enumerate(outs):
            if o not in needs:
                continue
            if seeds is not None:
                seed = T(seeds[k])
            elif len(o.meta.shape) == 0:
                from ..frontend.creation import ones
                seed = ones((), dtype=o.meta.dtype)
            else:
                seed = None
            if seed is None:
                v = graph.add_input(o.meta, tracer._unique(f"grad_{k}"))
                seed = T(v)
            accumulate(o, seed)
        for n in reversed(list(graph.nodes)):
            g = grads.get(n.out)
            if g is None or not n.prim.differentiable or n.prim.vjp is None:
                continue
            if not any(v in needs for v in n.inputs):
                continue
            start = len(graph.nodes)
            ins = n.inputs
            res = n.prim.vjp(g, T(n.out), *[T(v) for v in ins], **n.params)
            for m in graph.nodes[start:]:
                m.source = n.source
            for v, gi in zip(ins, res):
                if gi is not None and v in needs:
                    accumulate(v, gi)
        result = []
        for v in wrt:
            g = grads.get(v)
            if g is None:
                from ..frontend.creation import zeros
                g = zeros(tuple(T(v).shape), dtype=v.meta.dtype)
            result.append(g._value)
    finally:
        STATE.tracer, STATE.grad_enabled = saved_tracer, saved_grad
    graph.outputs = list(graph.outputs) + result
    return graph


@register("autodiff")
def autodiff_pass(graph):
    """As a pipeline stage: gradients of the graph's first (scalar) output w.r.t. every float
    input kind "input" or "param"."""
    wrt = [v for v in graph.inputs if v.kind in ("input", "param") and
           v.meta.dtype.is_floating_point]
    return autodiff(graph, wrt=wrt, outputs=graph.outputs[:1])
