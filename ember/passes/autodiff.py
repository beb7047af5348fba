"""Autodiff: derive the backward graph of a graph from the registry's vjp rules.

``autodiff(graph, wrt=None, outputs=None, seeds=None)`` appends to ``graph`` the nodes computing the
gradient of ``sum(outputs[i] * seed_i)`` (seed: ones for a scalar output, or a new graph input
named ``grad_<k>`` per output otherwise) with respect to the ``wrt`` input values (default: every
float input), and appends those gradients to ``graph.outputs`` (a zero ``full`` where an input
does not influence the outputs).

How: walking the forward nodes in reverse, each differentiable node whose output has a gradient
has its ``prim.vjp(g, out, *inputs, **params)`` evaluated on handles standing for its values by a
node builder that appends the rule's ops to this same graph -- the very rules the eager tape
uses, now producing graph nodes.  The builder is the frontend's (``FRONTEND.graph_vjp``, installed
when ember is imported: vjp rules are Tensor code, and this pass never imports the frontend).
Gradients of a value read by several nodes are summed.  Only values on a path from ``wrt`` to the
outputs are differentiated.  The new nodes carry the source line of the forward node they
differentiate.
"""
from __future__ import annotations

from ..ops.registry import FRONTEND
from .manager import register


def autodiff(graph, wrt=None, outputs=None, seeds=None):
    if wrt is None:
        wrt = [v for v in graph.inputs if v.meta.dtype.is_floating_point]
    outs = list(graph.outputs if outputs is None else outputs)
    # values that depend on wrt
    needs = set(wrt)
    for n in graph.nodes:
        if n.prim.differentiable and any(v in needs for v in n.inputs):
            needs.add(n.out)
    grads = {}

    def accumulate(v, g):
        prev = grads.get(v)
        grads[v] = g if prev is None else b.add(prev, g)

    with FRONTEND.graph_vjp(graph) as b:
        for k, o in enumerate(outs):
            if o not in needs:
                continue
            if seeds is not None:
                seed = b.handle(seeds[k])
            elif len(o.meta.shape) == 0:
                seed = b.ones(o.meta)
            else:
                seed = b.handle(b.new_input(o.meta, f"grad_{k}"))
            accumulate(o, seed)
        for n in reversed(list(graph.nodes)):
            g = grads.get(n.out)
            if g is None or not n.prim.differentiable or n.prim.vjp is None:
                continue
            if not any(v in needs for v in n.inputs):
                continue
            start = len(graph.nodes)
            ins = n.inputs
            res = b.vjp(n.prim, g, b.handle(n.out), [b.handle(v) for v in ins], n.params,
                        tuple(v in needs for v in ins))
            for m in graph.nodes[start:]:
                m.source = n.source
            for v, gi in zip(ins, res):
                if gi is not None and v in needs:
                    accumulate(v, gi)
        result = [b.value(grads[v] if v in grads else b.zeros_like(v)) for v in wrt]
    graph.outputs = list(graph.outputs) + result
    return graph


@register("autodiff")
def autodiff_pass(graph):
    """As a pipeline stage: gradients of the graph's first (scalar) output w.r.t. every float
    input kind "input" or "param"."""
    wrt = [v for v in graph.inputs if v.kind in ("input", "param") and
           v.meta.dtype.is_floating_point]
    return autodiff(graph, wrt=wrt, outputs=graph.outputs[:1])
