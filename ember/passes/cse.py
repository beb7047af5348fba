"""Common subexpression elimination: two nodes with the same primitive, the same (already merged)
inputs and equal params compute the same value; the later one is replaced by the earlier one.
Random nodes are never merged (each one draws its own seed)."""
from .manager import register
from .rewrite import Replacer


def _key(p):
    if isinstance(p, (tuple, list)):
        return tuple(_key(x) for x in p)
    if isinstance(p, float):
        return ("f", repr(p))   # 0.0 and -0.0 differ, nan equals nan
    if isinstance(p, bool):
        return ("b", p)
    return p


@register("cse")
def cse(graph):
    r = Replacer()
    seen = {}
    kept = []
    for n in graph.nodes:
        r.rewire(n)
        if "seed" in n.prim.params:
            kept.append(n)
            continue
        key = (n.prim.name, tuple(id(v) for v in n.inputs),
               tuple(sorted((k, _key(p)) for k, p in n.params.items())))
        prev = seen.get(key)
        if prev is not None:
            r.replace(n.out, prev)
            continue
        seen[key] = n.out
        kept.append(n)
    graph.nodes = kept
    return r.finish(graph)
