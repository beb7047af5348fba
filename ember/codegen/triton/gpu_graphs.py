"""CUDA-graph replay of compiled programs: ``ember.compile(fn, mode="reduce-overhead")`` on CUDA
tensors.  **NOT VALIDATED ON A GPU** (none was available to issue 8): the capture/replay logic is
tested on ``FakeRuntime``, which records the work queued on a capturing stream (copies, memsets,
kernel launches) and replays it; the driver calls (``cuStreamBeginCapture``,
``cuStreamEndCapture``, ``cuGraphInstantiate``, ``cuGraphLaunch``) have never run.

Per input signature of a program (PyTorch's cudagraphs scheme, simplified):

1. the first call runs normally (warm-up: Triton compiles its kernels, the arena is allocated);
2. the second call captures the program into a graph on a side stream: arguments and host
   arrays (0-d CPU tensors, learning rates) get *static* device buffers; everything else the
   program reads or writes (parameters, gradients, optimizer state) is captured at its current
   address; outputs are allocated during capture and stay the graph's own;
3. every call then copies its arguments into the static buffers, launches the graph (one driver
   call instead of one launch per kernel), writes back mutated arguments and host arrays, and
   returns fresh copies of the outputs (so a next replay cannot overwrite what the caller holds).

A captured tensor whose address changed (``param.data = ...``) makes the call run normally and
the next one re-capture.  Constant buffers are uploaded once, outside the capture, and kept by
the graph.  Programs with host ops (conv, argsort, random numbers) or non-contiguous arguments
are never captured (the reason is kept in ``reasons``) and run normally.
"""
from __future__ import annotations

import numpy as np

from ...runtime import cuda as _cuda
from ...runtime import gpu_buffers

_WARM = "warm"


class GraphRunner:
    """The graphs of one ``TritonModule`` (one per input signature)."""

    def __init__(self, module):
        self.module = module
        self.entries = {}       # signature -> _WARM | _Graph | a reason string (not capturable)
        self.reasons = []
        self.stats = {"warmup": 0, "captures": 0, "replays": 0, "plain": 0}

    def run(self, arrays, device):
        sig = tuple((a.__class__, a.dtype, a.shape, a.strides) for a in arrays)
        entry = self.entries.get(sig)
        if entry is None:
            self.entries[sig] = _WARM
            self.stats["warmup"] += 1
            return self.module.run_on_device(arrays, device)
        if entry is _WARM:
            why = self._why_not(arrays, device)
            if why is not None:
                entry = self.entries[sig] = why
                self.reasons.append(why)
            else:
                entry = self.entries[sig] = _Graph(self.module, arrays, device)
                self.stats["captures"] += 1
        if entry.__class__ is str:
            self.stats["plain"] += 1
            return self.module.run_on_device(arrays, device)
        outs = entry.replay(arrays, device)
        if outs is None:                        # a captured address changed: capture again
            self.entries[sig] = _WARM
            self.stats["plain"] += 1
            return self.module.run_on_device(arrays, device)
        self.stats["replays"] += 1
        return outs

    def _why_not(self, arrays, device):
        compiled = self.module.program.specialize(self.module.device_arrays(arrays, device))
        if compiled.module.HOST_OPS:
            return "the program has host ops (conv, argsort, random numbers, ...)"
        for v, a in zip(self.module.graph.inputs, arrays):
            if v.kind == "input" and a.__class__ is not np.ndarray and not a.is_c_contiguous():
                return f"argument {v.name!r} is not contiguous"
        return None


class _Graph:
    def __init__(self, module, arrays, device):
        rt = _cuda.runtime()
        self.device = device
        self.slots = []         # per input: ("static", device buffer) or ("fixed", address)
        static = []
        for v, a in zip(module.graph.inputs, arrays):
            if a.__class__ is np.ndarray or v.kind == "input":
                buf = _cuda.DeviceArray.empty(a.shape, a.dtype, device)
                self.slots.append(("static", buf))
                static.append(buf)
            else:
                self.slots.append(("fixed", a.data_ptr()))
                static.append(a)
        mutated = set(module.graph.mutations)
        self.write_back = [i for i, v in enumerate(module.graph.inputs)
                           if v in mutated and self.slots[i][0] == "static"]
        self.stream = rt.stream_create(device)
        prev = _cuda.current_stream_handle(device)
        _cuda.set_current_stream_handle(device, self.stream)
        gpu_buffers.graph_constants = self.constants = []   # constant buffers the graph reads
        try:
            rt.stream_begin_capture(self.stream)
            try:
                self.outputs = module.run_on_device(static, device)
            finally:
                self.graph = rt.stream_end_capture(self.stream)
        finally:
            gpu_buffers.graph_constants = None
            _cuda.set_current_stream_handle(device, prev)

    def replay(self, arrays, device):
        from .gpu_copy import copy_into
        for (kind, slot), a in zip(self.slots, arrays):
            if kind == "fixed":
                if a.data_ptr() != slot:
                    return None
            elif a.__class__ is np.ndarray:
                slot.copy_from(a)
            else:
                copy_into(slot, a)
        _cuda.runtime().graph_launch(self.graph, _cuda.current_stream_handle(device))
        for i in self.write_back:
            slot, a = self.slots[i][1], arrays[i]
            if a.__class__ is np.ndarray:
                np.copyto(a, slot.to_host(), casting="unsafe")
            else:
                copy_into(a, slot)
        return [_copy_out(o) for o in self.outputs]


def _copy_out(o):
    from . import gpu_eager
    if o.is_c_contiguous():
        return gpu_eager._clone(o)
    from ... import dtypes as dt
    return gpu_eager.run(gpu_eager._CONVERT, [o], {"dtype": dt.from_numpy_dtype(o.dtype)})
