"""The HTML report page: one self-contained file (inline CSS and SVG, no scripts, no links out).
Sections have ids (summary, explain, graph, stages, fusion, memory-plan, code, profile, memory)
so tests and readers can find them."""
from __future__ import annotations

import html

_CSS = """body{font-family:sans-serif;margin:2em;max-width:70em}
pre{background:#f6f8fa;padding:.8em;overflow-x:auto;font-size:90%}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;font-size:90%}
td.num{text-align:right}details{margin:.3em 0}summary{cursor:pointer}
.note{color:#555}"""


def _pre(text):
    return f"<pre>{html.escape(text)}</pre>"


def _section(sid, title, body):
    return f'<section id="{sid}"><h2>{html.escape(title)}</h2>\n{body}\n</section>'


def build_page(title, *, summary, stages, fusion_text, memory_plan_text, code, profile=None,
               timeline_svg=None, graph_svg=None, explain=None, notes=()):
    """The page as a string.  ``stages``: {stage name: IR text}; ``profile``: a
    line_profile.StatementTimes or None."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{_CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>"]
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in summary.items())
    note = "".join(f"<p class='note'>{html.escape(n)}</p>" for n in notes)
    parts.append(_section("summary", "Summary", f"<table>{rows}</table>{note}"))
    if explain:
        parts.append(_section("explain", "Variants and guards (explain())", _pre(explain)))
    parts.append(_section("graph", "The fused program as a graph",
                          graph_svg if graph_svg else "<p class='note'>no picture: install a "
                          "Graphviz renderer (pip install 'ember[viz]')</p>"))
    body = "".join(f"<details{' open' if i == len(stages) - 1 else ''}><summary>{html.escape(n)}"
                   f"</summary>{_pre(t)}</details>" for i, (n, t) in enumerate(stages.items()))
    parts.append(_section("stages", "The program at each stage", body))
    parts.append(_section("fusion", "Fusion plan and why pairs were not fused", _pre(fusion_text)))
    parts.append(_section("memory-plan", "Memory plan", _pre(memory_plan_text)))
    parts.append(_section("code", "Generated code", _pre(code or "(no generated code)")))
    parts.append(_section("profile", "Times from a profiled run", _profile_table(profile)))
    parts.append(_section("memory", "Memory timeline",
                          timeline_svg if timeline_svg else "<p class='note'>no plot: install "
                          "matplotlib (pip install 'ember[viz]')</p>"))
    parts.append("</body></html>")
    return "\n".join(parts)


def _profile_table(prof):
    if prof is None:
        return "<p class='note'>not profiled (give inputs to profile a run)</p>"
    head = (f"<p>one run: {1e3 * prof.total_seconds:.3f} ms in total (with tracing overhead), "
            f"allocation peak {prof.peak_bytes} bytes beyond the cached planned buffers</p>")
    rows = "".join(f"<tr><td class='num'>{ln}</td><td><code>{html.escape(text)}</code></td>"
                   f"<td class='num'>{1e6 * s:.1f}</td><td class='num'>{hits}</td></tr>"
                   for ln, text, s, hits in prof.rows())
    return (head + "<table><tr><th>line</th><th>statement (kernel call)</th><th>us</th>"
            f"<th>runs</th></tr>{rows}</table>")
