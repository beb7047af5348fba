"""Seeing what the compiler did: the HTML report (``ember ir report``, ``fn.report(path)``), the
program as a picture (``ember ir dot``) and the text views behind both.  Sits at the top layer
with the CLI and ``ember.compile``.

``report_program(program, path, inputs=None)``: a saved/traced Program; ``report_compiled(fn,
path, args, kwargs)``: a variant of an ``ember.compile``d function.  Each writes one HTML file
with the program at each stage, the fusion plan with its reasons, the memory plan, the generated
code, per-statement times of a profiled run and the memory timeline (matplotlib SVG)."""
from __future__ import annotations

import numpy as np

from .graph_dot import FORMATS, RenderError, build_dot, find_renderer, render  # noqa: F401
from .plan_text import format_memory_plan, live_bytes, strip_sources  # noqa: F401

__all__ = ["report_program", "report_compiled", "analyze", "build_dot", "render", "RenderError",
           "format_memory_plan", "strip_sources"]


def analyze(graph):
    """Run the pass pipeline on ``graph`` keeping every stage (PipelineResult)."""
    from ..passes.manager import run_pipeline
    return run_pipeline(graph, keep_stages=True)


def _sections(res, code, prof, title):
    from ..passes.fusion import format_groups
    from .timeline import memory_timeline_svg
    g = res.graph
    plan = g.memory_plan
    live, naive = live_bytes(g)
    measured = [b for _, b in prof.memory] if prof is not None else None
    svg = memory_timeline_svg(live, naive, plan.planned_bytes, measured,
                              prof.peak_bytes if prof is not None else None, title=title)
    graph_svg = None
    if find_renderer() is not None:
        try:
            raw = render(build_dot(g, g.fusion).source, "svg").decode()
            graph_svg = raw[raw.index("<svg"):]
        except (RenderError, ValueError):
            graph_svg = None
    stages = dict(res.stages)
    stages.pop("fused", None)          # shown in its own section
    stages["planned"] = format_memory_plan(g)
    return dict(stages=stages, fusion_text=format_groups(g, why=True),
                memory_plan_text=format_memory_plan(g), code=code, profile=prof,
                timeline_svg=svg, graph_svg=graph_svg)


def _summary(res, extra=None):
    s = res.memory_plan.summary()
    out = {"nodes (traced -> optimized)": f"{res.nodes.get('traced')} -> {len(res.graph.nodes)}",
           "kernels (fused)": f"{len(res.fusion.kernels)} "
                              f"({sum(1 for k in res.fusion.kernels if len(k.nodes) > 1)})",
           "planned bytes": s["planned_bytes"], "unplanned bytes": s["naive_bytes"],
           "live lower bound (bytes)": s["live_peak_bytes"],
           "pass times (ms)": ", ".join(f"{k} {1e3 * t:.2f}" for k, t in res.timings.items())}
    out.update(extra or {})
    return out


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def example_inputs(graph):
    """Arrays for the graph's call inputs at the traced sizes: normal floats, zero integers and
    bools (valid class indices), so a report can profile a program without the user's data."""
    rng = np.random.default_rng(0)
    out = []
    for v in graph.inputs:
        if v.kind != "input":
            continue
        shape = tuple(int(d) if isinstance(d, int) else int(d.subs(
            {s: graph.hints.get(s.name, 2) for s in d.free_symbols})) for d in v.meta.shape)
        dt = v.meta.dtype
        out.append(rng.standard_normal(shape).astype(dt.np) if dt.is_floating_point
                   else np.zeros(shape, dt.np))
    return out


def report_program(program, path, inputs=None):
    """The HTML report of a Program (``inputs``: {name: array}; missing ones are made up by
    example_inputs).  The run works on copies of the state: the program's tensors are not
    changed."""
    from ..codegen.numpy_backend import CompiledModule, generate
    from ..ir.parser import parse_graph
    from ..ir.printer import print_graph
    from ..profiler.statements import profile_statements
    from .page import build_page
    graph = parse_graph(print_graph(program.graph))    # the passes change the graph they get
    graph.hints = dict(program.graph.hints)
    res = analyze(graph)
    src = generate(res.graph)
    filename = f"<ember report {program.graph.name}>"
    module = CompiledModule(src, filename=filename)
    made = iter(example_inputs(res.graph))
    arrays = []
    given = dict(inputs or {})
    for v in res.graph.inputs:
        if v.kind == "input":
            a = given.get(v.name)
            arrays.append(np.array(a) if a is not None else next(made))
        else:
            arrays.append(np.array(program.state[program._state_key(v)]._data, copy=True))
    seeds = list(range(1, module.n_seeds + 1))
    module.run(arrays, seeds)           # warm: buffers allocated, lazy imports done
    with profile_statements(filename, src) as prof:
        module.run(arrays, seeds)
    notes = [] if inputs else ["profiled on made-up inputs at the traced sizes (pass --input "
                               "NAME=PATH.npy for your own)"]
    page = build_page(f"ember report: {program.graph.name}", summary=_summary(res), notes=notes,
                      **_sections(res, src, prof, f"memory of {program.graph.name}"))
    return _write(path, page)


def report_compiled(cf, path, args=(), kwargs=None):
    """The HTML report of a compiled function's variant: the one ``args`` select (called on them
    under the statement tracer, after one call that compiles it when it does not exist yet: a
    training step takes one or two steps), else the last one, unprofiled."""
    from ..ir.parser import parse_graph
    from ..profiler.statements import profile_statements
    from .page import build_page
    kwargs = kwargs or {}
    prof = None
    if args or kwargs:
        index = cf.variant_index(args, kwargs)
        if index is None:
            cf(*args, **kwargs)         # compiles the variant for these arguments
            index = cf.variant_index(args, kwargs)
            if index is None:
                raise RuntimeError(f"ember.compile: no variant of {cf.__name__} fits these "
                                   f"arguments (it runs eagerly for them: see explain())")
        v = cf.variants[index]
        mod = v.module
        call = getattr(mod, "call", None)
        if call is not None and v.graph is not None:
            filename = call.__code__.co_filename
            with profile_statements(filename, v.source_code or "") as prof:
                cf(*args, **kwargs)
    else:
        index = len(cf.variants) - 1
        if index < 0:
            raise RuntimeError(f"ember.compile: {cf.__name__} has no compiled variant yet: call "
                               f"it, or pass arguments to report()")
    v = cf.variants[index]
    text = getattr(v, "traced_text", None)
    if v.graph is None or text is None:
        raise RuntimeError(f"ember.compile: variant {index} of {cf.__name__} has no single "
                           f"NumPy-backend program to report (see explain():\n{cf.explain()})")
    graph = parse_graph(text)
    graph.hints = dict(v.graph.hints)
    res = analyze(graph)
    name = f"{cf.__name__} variant {index}"
    page = build_page(f"ember report: {name}", summary=_summary(res, {"variant": index}),
                      explain=cf.explain(), notes=["traced stage printed without source lines"],
                      **_sections(res, cf.code(index), prof, f"memory of {name}"))
    return _write(path, page)
