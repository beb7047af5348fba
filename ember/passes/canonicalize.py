"""Canonicalize and fold constants.

* identity views and conversions disappear: reshape/expand to the same shape, permute by the
  identity, convert to the same dtype, slice of the whole range;
* chains collapse: reshape(reshape(x)) -> reshape(x), expand(expand(x)) -> expand(x),
  permute(permute(x)) -> one permute;
* algebra that is exact in IEEE arithmetic: x * 1, x / 1, x - 0 -> x;
* constant folding: a node whose inputs are all small static constants is evaluated now with its
  NumPy rule; a uniform result becomes one ``full`` node (Adam's ``1 - beta1`` chains, scalar
  hyper-parameter arithmetic).
"""
import numpy as np

from ..ir.graph import Node
from ..ops.registry import REGISTRY
from .manager import register
from .rewrite import Replacer, is_static, scalar_constant

FOLD_MAX_ELEMENTS = 64


def _same_shape(a, b):
    return len(a) == len(b) and all(x == y for x, y in zip(a, b))


@register("canonicalize")
def canonicalize(graph):
    r = Replacer()
    consts = {}   # value -> ndarray for small static constants
    out = []
    full = REGISTRY["full"]
    for n in graph.nodes:
        r.rewire(n)
        name = n.prim.name
        x = n.inputs[0] if n.inputs else None
        shape = n.out.meta.shape
        # --- identities ---
        if name in ("reshape", "expand") and _same_shape(x.meta.shape, shape):
            r.replace(n.out, x)
            continue
        if name == "permute" and tuple(n.params["dims"]) == tuple(range(len(shape))):
            r.replace(n.out, x)
            continue
        if name == "convert" and x.meta.dtype is n.out.meta.dtype:
            r.replace(n.out, x)
            continue
        if name == "slice" and _same_shape(x.meta.shape, shape) and \
                all(s == 1 for s in n.params["steps"]) and all(s == 0 for s in n.params["starts"]):
            r.replace(n.out, x)
            continue
        # --- chains ---
        if name in ("reshape", "expand") and x.node is not None and x.node.prim.name == name:
            n.inputs = [x.node.inputs[0]]
            x = n.inputs[0]
            if _same_shape(x.meta.shape, shape):
                r.replace(n.out, x)
                continue
        if name == "permute" and x.node is not None and x.node.prim.name == "permute":
            inner = x.node.params["dims"]
            dims = tuple(inner[d] for d in n.params["dims"])
            n.inputs = [x.node.inputs[0]]
            n.params = {"dims": dims}
            if dims == tuple(range(len(dims))):
                r.replace(n.out, n.inputs[0])
                continue
        # --- exact algebra ---
        if name in ("mul", "div", "sub") and n.out.meta.dtype.is_floating_point:
            c = scalar_constant(n.inputs[1])
            if (name in ("mul", "div") and c == 1 and not isinstance(c, bool)) or \
                    (name == "sub" and c == 0 and not isinstance(c, bool)):
                r.replace(n.out, n.inputs[0])
                continue
            if name == "mul" and scalar_constant(n.inputs[0]) == 1 and \
                    not isinstance(scalar_constant(n.inputs[0]), bool):
                r.replace(n.out, n.inputs[1])
                continue
        # --- constant folding ---
        if name == "full":
            if is_static(shape) and int(np.prod(shape, dtype=np.int64)) <= FOLD_MAX_ELEMENTS:
                consts[n.out] = n.prim.numpy(**n.params)
            out.append(n)
            continue
        if n.inputs and "seed" not in n.prim.params and all(v in consts for v in n.inputs) and \
                is_static(shape) and int(np.prod(shape, dtype=np.int64)) <= FOLD_MAX_ELEMENTS:
            try:
                with np.errstate(all="ignore"):
                    val = np.asarray(n.prim.numpy(*[consts[v] for v in n.inputs], **n.params))
            except Exception:
                val = None
            if val is not None and val.size and val.dtype == n.out.meta.dtype.np and \
                    (val == val.flat[0]).all() | (val.size == 1):
                flat = val.flat[0]
                value = flat.item() if hasattr(flat, "item") else flat
                if isinstance(value, (bool, int, float)):
                    node = Node(full, [], {"shape": tuple(shape), "value": value,
                                           "dtype": n.out.meta.dtype}, n.out.meta, n.source)
                    consts[node.out] = np.full(shape, value, dtype=n.out.meta.dtype.np)
                    out.append(node)
                    r.replace(n.out, node.out)
                    continue
        out.append(n)
    graph.nodes = out
    r.finish(graph)
    return graph.prune()
