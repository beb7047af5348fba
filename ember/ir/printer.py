"""The printed form of a graph: valid Python with typed binders, deterministic, and the saved format.

    def forward(x: "f32[s0,784]", fc1_weight: param("f32[256,784]", "fc1.weight")):
        assert s0 >= 2
        t0: "f32[784,256]" = permute(fc1_weight, dims=(1, 0))  # model.py:12
        t1: "f32[s0,256]" = matmul(x, t0)  # model.py:12
        return (t1,)

Graph inputs are the function's arguments (state inputs annotated ``param(...)``, ``buffer(...)``
or ``const(...)``), guards are ``assert`` lines, in-place writes to inputs are ``name.copy_(value)``
lines, node params are sorted keyword arguments, and values are renamed t0, t1, ... in order, so
equal graphs print equal text.
"""
from __future__ import annotations

import keyword
import math
import re

from .. import dtypes as dt
from ..shapes import is_sym
from .meta import format_dim, format_relation, format_type


RESERVED = frozenset({d.short for d in dt.ALL} | {"param", "buffer", "const", "float"})
_SYMBOL_NAME = re.compile(r"s\d+$")


def py_name(name):
    """`name` as a Python identifier that cannot clash with dtypes, annotations or size symbols."""
    base = re.sub(r"\W", "_", name or "v")
    if not base or base[0].isdigit() or keyword.iskeyword(base):
        base = "_" + base
    if base in RESERVED or _SYMBOL_NAME.match(base):
        base += "_"
    return base


def _identifier(name, taken):
    base = py_name(name)
    out, i = base, 1
    while out in taken:
        out = f"{base}_{i}"
        i += 1
    taken.add(out)
    return out


def format_param(v) -> str:
    if isinstance(v, bool) or v is None:
        return repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "float('nan')"
        if math.isinf(v):
            return "float('inf')" if v > 0 else "float('-inf')"
        return repr(v)
    if isinstance(v, dt.dtype):
        return v.short
    if is_sym(v):
        return format_dim(v)
    if isinstance(v, (tuple, list)):
        inner = ", ".join(format_param(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if isinstance(v, str):
        return repr(v)
    raise TypeError(f"cannot print a node param of type {type(v).__name__}: {v!r}")


def assign_names(graph):
    """value -> printed name: inputs keep their (sanitized, unique) names, nodes are t0, t1, ..."""
    taken = set(RESERVED) | {s.name for s in graph.symbols}
    names = {}
    for v in graph.inputs:
        names[v] = _identifier(v.name, taken)
    i = 0
    for n in graph.nodes:
        while f"t{i}" in taken:
            i += 1
        names[n.out] = f"t{i}"
        taken.add(f"t{i}")
        i += 1
    return names


def print_graph(graph, source_lines=True) -> str:
    names = assign_names(graph)
    args = []
    for v in graph.inputs:
        t = format_type(v.meta)
        if v.kind == "input":
            args.append(f'{names[v]}: "{t}"')
        elif v.kind in ("param", "buffer"):
            args.append(f'{names[v]}: {v.kind}("{t}", {v.target!r})')
        else:
            args.append(f'{names[v]}: const("{t}")')
    lines = [f"def {_identifier(graph.name, set())}({', '.join(args)}):"]
    for g in graph.guards:
        lines.append(f"    assert {format_relation(g)}")
    for n in graph.nodes:
        operands = [names[v] for v in n.inputs]
        operands += [f"{k}={format_param(n.params[k])}" for k in sorted(n.params)]
        line = f'    {names[n.out]}: "{format_type(n.out.meta)}" = {n.prim.name}({", ".join(operands)})'
        if source_lines and n.source:
            line += f"  # {n.source}"
        lines.append(line)
    for target, value in graph.mutations.items():
        lines.append(f"    {names[target]}.copy_({names[value]})")
    outs = ", ".join(names[v] for v in graph.outputs)
    lines.append(f"    return ({outs},)" if len(graph.outputs) == 1 else f"    return ({outs})")
    return "\n".join(lines) + "\n"
