"""The reference interpreter: runs any graph with the registry's NumPy rules (the golden model).

Before running it binds the size symbols from the input arrays' shapes and checks every input's
rank, dtype and static sizes and every guard; a violation raises InputError naming the input and
the shape/dtype it must have.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..shapes import is_sym
from .meta import format_relation, format_type


class InputError(RuntimeError):
    """An input does not fit the program: wrong count, rank, dtype, size, or a broken guard."""


def _has_symbols(p):
    if isinstance(p, (tuple, list)):
        return any(_has_symbols(x) for x in p)
    return is_sym(p) and bool(p.free_symbols)


def _subs(p, env):
    if isinstance(p, (tuple, list)):
        return tuple(_subs(x, env) for x in p)
    if is_sym(p):
        return int(p.subs(env))
    return p


def bind_symbols(graph, arrays):
    """{symbol: int} from the inputs' shapes; checks ranks, dtypes, static sizes and guards."""
    if len(arrays) != len(graph.inputs):
        raise InputError(f"{graph.name} takes {len(graph.inputs)} inputs but got {len(arrays)}")
    env = {}
    for v, a in zip(graph.inputs, arrays):
        want = format_type(v.meta)
        what = f"{v.kind} {v.target or v.name!r}" if v.kind != "input" else f"input {v.name!r}"
        got = f"{dt.BY_NP[a.dtype].short if a.dtype in dt.BY_NP else a.dtype}" \
              f"[{','.join(map(str, a.shape))}]"
        if a.dtype != v.meta.dtype.np:
            raise InputError(f"{what} must have dtype {v.meta.dtype.name} ({want}), got {got}")
        if a.ndim != len(v.meta.shape):
            raise InputError(f"{what} must have rank {len(v.meta.shape)} ({want}), got {got}")
        for i, (d, n) in enumerate(zip(v.meta.shape, a.shape)):
            if isinstance(d, int):
                if d != n:
                    raise InputError(f"{what} must have size {d} at dim {i} ({want}), got {got}")
            elif d.is_Symbol:
                if d in env and env[d] != n:
                    raise InputError(f"{what} must have size {env[d]} at dim {i} (the size {d} "
                                     f"seen before; {want}), got {got}")
                env[d] = n
    for v, a in zip(graph.inputs, arrays):
        for i, (d, n) in enumerate(zip(v.meta.shape, a.shape)):
            if not isinstance(d, int) and not d.is_Symbol and int(d.subs(env)) != n:
                raise InputError(f"input {v.name!r} must have size {d} = {int(d.subs(env))} at "
                                 f"dim {i} ({format_type(v.meta)}), got {list(a.shape)}")
    for g in graph.guards:
        if not bool(g.subs(env)):
            sizes = ", ".join(f"{s}={n}" for s, n in sorted(env.items(), key=lambda kv: str(kv[0])))
            users = [f"{v.name!r} ({format_type(v.meta)})" for v in graph.inputs
                     if any(not isinstance(d, int) and d.free_symbols & g.free_symbols
                            for d in v.meta.shape)]
            raise InputError(f"the inputs break the guard `{format_relation(g)}` the program was "
                             f"traced under ({sizes}); inputs involved: {', '.join(users)}")
    return env


class Interpreter:
    """A graph prepared for repeated runs."""

    def __init__(self, graph):
        self.graph = graph
        index = {v: i for i, v in enumerate(graph.inputs)}
        self.steps = []
        self.random_steps = []
        for n in graph.nodes:
            index[n.out] = len(index)
            self.steps.append((n.prim.numpy, [index[v] for v in n.inputs], n.params,
                               _has_symbols(list(n.params.values())), n.prim.name))
            if "seed" in n.prim.params:
                self.random_steps.append(len(self.steps) - 1)
        self.out_index = [index[v] for v in graph.outputs]
        self.mut_index = [(t, index[v]) for t, v in graph.mutations.items()]

    def run(self, arrays, seeds=None, check=True):
        """arrays: one NumPy array per graph input.  seeds: a fresh seed per random node (in
        order), else the seeds recorded in the graph.  Returns (outputs, {input: new value})."""
        arrays = [np.asarray(a) for a in arrays]
        env = bind_symbols(self.graph, arrays) if check else {}
        vals = list(arrays)
        seed_of = dict(zip(self.random_steps, seeds)) if seeds is not None else {}
        for i, (fn, ins, params, symbolic, name) in enumerate(self.steps):
            if symbolic:
                params = {k: _subs(p, env) for k, p in params.items()}
            if i in seed_of:
                params = dict(params, seed=seed_of[i])
            out = fn(*[vals[j] for j in ins], **params)
            vals.append(out if isinstance(out, np.ndarray) else np.asarray(out))
        outs = [vals[j] for j in self.out_index]
        muts = {t: vals[j] for t, j in self.mut_index}
        return outs, muts


def interpret(graph, arrays, seeds=None):
    """Run `graph` on NumPy arrays (one per input, or {input name: array}); returns the outputs."""
    if isinstance(arrays, dict):
        arrays = [arrays[v.name] for v in graph.inputs]
    outs, _ = Interpreter(graph).run(arrays, seeds)
    return outs
