"""The eager GPU executor's per-call Python overhead on a cache hit (issue 8), measured without a
GPU: FakeRuntime device memory, the Triton interpreter, and the kernel launch itself stubbed out
(``launch`` does nothing), so what is timed is ember's own work per eager op on a CUDA tensor:
cache key + lookup, output allocation from the caching allocator, the generated host function
(buffer views, kernel arguments).  On a GPU the driver's launch (~3-5 us) comes on top.  The
first row is the same call with the interpreter running the kernel (for scale only).

    python -m benchmarks.bench_gpu_eager
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

os.environ["TRITON_INTERPRET"] = "1"
os.environ.setdefault("EMBER_TRITON_CACHE", os.path.join(tempfile.gettempdir(),
                                                         f"ember-triton-bench-{os.getuid()}"))


def _us(fn, number=2000, repeat=9):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times) * 1e6


def main():
    import numpy as np

    from ember.ops.registry import REGISTRY as P
    from ember.runtime import cuda as rt
    from ember.runtime import gpu_buffers, gpu_eager
    rt.install(rt.FakeRuntime())
    a = rt.DeviceArray.from_host(np.arange(16, dtype=np.float32))
    b = rt.DeviceArray.from_host(np.ones(16, np.float32))
    t = gpu_eager.run(P["permute"], [rt.DeviceArray.from_host(np.ones((4, 4), np.float32))],
                      {"dims": (1, 0)})
    add, exp, sum_ = P["add"], P["exp"], P["sum"]
    rows = [("add, 16 float32 (interpreter runs the kernel)",
             _us(lambda: gpu_eager.run(add, [a, b], {}), number=50, repeat=5))]
    gpu_buffers.launch = lambda *args, **kwargs: None     # time ember's side only
    rows += [
        ("add, 16 float32: cached launch overhead", _us(lambda: gpu_eager.run(add, [a, b], {}))),
        ("exp of a transposed 4x4 view", _us(lambda: gpu_eager.run(exp, [t], {}))),
        ("sum over dim 1 of 4x4", _us(lambda: gpu_eager.run(sum_, [t], {"dims": (1,)}))),
        ("view (permute): no kernel", _us(lambda: gpu_eager.run(P["permute"], [t],
                                                                  {"dims": (1, 0)}))),
        ("  of which: output allocation (DeviceArray.empty)",
         _us(lambda: rt.DeviceArray.empty((16,), np.float32, 0))),
        ("  of which: cache key + lookup",
         _us(lambda: gpu_eager._CACHE[(add, *[(x.dtype, x.shape, x.strides) for x in (a, b)])])),
    ]
    print(f"\n## eager GPU executor, per-call overhead (load average "
          f"{'%.2f %.2f %.2f' % os.getloadavg()})\n")
    print("| workload | us per call |")
    print("|---|---|")
    for name, us in rows:
        print(f"| {name} | {us:.2f} |")


if __name__ == "__main__":
    main()
