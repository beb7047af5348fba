"""The ``ember.compile(..., backend="triton")`` hook: a traced graph run through TritonProgram,
with the same ``run(arrays, seeds)`` contract as the compile frontend's other modules (in-place
writes into inputs are copied back; user outputs and extra outputs are returned in order)."""
from __future__ import annotations

import numpy as np

from .program import TritonProgram, on_device


# issue 6's graph-level passes; their fusion and memory planning are this backend's own
SIMPLIFY = ("functionalize", "decompose", "canonicalize", "cse", "dce")


def simplify(graph):
    from ...passes import run_pipeline
    return run_pipeline(graph, passes=SIMPLIFY).graph


class TritonModule:
    def __init__(self, graph, options=None):
        graph = simplify(graph)
        self.program = TritonProgram(graph, options)
        self.graph = graph
        self.n_seeds = sum(1 for n in graph.nodes if "seed" in n.prim.params)

    @property
    def source_code(self):
        return None if not self.program.compiled else \
            next(iter(self.program.compiled.values())).source

    def run(self, arrays, seeds=()):
        """Outputs of one call; mutated inputs are written in place.  On CUDA device arrays the
        new values of mutated inputs are views of the program's arena: they are copied into the
        inputs here, before the next call can reuse the arena."""
        outs, muts = self.program.run(arrays, list(seeds) if seeds else None)
        where = dict(zip(self.graph.inputs, arrays))
        if muts and on_device(arrays):
            from ...runtime.gpu_copy import copy_into
            for t, new in muts.items():
                copy_into(where[t], new)
            return outs
        for t, new in muts.items():
            np.copyto(where[t], new, casting="unsafe")
        return outs
