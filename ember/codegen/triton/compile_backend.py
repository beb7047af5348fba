"""The ``ember.compile(..., backend="triton")`` hook: a traced graph run through TritonProgram,
with the same ``run(arrays, seeds)`` contract as the compile frontend's other modules (in-place
writes into inputs are copied back; user outputs and extra outputs are returned in order)."""
from __future__ import annotations

import numpy as np

from .program import TritonProgram


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
        self.graphs = None    # a gpu_graphs.GraphRunner under mode="reduce-overhead" on CUDA

    @property
    def source_code(self):
        return None if not self.program.compiled else \
            next(iter(self.program.compiled.values())).source

    def run(self, arrays, seeds=()):
        """Outputs of one call; mutated inputs are written in place.

        With any CUDA device array among the inputs the program runs on that device: host arrays
        (0-d CPU tensors such as an optimizer's step count, hyper-parameters) are uploaded for
        the call, and written back when the program updates them.  The new values of mutated
        inputs are views of the program's arena, so they are copied into the inputs here,
        before the next call can reuse the arena."""
        device = next((a.device for a in arrays if a.__class__ is not np.ndarray), None)
        if device is None:
            outs, muts = self.program.run(arrays, list(seeds) if seeds else None)
            where = dict(zip(self.graph.inputs, arrays))
            for t, new in muts.items():
                np.copyto(where[t], new, casting="unsafe")
            return outs
        if self.graphs is not None and not seeds:
            return self.graphs.run(arrays, device)
        return self.run_on_device(arrays, device, seeds)

    def device_arrays(self, arrays, device):
        """The inputs with host arrays uploaded to ``device`` (a call's own copies)."""
        from ...runtime.cuda import DeviceArray
        return [a if a.__class__ is not np.ndarray else DeviceArray.from_host(a, device)
                for a in arrays]

    def run_on_device(self, arrays, device, seeds=()):
        from .gpu_copy import copy_into
        on_dev = self.device_arrays(arrays, device)
        outs, muts = self.program.run(on_dev, list(seeds) if seeds else None)
        where = dict(zip(self.graph.inputs, arrays))
        for t, new in muts.items():
            target = where[t]
            if target.__class__ is np.ndarray:
                np.copyto(target, new.to_host(), casting="unsafe")
            else:
                copy_into(target, new)
        return outs
