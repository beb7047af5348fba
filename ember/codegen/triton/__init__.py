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
