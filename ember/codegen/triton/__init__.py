"""ember's GPU compiler: fused Triton kernels from the graph IR (see docs/triton.md).

    from ember.codegen.triton import TritonProgram, compile_program
    prog = TritonProgram(graph)            # graph: an ember IR Graph
    outs, mutations = prog.run(arrays)     # NumPy arrays in (CPU: through TRITON_INTERPRET=1)
    print(prog.source(arrays))             # the generated kernels and host wrapper

Nothing here imports triton: generated modules do, when they are loaded.
"""
from .program import TritonProgram, concretize  # noqa: F401


def compile_program(program, options=None):
    """A callable running an ``ember.jit`` Program's graph through Triton, with its state."""
    from .frontend import TritonCallable
    return TritonCallable(program, options)


__all__ = ["TritonProgram", "compile_program", "concretize"]


def source_for_graph(graph, arrays=None):
    """The generated Triton module for ``graph``: for ``arrays`` if given, else for contiguous
    inputs of the sizes seen while tracing (``graph.hints``)."""
    import numpy as np
    import sympy
    if arrays is None:
        env = {sympy.Symbol(k, integer=True, positive=True): v for k, v in graph.hints.items()}
        env.update({sympy.Symbol(k): v for k, v in graph.hints.items()})
        arrays = []
        for v in graph.inputs:
            shape = tuple(d if isinstance(d, int) else int(d.subs(env)) for d in v.meta.shape)
            arrays.append(np.zeros(shape, v.meta.dtype.np))
    return TritonProgram(graph).source(arrays)
