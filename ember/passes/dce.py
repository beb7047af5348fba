"""Dead code elimination: drop nodes whose values no output or mutation needs.  Random nodes are
kept only when used too (a dropped dropout mask does not consume a seed in the compiled program;
the compiled wrapper draws seeds for the random nodes that remain, in program order)."""
from .manager import register


@register("dce")
def dce(graph):
    return graph.prune()
