"""Predict a compiled step's memory before running it: ``predict(compiled_fn, *inputs)``.

The compile pipeline's memory-planning pass (ember.passes.memory_plan) assigns every intermediate
value to a reusable buffer; on a GPU those buffers become one arena allocation per program.  What a
step needs on top of what is already resident (its inputs: activations, parameters, grads,
optimizer state) is therefore

    step_bytes = arena (the planned buffers) + the outputs it returns (allocated per call)

and the device peak while it runs is ``input_bytes + step_bytes``.  Values written in place into
a mutated input (a parameter update) need nothing new.

``predict`` compiles the function for these inputs if no compiled variant fits yet (the variant
is kept, so the next call runs it without compiling again) and runs nothing.  Users reach it as
``ember.compile(fn).memory_plan(*inputs)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MemoryPrediction:
    peak_bytes: int              # input_bytes + step_bytes: the device peak while the step runs
    step_bytes: int              # new memory the step allocates: arena_bytes + output_bytes
    arena_bytes: int             # the planned intermediate buffers (one arena on a GPU)
    output_bytes: int            # returned values, allocated per call
    input_bytes: int             # graph inputs: already resident
    naive_bytes: int             # every intermediate in its own allocation, none freed
    live_peak_bytes: int         # the most intermediate bytes live at once (eager lower bound)
    buffers: list = field(default_factory=list)   # (shape, dtype name, bytes) per planned buffer

    def __int__(self):
        return self.peak_bytes

    def summary(self):
        from ..runtime.allocator import format_size
        return (f"predicted peak {format_size(self.peak_bytes)} = inputs "
                f"{format_size(self.input_bytes)} + arena {format_size(self.arena_bytes)} "
                f"({len(self.buffers)} buffers; naive {format_size(self.naive_bytes)}) + outputs "
                f"{format_size(self.output_bytes)}")


def _variant_for(cf, args, kwargs):
    """The compiled variant that a call with these arguments would run (compiling it if none
    fits yet), mirroring CompiledFunction.__call__ without running the program."""
    from . import compile as C
    from ..frontend.dispatch import STATE
    cf = getattr(cf, "_compiled", cf)          # an OptimizedModule wraps its CompiledFunction
    flat, _, sigs = C._flatten_args(args, kwargs)
    if cf._objs is None:
        cf._objs = C._reached_objects(cf.fn)
    state = C._state_guard(cf._objs)
    cf._labels = state[1]
    grad = STATE.grad_enabled
    found = cf.find_variant(sigs, state, grad)
    if found is not None:
        return found
    return cf.build_variant(flat, sigs, state, grad, args, kwargs), {}


def predict(compiled, *args, **kwargs):
    """The MemoryPrediction of one call of ``compiled`` (an ember.compile result) on these
    inputs.  Raises RuntimeError when the call would run eagerly (a graph break)."""
    from ..passes.memory_plan import _nbytes
    v, env = _variant_for(compiled, args, kwargs)
    if v.eager is not None or v.graph is None:
        raise RuntimeError(f"ember: no memory plan: this call runs eagerly ({v.eager})")
    graph = v.graph
    plan = getattr(graph, "memory_plan", None)
    if plan is None:   # the code came from the disk cache: plan the traced graph again
        from ..passes import run_pipeline
        graph = run_pipeline(graph).graph
        plan = graph.memory_plan
    hints = dict(graph.hints or {})
    hints.update({str(k): val for k, val in env.items()})
    arena = sum(b.nbytes(hints) for b in plan.buffers)
    roots = plan.root
    seen, out_bytes = set(), 0
    for o in graph.outputs:
        r = roots.get(o, o)
        if r in seen or r in graph.inputs or r.node is None or r in plan.inplace:
            continue
        seen.add(r)
        out_bytes += _nbytes(r.meta.shape, r.meta.dtype, hints)
    in_bytes = sum(_nbytes(x.meta.shape, x.meta.dtype, hints) for x in graph.inputs)
    if getattr(v, "device", None) is not None:
        # a program on CUDA tensors: the arena its Triton module really allocates (the Triton
        # codegen's own buffer plan, 256-byte aligned), not the NumPy backend's plan
        arena = _device_arena_bytes(compiled, v, args, kwargs)
    return MemoryPrediction(
        peak_bytes=in_bytes + arena + out_bytes, step_bytes=arena + out_bytes, arena_bytes=arena,
        output_bytes=out_bytes, input_bytes=in_bytes, naive_bytes=plan.naive_bytes,
        live_peak_bytes=plan.live_peak_bytes,
        buffers=[(tuple(b.shape), b.dtype.name, b.nbytes(hints)) for b in plan.buffers])


def _device_arena_bytes(compiled, v, args, kwargs):
    """ARENA_BYTES of the Triton module variant ``v`` runs for these arguments (generating the
    module if needed, running nothing)."""
    import numpy as np

    from . import compile as C
    from ..runtime.cuda import DeviceArray
    flat, _, _ = C._flatten_args(args, kwargs)
    arrays = C.call_arrays(v, flat, v.hp_first if v.events else None)
    arrays = [a if a.__class__ is not np.ndarray else DeviceArray.from_host(a, v.device)
              for a in arrays]
    return v.module.program.specialize(arrays).arena_bytes
