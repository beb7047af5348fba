"""A program as a picture: Graphviz DOT built with the ``graphviz`` package (fused groups as
clusters labelled with their kernel, nodes with the user's file:line) and rendered by a ``dot``
command: the system Graphviz when installed, else ``graphviz-pure`` (a pip wheel with the same
command line).  ``pip install 'ember[viz]'`` installs both Python-side pieces."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

FORMATS = ("svg", "png", "pdf", "dot")
_KERNEL_COLORS = ("#dbe9f6", "#fde2c8", "#d9f0d3", "#eadcf0", "#fbe3e3", "#f5f0c8")


class RenderError(RuntimeError):
    """No renderer, no graphviz package, or the renderer failed (the message says which)."""


def _graphviz():
    try:
        import graphviz
    except ImportError:
        raise RenderError("drawing graphs needs the graphviz Python package: pip install "
                          "'ember[viz]' (or pip install graphviz graphviz-pure)") from None
    return graphviz


def build_dot(graph, fusion=None):
    """``graphviz.Digraph`` of ``graph``: inputs as grey ellipses, nodes as boxes labelled
    ``name = primitive / type / file:line``; with a fusion plan, each kernel of more than one
    node is a cluster labelled ``kernel K: kind [shape]`` (K as in ``ember ir show --why``)."""
    from ..ir.meta import format_type
    from ..ir.printer import assign_names
    gv = _graphviz()
    names = assign_names(graph)
    dot = gv.Digraph(graph.name or "program", graph_attr={"rankdir": "TB"},
                     node_attr={"fontname": "monospace", "fontsize": "10"})
    outputs = set(graph.outputs)

    def node(g, v):
        n = v.node
        lines = [f"{names[v]} = {n.prim.name}", format_type(v.meta)]
        if n.source:
            lines.append(os.path.basename(str(n.source)))
        g.node(names[v], label="\\n".join(lines), shape="box",
               peripheries="2" if v in outputs else "1")

    for v in graph.inputs:
        what = v.kind if v.kind == "input" else f"{v.kind} {v.target or ''}".strip()
        dot.node(names[v], label=f"{names[v]}: {what}\\n{format_type(v.meta)}", shape="ellipse",
                 style="filled", fillcolor="lightgrey")
    placed = set()
    if fusion is not None:
        for k, grp in enumerate(fusion.kernels):
            if len(grp.nodes) < 2:
                continue
            with dot.subgraph(name=f"cluster_{k}") as c:
                shape = "[" + ",".join(str(d) for d in grp.shape) + "]"
                c.attr(label=f"kernel {k}: {grp.kind} {shape}", style="rounded,filled",
                       fillcolor=_KERNEL_COLORS[k % len(_KERNEL_COLORS)], fontname="monospace")
                for n in grp.nodes:
                    node(c, n.out)
                    placed.add(n)
    for n in graph.nodes:
        if n not in placed:
            node(dot, n.out)
    for n in graph.nodes:
        for v in n.inputs:
            dot.edge(names[v], names[n.out])
    return dot


def find_renderer():
    """The ``dot`` command to render with: the system Graphviz, else graphviz-pure (on PATH or
    beside this Python), else None."""
    found = shutil.which("dot")
    if found:
        return found
    found = shutil.which("graphviz-pure")
    if found:
        return found
    beside = os.path.join(os.path.dirname(sys.executable), "graphviz-pure")
    return beside if os.access(beside, os.X_OK) else None


def render(dot_source, fmt):
    """The rendered bytes of DOT text in ``fmt`` (svg, png or pdf)."""
    if fmt not in FORMATS or fmt == "dot":
        raise RenderError(f"cannot render {fmt!r}: formats are svg, png, pdf (and dot for the text)")
    exe = find_renderer()
    if exe is None:
        raise RenderError("no Graphviz renderer found: pip install graphviz-pure (a dot command "
                          "as a wheel; also in 'ember[viz]') or install Graphviz; or write the DOT "
                          "text with -o FILE.dot")
    # graphviz-pure has no PDF writer: render PNG and wrap it in a PDF page (Pillow)
    pure = os.path.basename(exe).startswith("graphviz-pure")
    data = _run(exe, "png" if fmt == "pdf" and pure else fmt, dot_source)
    if fmt == "pdf" and pure:
        data = _png_to_pdf(data)
    return data


def _run(exe, fmt, source):
    try:
        r = subprocess.run([exe, f"-T{fmt}"], input=source.encode(), capture_output=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{exe} took over 120 s to lay out the graph") from None
    if r.returncode != 0:
        raise RenderError(f"{exe} -T{fmt} failed: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout


def _png_to_pdf(png):
    try:
        from PIL import Image
    except ImportError:
        raise RenderError("PDF output with graphviz-pure needs Pillow (pip install pillow) or the "
                          "system Graphviz") from None
    import io
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, format="PDF", resolution=96.0)
    return out.getvalue()
