"""A networkx view of a graph for graph algorithms (cycles, reachability, DOT export).  The graph
itself stays the storage; this is rebuilt on demand.  networkx is imported on first use: it costs
~65 ms, which ember.compile's first call would otherwise pay (ember.ir is loaded then)."""
from __future__ import annotations

from .meta import format_type
from .printer import assign_names


def to_networkx(graph):
    """A DiGraph with one node per value (named as printed) and an edge from each node input to
    its output; node attributes: kind ('input', 'param', ..., or 'op'), op, type, source."""
    import networkx as nx
    names = assign_names(graph)
    g = nx.DiGraph(name=graph.name)
    for v in graph.inputs:
        g.add_node(names[v], kind=v.kind, op=None, type=format_type(v.meta), target=v.target)
    for n in graph.nodes:
        g.add_node(names[n.out], kind="op", op=n.prim.name, type=format_type(n.out.meta),
                   source=n.source)
        for i, v in enumerate(n.inputs):
            g.add_edge(names[v], names[n.out], index=i)
    for i, v in enumerate(graph.outputs):
        g.nodes[names[v]]["output"] = g.nodes[names[v]].get("output", []) + [i]
    return g


def _q(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph) -> str:
    """Graphviz DOT text of the graph (written from the networkx view; no pydot needed)."""
    g = to_networkx(graph)
    lines = [f"digraph {_q(graph.name)} {{", "  rankdir=TB;", '  node [fontname="monospace"];']
    for name, a in g.nodes(data=True):
        if a["kind"] == "op":
            label = f"{name} = {a['op']}\\n{a['type']}"
            style = "shape=box"
        else:
            label = f"{name}: {a['kind']}\\n{a['type']}"
            style = "shape=ellipse, style=filled, fillcolor=lightgrey"
        if a.get("output"):
            style += ", peripheries=2"
        lines.append(f"  {_q(name)} [label={_q(label).replace(chr(92) * 2 + 'n', chr(92) + 'n')}, "
                     f"{style}];")
    for u, v in g.edges():
        lines.append(f"  {_q(u)} -> {_q(v)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
