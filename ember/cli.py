"""The `ember` command line (also `python -m ember`).

    ember --version
    ember ir show FILE [--stage S] [--why] [--no-source]   the program's IR text at a stage
    ember ir show FILE --code triton        the generated Triton kernels and host wrapper
    ember ir stats FILE                     node counts per primitive, parameter bytes, inputs/outputs
    ember ir dot FILE [--stage S] [-o g.svg|g.png|g.pdf|g.dot]   the graph (fused kernels as
                                            clusters), rendered by Graphviz or graphviz-pure
    ember ir report FILE -o report.html     one HTML page: stages, fusion, memory, code, times
    ember ir verify FILE                    parse + verify; exit status 0 when well formed
    ember ir diff A B                       semantic diff of two programs
    ember ir run FILE --input NAME=PATH.npy ... [--out-dir DIR]

FILE is a saved program (.ember) or a bare IR text file.  Every command takes --json.  Errors go
to stderr with exit status 1 (2 for usage errors).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys


class CLIError(Exception):
    pass


def _load(path):
    """A Program from a .ember file, or (for IR text) a Program with no state."""
    from .jit.serialize import ProgramFormatError, load_program
    from .jit.program import Program
    if not os.path.exists(path):
        raise CLIError(f"{path}: no such file")
    import zipfile
    if zipfile.is_zipfile(path):
        try:
            return load_program(path)
        except ProgramFormatError as e:
            raise CLIError(str(e)) from None
    from .ir.meta import IRSyntaxError
    from .ir.parser import parse_graph
    try:
        with open(path, encoding="utf-8") as f:
            graph = parse_graph(f.read())
    except (IRSyntaxError, UnicodeDecodeError) as e:
        raise CLIError(f"{path}: {e}") from None
    return Program(graph, {})


def _emit(args, data, text):
    if args.json:
        print(json.dumps(data, indent=1, sort_keys=True, default=str))
    else:
        print(text, end="" if text.endswith("\n") else "\n")


def cmd_show(args):
    from .ir.printer import print_graph
    p = _load(args.file)
    if args.stage not in (None, "traced") or args.code == "numpy" or getattr(args, "why", False):
        return _show_stage(args, p)   # pass stages and NumPy code: run the pass pipeline
    if args.code == "triton":  # the generated kernels and host wrapper
        from .codegen.triton import source_for_graph
        text = source_for_graph(p.graph)
        _emit(args, {"file": args.file, "code": "triton", "source": text}, text)
        return
    text = print_graph(p.graph, source_lines=not args.no_source)
    _emit(args, {"file": args.file, "stage": "traced", "ir": text}, text)


def _check_stage(stage):
    from .passes.manager import STAGES
    if stage not in STAGES:
        raise CLIError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")


def _show_stage(args, p):
    """`--stage NAME` (a pass stage; `fused` with `--why` lists rejected pairs) or `--code numpy`."""
    from .passes.manager import run_pipeline
    from .report import format_memory_plan, strip_sources
    stage = args.stage or ("fused" if getattr(args, "why", False) else "planned")
    _check_stage(stage)
    res = run_pipeline(p.graph, keep_stages=True)
    if args.code == "numpy":
        from .codegen.numpy_backend import generate
        text = generate(res.graph)
        _emit(args, {"file": args.file, "code": "numpy", "source": text}, text)
        return
    if stage == "fused":
        from .codegen.cpu_kernels import runs_as
        from .passes.fusion import format_groups
        text = format_groups(res.graph, why=getattr(args, "why", False), runs_as=runs_as)
    elif stage == "planned":
        text = format_memory_plan(res.graph)
    else:
        text = res.stages[stage]
    if args.no_source:
        text = strip_sources(text)
    _emit(args, {"file": args.file, "stage": stage, "ir": text,
                 "timings_ms": {k: 1e3 * t for k, t in res.timings.items()}}, text)


def _memory_stats(p):
    from .passes.manager import run_pipeline
    res = run_pipeline(p.graph)
    plan, fusion = res.memory_plan, res.fusion
    out = plan.summary()
    out["kernels"] = len(fusion.kernels)
    out["fused_kernels"] = sum(1 for g in fusion.kernels if len(g.nodes) > 1)
    out["optimized_nodes"] = len(res.graph.nodes)
    return out


def _stats(p):
    from .ir.meta import format_type
    g = p.graph
    counts = collections.Counter(n.prim.name for n in g.nodes)
    state = {k: int(t._data.nbytes) for k, t in p.state.items()}
    by_kind = collections.Counter()
    for v in g.inputs:
        if v.kind != "input":
            key = v.target if v.kind in ("param", "buffer") else v.name
            if key in state:
                by_kind[v.kind] += state[key]
    return {
        "name": g.name,
        "nodes": len(g.nodes),
        "primitives": dict(sorted(counts.items())),
        "inputs": [{"name": v.name, "type": format_type(v.meta)} for v in g.inputs
                   if v.kind == "input"],
        "outputs": [format_type(v.meta) for v in g.outputs],
        "state_tensors": {k: sum(1 for v in g.inputs if v.kind == k) for k in
                          ("param", "buffer", "const")},
        "parameter_bytes": by_kind["param"],
        "buffer_bytes": by_kind["buffer"],
        "constant_bytes": by_kind["const"],
        "parameters": sum(int(p.state[v.target]._data.size) for v in g.inputs
                          if v.kind == "param" and v.target in p.state),
        "mutations": [v.target or v.name for v in g.mutations],
        "guards": [str(r) for r in g.guards],
    }


def cmd_stats(args):
    s = _stats(_load(args.file))
    lines = [f"program {s['name']}: {s['nodes']} nodes"]
    lines.append("inputs:  " + ", ".join(f"{i['name']}: {i['type']}" for i in s["inputs"]))
    lines.append("outputs: " + ", ".join(s["outputs"]))
    lines.append(f"parameters: {s['parameters']} ({s['parameter_bytes']} bytes), buffer bytes: "
                 f"{s['buffer_bytes']}, constant bytes: {s['constant_bytes']}")
    if s["guards"]:
        lines.append("guards: " + ", ".join(s["guards"]))
    if s["mutations"]:
        lines.append("writes back: " + ", ".join(s["mutations"]))
    try:
        m = s["memory_plan"] = _memory_stats(_load(args.file))
        lines.append(f"compiled: {m['optimized_nodes']} nodes after passes, {m['kernels']} kernels "
                     f"({m['fused_kernels']} fused); memory plan: {m['buffers']} buffers, planned "
                     f"peak {m['planned_bytes']} bytes vs unplanned {m['naive_bytes']} bytes "
                     f"(live lower bound {m['live_peak_bytes']}), {m['inplace_updates']} in-place "
                     f"updates")
    except Exception as e:   # stats still print for graphs the passes cannot take
        lines.append(f"compiled: passes failed ({e})")
    lines.append("nodes per primitive:")
    for k, n in sorted(s["primitives"].items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {k:<14} {n}")
    _emit(args, s, "\n".join(lines))


def cmd_dot(args):
    from .report import FORMATS, RenderError, build_dot, render
    stage = args.stage or "traced"
    _check_stage(stage)
    fmt = args.format
    if fmt is None and args.output:
        fmt = os.path.splitext(args.output)[1].lstrip(".").lower() or "dot"
    fmt = fmt or "dot"
    if fmt not in FORMATS:
        raise CLIError(f"cannot write {fmt!r}: -o takes a .svg, .png, .pdf or .dot file "
                       f"(or give --format)")
    graph, fusion = _graph_at(_load(args.file).graph, stage)
    try:
        text = build_dot(graph, fusion).source
        data = text.encode() if fmt == "dot" else render(text, fmt)
    except RenderError as e:
        raise CLIError(str(e)) from None
    if args.output:
        with open(args.output, "wb") as f:
            f.write(data)
        _emit(args, {"file": args.file, "output": args.output, "format": fmt, "stage": stage},
              f"wrote {args.output} ({fmt}, stage {stage})")
    elif fmt == "dot":
        _emit(args, {"file": args.file, "dot": text, "stage": stage}, text)
    else:
        raise CLIError(f"{fmt} is binary: give -o FILE.{fmt}")


def _graph_at(graph, stage):
    """The graph after the passes up to ``stage`` and, from the fused stage on, its fusion plan."""
    from .passes.manager import PIPELINE, STAGES, run_pipeline
    if stage == "traced":
        return graph, None
    k = STAGES.index(stage)            # STAGES = ("traced",) + one per pass of PIPELINE
    res = run_pipeline(graph, passes=PIPELINE[:k])
    return res.graph, res.fusion


def cmd_report(args):
    from .report import report_program
    inputs = _inputs(args.input)
    p = _load(args.file)
    unknown = [n for n in inputs if n not in p.input_names]
    if unknown:
        raise CLIError(f"the program takes inputs {', '.join(p.input_names) or '(none)'}; "
                       f"unknown: {', '.join(unknown)}")
    path = report_program(p, args.output, inputs)
    _emit(args, {"file": args.file, "output": path}, f"wrote {path}")


def _inputs(items):
    """{name: array} from --input NAME=PATH.npy arguments."""
    import numpy as np
    out = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep:
            raise CLIError(f"--input takes NAME=PATH.npy, got {item!r}")
        try:
            out[name] = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CLIError(f"cannot read {path}: {e}") from None
    return out


def cmd_verify(args):
    from .ir.verify import VerifyError, verify
    p = _load(args.file)
    try:
        verify(p.graph)
    except VerifyError as e:
        raise CLIError(f"{args.file}: {e}") from None
    _emit(args, {"file": args.file, "ok": True, "nodes": len(p.graph.nodes)},
          f"{args.file}: ok ({len(p.graph.nodes)} nodes)")


def cmd_diff(args):
    from .ir.diff import diff_programs
    d = diff_programs(_load(args.a), _load(args.b))
    if d["same"]:
        text = "the programs are the same"
    else:
        lines = []
        for k in ("inputs_added", "inputs_removed", "guards_added", "guards_removed"):
            if d[k]:
                lines.append(f"{k.replace('_', ' ')}: {', '.join(d[k])}")
        for k, v in d["inputs_changed"].items():
            lines.append(f"input {k}: {v['a']} -> {v['b']}")
        if d["outputs"]:
            lines.append(f"outputs: {d['outputs']['a']} -> {d['outputs']['b']}")
        for k, (x, y) in d["primitive_counts"].items():
            lines.append(f"{k}: {x} -> {y} nodes")
        for k, v in d["state"].items():
            lines.append(f"state {k}: {v}")
        lines.extend(d["text_diff"])
        text = "\n".join(lines)
    _emit(args, d, text)
    return 0 if d["same"] else 1


def cmd_run(args):
    import numpy as np
    from .frontend import dispatch
    from .ir.interpret import InputError
    from .frontend.trace import flatten
    p = _load(args.file)
    given = _inputs(args.input)
    names = p.input_names
    missing = [n for n in names if n not in given]
    unknown = [n for n in given if n not in names]
    if missing or unknown:
        raise CLIError(f"the program takes inputs {', '.join(names) or '(none)'}"
                       + (f"; missing: {', '.join(missing)}" if missing else "")
                       + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    try:
        result = p(*[dispatch._new(given[n]) for n in names])
    except InputError as e:
        raise CLIError(str(e)) from None
    leaves, _ = flatten(result)
    os.makedirs(args.out_dir, exist_ok=True)
    written = []
    for i, t in enumerate(leaves):
        path = os.path.join(args.out_dir, f"output{i}.npy")
        np.save(path, t._data)
        written.append({"path": path, "shape": list(t._data.shape), "dtype": str(t._data.dtype)})
    _emit(args, {"outputs": written},
          "\n".join(f"{w['path']}: {w['dtype']}{w['shape']}" for w in written))


_EXAMPLES = {
    "show": """examples:
  ember ir show step.ember                      the traced program with source lines
  ember ir show step.ember --stage cse --no-source
  ember ir show step.ember --stage fused --why  kernels, and every pair not fused with the reason
  ember ir show step.ember --stage planned      the memory plan: buffers, assignment, peak
  ember ir show step.ember --code numpy         the generated NumPy module""",
    "stats": "example:\n  ember ir stats step.ember --json",
    "dot": """examples:
  ember ir dot step.ember --stage fused -o step.svg   fused kernels drawn as clusters
  ember ir dot step.ember -o step.png                 (.svg .png .pdf render; .dot is the text)
  ember ir dot step.ember | less                      DOT text on stdout""",
    "report": """example:
  ember ir report step.ember -o report.html --input x=x.npy
  (inputs not given are made up at the traced sizes)""",
    "verify": "example:\n  ember ir verify step.ember && echo well formed",
    "diff": "example:\n  ember ir diff before.ember after.ember",
    "run": "example:\n  ember ir run step.ember --input x=x.npy --out-dir out/",
}


def build_parser():
    from . import __version__
    parser = argparse.ArgumentParser(
        prog="ember", description="ember command line tools",
        epilog="example:\n  ember ir show step.ember --stage fused --why",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ember {__version__}")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    top.required = True
    ir = top.add_parser("ir", help="inspect, check and run saved programs (.ember files)",
                        description="inspect, check and run saved programs",
                        epilog="example:\n  ember ir show step.ember --stage planned",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ir.add_subparsers(dest="ir_command", metavar="SUBCOMMAND")
    sub.required = True

    def add(name, fn, help_, files=("file",)):
        p = sub.add_parser(name, help=help_, description=help_, epilog=_EXAMPLES[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        for f in files:
            p.add_argument(f, help="a saved program (.ember) or an IR text file")
        p.add_argument("--json", action="store_true", help="machine-readable JSON output")
        p.set_defaults(fn=fn)
        return p

    stages = "traced (saved), functional, decomposed, canonical, cse, dce, fused, planned"
    p = add("show", cmd_show, "print the program's IR")
    p.add_argument("--stage", default=None, help=f"which stage to show: {stages} (fused: the "
                   "kernels; planned: the memory plan)")
    p.add_argument("--no-source", action="store_true", help="omit the source-line comments")
    p.add_argument("--code", choices=["triton", "numpy"], default=None,
                   help="print the generated code instead of the IR (triton: kernels + wrapper; "
                        "numpy: the generated NumPy module)")
    p.add_argument("--why", action="store_true",
                   help="with --stage fused: every pair of nodes not fused, with the reason")
    add("stats", cmd_stats, "node counts per primitive, parameter bytes, inputs and outputs")
    p = add("dot", cmd_dot, "draw the graph (Graphviz): fused kernels as clusters, nodes with "
                            "their source lines")
    p.add_argument("--stage", default=None, help=f"the graph after which stage: {stages}")
    p.add_argument("-o", "--output", help="write to this file; its suffix picks the format")
    p.add_argument("--format", choices=["svg", "png", "pdf", "dot"], default=None,
                   help="the output format (default: from -o's suffix, else DOT text)")
    p = add("report", cmd_report, "write one HTML page: the program at each stage, fusion plan "
                                  "with reasons, memory plan and timeline, code, profiled times")
    p.add_argument("-o", "--output", default="report.html", help="the HTML file to write")
    p.add_argument("--input", action="append", default=[], metavar="NAME=PATH.npy",
                   help="an input array to profile with (repeat; missing inputs are made up)")
    add("verify", cmd_verify, "parse and verify the program (exit status 0 when well formed)")
    add("diff", cmd_diff, "a semantic diff of two programs (exit status 1 when they differ)",
        files=("a", "b"))
    p = add("run", cmd_run, "run the program on .npy inputs and write its outputs as .npy")
    p.add_argument("--input", action="append", default=[], metavar="NAME=PATH.npy",
                   help="an input array (repeat for each input)")
    p.add_argument("--out-dir", default=".", help="where to write output0.npy, output1.npy, ...")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        rc = args.fn(args)
    except CLIError as e:
        print(f"ember: error: {e}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
