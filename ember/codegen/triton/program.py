"""TritonProgram: a graph compiled to Triton, specialized per input shapes, strides and dtypes.

Sizes and strides are compile-time constants in the kernels (so index expressions fold), so a
program keeps one compiled module per input signature.  The module source is written to the
on-disk cache (``cache.py``) and imported from there; an index keyed by the graph text and the
input signature lets a second process skip scheduling and code generation entirely.
"""
from __future__ import annotations

import numpy as np
import sympy

from ...ir.graph import Graph
from ...ir.interpret import bind_symbols
from ...ir.printer import print_graph
from ...runtime import triton_interop as _interop
from . import cache
from .indexing import Layout

def _codegen_version():
    """A digest of this package's source: a changed code generator never reuses old modules."""
    import hashlib
    import os
    h = hashlib.sha256()
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.endswith(".py"):
            with open(os.path.join(here, name), "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:16]


CODEGEN_VERSION = _codegen_version()


def _subs(p, env):
    if isinstance(p, (tuple, list)):
        return type(p)(_subs(x, env) for x in p) if isinstance(p, tuple) else [_subs(x, env)
                                                                               for x in p]
    if isinstance(p, sympy.Basic):
        return int(p.subs(env))
    return p


def concretize(graph, env):
    """A copy of ``graph`` with every size symbol replaced by its value in ``env``."""
    from ...ops.registry import Meta
    g = Graph(graph.name)
    vmap = {}
    for v in graph.inputs:
        meta = Meta(tuple(_subs(d, env) for d in v.meta.shape), v.meta.dtype)
        vmap[v] = g.add_input(meta, v.name, v.kind, v.target)
    for n in graph.nodes:
        meta = Meta(tuple(_subs(d, env) for d in n.out.meta.shape), n.out.meta.dtype)
        params = {k: _subs(p, env) for k, p in n.params.items()}
        vmap[n.out] = g.add_node(n.prim, [vmap[v] for v in n.inputs], params, meta, n.source)
    g.outputs = [vmap[v] for v in graph.outputs]
    g.mutations = {vmap[k]: vmap[v] for k, v in graph.mutations.items()}
    return g


def input_layout(a):
    item = max(a.itemsize, 1)
    return Layout(tuple(a.shape), tuple(s // item for s in a.strides), 0)


def on_device(arrays):
    """Are these CUDA DeviceArrays (rather than NumPy arrays)?"""
    return bool(arrays) and getattr(arrays[0], "device_type", None) == "cuda"


class Compiled:
    """One generated module.  On NumPy arrays each call allocates its buffers; on CUDA device
    arrays the intermediates live in one arena per device, allocated from the caching allocator
    at the first call and reused by every later call (``arenas``)."""

    def __init__(self, graph, module, source, writer=None):
        self.graph = graph
        self.module = module
        self.source = source
        self.writer = writer
        self.random_nodes = [i for i, n in enumerate(graph.nodes) if "seed" in n.prim.params]
        self.arena_bytes = getattr(module, "ARENA_BYTES", 0)
        self.arenas = {}

    @property
    def kernel_names(self):
        return [name for name in dir(self.module) if name[:1] == "k" and name[1:2].isdigit()]

    def __call__(self, arrays, seeds=None, device=None):
        seeds = dict(zip(self.random_nodes, seeds)) if seeds else None
        if device is None and not on_device(arrays):
            return self.module.call(list(arrays), _interop.HostOps(self.graph, seeds))
        from ...runtime import gpu_buffers
        device = arrays[0].device if arrays else device
        gpu_buffers.bind_device(device)
        return self.module.call(list(arrays), gpu_buffers.DeviceHostOps(self.graph, seeds),
                                gpu_buffers, self.arena(device))

    def arena(self, device):
        """This program's intermediate buffers on ``device``: one allocation, made once."""
        if not self.arena_bytes:
            return None
        got = self.arenas.get(device)
        from ...runtime import cuda
        if got is None or got[0] is not cuda._active:   # none yet, or another runtime's (tests)
            got = self.arenas[device] = (
                cuda._active, cuda.DeviceArray.empty((self.arena_bytes,), np.uint8, device))
        return got[1]


class TritonProgram:
    """``TritonProgram(graph).run(arrays)`` -> (outputs, {input value: new value})."""

    def __init__(self, graph, options=None):
        self.graph = graph
        self.options = dict(options or {})
        self.text = print_graph(graph)
        self.compiled = {}

    def signature(self, arrays):
        return tuple((a.dtype.str, a.shape, tuple(s // max(a.itemsize, 1) for s in a.strides))
                     for a in arrays)

    def specialize(self, arrays):
        if not on_device(arrays):
            arrays = [np.asarray(a) for a in arrays]
        key = self.signature(arrays)
        got = self.compiled.get(key)
        if got is None:
            got = self.compiled[key] = self._compile(arrays, key)
        return got

    def _concrete(self, arrays):
        graph = concretize(self.graph, bind_symbols(self.graph, arrays))
        shapes = {v: tuple(v.meta.shape) for v in graph.inputs}
        for n in graph.nodes:
            shapes[n.out] = tuple(n.out.meta.shape)
        return graph, shapes

    def explain(self, arrays):
        """The kernel groups for these inputs and why neighbouring nodes were not fused (runs the
        scheduler and code generator again, bypassing the cache)."""
        from .codegen import generate
        arrays = [np.asarray(a) for a in arrays]
        graph, shapes = self._concrete(arrays)
        _, writer = generate(graph, shapes, [input_layout(a) for a in arrays], self.options)
        lines = []
        for g in writer.sched.groups:
            outs = ", ".join(writer.names[v] for v in g.outputs)
            lines.append(f"group {g.id} {g.kind} {list(g.shape)}"
                         f"{' dims=' + str(g.dims) if g.kind == 'reduction' else ''}: "
                         f"{g.describe()} -> {outs or '(nothing stored)'}")
        lines += writer.sched.notes
        return "\n".join(lines)

    def _compile(self, arrays, key):
        graph, shapes = self._concrete(arrays)
        index_key = cache.digest(CODEGEN_VERSION, self.text, repr(key),
                                 repr(sorted(self.options.items())))
        path = cache.lookup(index_key)
        writer = None
        if path is None:
            from .codegen import generate
            source, writer = generate(graph, shapes, [input_layout(a) for a in arrays],
                                      self.options)
            path = cache.store(index_key, source)
        module, source = cache.load_module(path)
        return Compiled(graph, module, source, writer)

    def source(self, arrays):
        return self.specialize(arrays).source

    def run(self, arrays, seeds=None):
        """(outputs, {input value: new value}) for NumPy arrays, or for CUDA DeviceArrays (then
        outputs are fresh device arrays and the new values of mutated inputs are views of the
        program's arena, valid until its next run: copy them into the inputs at once)."""
        if not on_device(arrays):
            arrays = [np.asarray(a) for a in arrays]
        compiled = self.specialize(arrays)
        results = compiled(arrays, seeds)
        nout = len(self.graph.outputs)
        outs = list(results[:nout])
        muts = dict(zip(self.graph.mutations.keys(), results[nout:]))
        return outs, muts
