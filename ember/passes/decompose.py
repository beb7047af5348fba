"""Decompose: rewrite primitives into cheaper equivalent ones where an operand is a known constant.

* ``pow(x, 2)`` -> ``mul(x, x)``; ``pow(x, 1)`` -> ``x``; ``pow(x, 0.5)`` -> ``sqrt(x)``
  (float x only: NumPy computes these exactly as the general power does);
* ``div(x, c)`` with a constant power-of-two c -> ``mul(x, 1/c)`` (exact in binary floating point).
"""
import math

from .manager import register
from .rewrite import Replacer, scalar_constant


def _const_like(graph, like, value):
    """A constant with `like`'s meta (full + nothing else: shapes are static or symbolic)."""
    return graph.add_node("full", [], {"shape": tuple(like.meta.shape), "value": value,
                                        "dtype": like.meta.dtype}), graph.nodes.pop()


@register("decompose")
def decompose(graph):
    r = Replacer()
    out = []
    for n in graph.nodes:
        r.rewire(n)
        name = n.prim.name
        if name == "pow" and n.out.meta.dtype.is_floating_point:
            c = scalar_constant(n.inputs[1])
            x = n.inputs[0]
            if c == 2 and not isinstance(c, bool):
                n2 = _rebuild(n, "mul", [x, x])
                out.append(n2)
                r.replace(n.out, n2.out)
                continue
            if c == 1 and not isinstance(c, bool):
                r.replace(n.out, x)
                continue
            if c == 0.5:
                n2 = _rebuild(n, "sqrt", [x])
                out.append(n2)
                r.replace(n.out, n2.out)
                continue
        if name == "div" and n.out.meta.dtype.is_floating_point:
            c = scalar_constant(n.inputs[1])
            if isinstance(c, (int, float)) and not isinstance(c, bool) and c != 0 and \
                    math.isfinite(c):
                m, e = math.frexp(abs(c))
                if m == 0.5:
                    val, node = _const_like(graph, n.inputs[1], 1.0 / c)
                    n2 = _rebuild(n, "mul", [n.inputs[0], val])
                    out.extend([node, n2])
                    r.replace(n.out, n2.out)
                    continue
        out.append(n)
    graph.nodes = out
    return r.finish(graph)


def _rebuild(n, prim, inputs):
    from ..ir.graph import Node
    from ..ops.registry import REGISTRY
    p = REGISTRY[prim]
    return Node(p, inputs, {}, p.infer(*[v.meta for v in inputs]), n.source)
