"""ember's CUDA runtime on a real GPU: the device-parametrized tests, then runtime benchmarks.

    python scripts/gpu_check_cuda.py            # also run by scripts/gpu_check.py
    python scripts/gpu_check_cuda.py --no-tests # benchmarks only
    python scripts/gpu_check_cuda.py --no-bench # tests only
    python scripts/gpu_check_cuda.py --frontend # only the device test dirs (below) on the GPU

1. tests: ``pytest tests/cuda tests/amp`` -- every test that takes the ``device_rt`` fixture runs on
   the fake runtime and on the real driver runtime (device arrays, copies, views, pinned memory,
   streams, events, memory counters); then ``EMBER_TEST_DEVICE=cuda pytest tests/cuda_frontend``:
   the device-parametrized frontend tests (creation, moves, views, in-place ops, indexing,
   autograd, MLP/CNN training steps == CPU, save/load, pinned DataLoader batches, every op sample
   row through the frontend) on the real GPU with compiled Triton kernels instead of the fake
   runtime and the interpreter; then ``tests/cuda_exec`` (the eager executor, arenas and
   ember.compile on CUDA tensors) the same way.
2. benchmarks (one table): device-to-device copy bandwidth (the reference for "fused pointwise
   >= 85% of copy bandwidth"), host<->device bandwidth from pageable and pinned memory, a fused
   pointwise Triton kernel launched on ember DeviceArrays (bandwidth vs copy), cached allocation
   latency vs cuMemAlloc, event timing resolution, eager CUDA-tensor ops (a 16-element add's
   per-call time, softmax bandwidth, bf16 matmul) beside torch's when torch with CUDA is
   installed.  Compiled steps vs torch.compile and predicted vs measured peak memory on the device
   print "not available" (not wired into this table yet).

Without CUDA it prints why and exits with status 2.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

NOT_YET = "not available: not wired into this table yet (docs/cuda.md)"


def _timeit(fn, rt, stream=0, reps=20):
    """Median milliseconds of fn() timed with CUDA events on ``stream``."""
    import ember.cuda as c
    fn()
    c.synchronize()
    times = []
    for _ in range(reps):
        a, b = c.Event(enable_timing=True), c.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    times.sort()
    return times[len(times) // 2]


def bench_rows(n=64 << 20):
    import numpy as np
    import ember.cuda as c
    from ember.runtime import cuda as R
    rt = R.runtime()
    rows = []
    src = R.DeviceArray.zeros((n // 4,), np.float32)
    dst = R.DeviceArray.empty((n // 4,), np.float32)
    ms = _timeit(lambda: rt.memcpy_dtod(dst.data_ptr(), src.data_ptr(), n, 0), rt)
    copy_gbs = 2 * n / ms / 1e6
    rows.append((f"d2d copy {n >> 20} MiB (cuMemcpyDtoD)", f"{copy_gbs:8.1f} GB/s", "reference"))
    host = np.ones(n // 4, np.float32)
    pinned = R.pin_memory(host)
    ms_pageable = _timeit(lambda: rt.memcpy_htod(dst.data_ptr(), host.ctypes.data, n, 0), rt)
    ms_pinned = _timeit(lambda: rt.memcpy_htod(dst.data_ptr(), pinned.ctypes.data, n, 0), rt)
    rows.append((f"h2d {n >> 20} MiB pageable", f"{n / ms_pageable / 1e6:8.1f} GB/s", ""))
    rows.append((f"h2d {n >> 20} MiB pinned", f"{n / ms_pinned / 1e6:8.1f} GB/s",
                 "pinned faster" if ms_pinned < ms_pageable else "CHECK: pinned not faster"))
    # a fused pointwise kernel (out = a * b + c) launched by Triton on DeviceArrays
    try:
        import triton
        import triton.language as tl

        @triton.jit
        def fma_kernel(a, b, c, out, n, BLOCK: tl.constexpr):
            i = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            m = i < n
            tl.store(out + i, tl.load(a + i, mask=m) * tl.load(b + i, mask=m)
                     + tl.load(c + i, mask=m), mask=m)
        k = n // 4
        a, b = R.DeviceArray.from_host(np.full(k, 2, np.float32)), \
            R.DeviceArray.from_host(np.full(k, 3, np.float32))
        cc = R.DeviceArray.from_host(np.ones(k, np.float32))
        out = R.DeviceArray.empty((k,), np.float32)
        args = [_TritonArg(x) for x in (a, b, cc, out)]
        launch = lambda: fma_kernel[(triton.cdiv(k, 1024),)](*args, k, BLOCK=1024)  # noqa: E731
        ms = _timeit(launch, rt)
        ok = bool((out.to_host() == 7).all())
        gbs = 4 * n / ms / 1e6
        rows.append(("triton a*b+c on DeviceArrays", f"{gbs:8.1f} GB/s",
                     f"{100 * gbs / copy_gbs:.0f}% of copy (target >= 85%), "
                     f"{'correct' if ok else 'WRONG RESULT'}"))
    except Exception as e:
        rows.append(("triton a*b+c on DeviceArrays", "failed", f"{type(e).__name__}: {e}"[:120]))
    # allocator: cached blocks vs the driver
    alloc = rt.allocator(c.current_device())
    t0 = time.perf_counter()
    for _ in range(1000):
        alloc.free(alloc.malloc(1 << 20))
    cached_us = (time.perf_counter() - t0) * 1e3
    be = alloc.backend
    t0 = time.perf_counter()
    for _ in range(100):
        be.free(be.malloc(1 << 20))
    driver_us = (time.perf_counter() - t0) * 1e4
    rows.append(("malloc+free 1 MiB, cached", f"{cached_us:8.2f} us", f"driver {driver_us:.1f} us"))
    e1, e2 = c.Event(enable_timing=True), c.Event(enable_timing=True)
    e1.record()
    e2.record()
    e2.synchronize()
    rows.append(("empty event pair", f"{e1.elapsed_time(e2) * 1e3:8.1f} us", "timing resolution"))
    try:
        import torch
        if torch.cuda.is_available():
            tx = torch.empty(n // 4, device="cuda")
            ty = torch.empty_like(tx)
            ms = _timeit(lambda: ty.copy_(tx), rt)
            rows.append((f"torch d2d copy {n >> 20} MiB", f"{2 * n / ms / 1e6:8.1f} GB/s", "for comparison"))
    except ImportError:
        pass
    rows.extend(eager_rows(n, copy_gbs))
    for what in ("compiled MLP/transformer step vs torch.compile",
                 "predicted vs measured peak memory (device)"):
        rows.append((what, "-", NOT_YET))
    return rows


def _torch_cuda():
    try:
        import torch
        return torch if torch.cuda.is_available() else None
    except ImportError:
        return None


def _wall_us(fn, sync, reps=200):
    """Median microseconds per call of fn() followed by a device synchronize."""
    fn()
    sync()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e6)
    times.sort()
    return times[len(times) // 2]


def eager_rows(n, copy_gbs):
    """Eager ops on CUDA tensors (the frontend + the eager GPU executor), torch beside them."""
    import ember
    import ember.cuda as c
    torch = _torch_cuda()
    rows = []

    def row(name, fn):
        try:
            rows.append(fn())
        except Exception as e:
            rows.append((name, "failed", f"{type(e).__name__}: {e}"[:120]))

    def add16():
        x = ember.ones(16, device="cuda")
        us = _wall_us(lambda: x + x, c.synchronize)
        note = "eager launch overhead (target <= 1.5x torch)"
        if torch is not None:
            tx = torch.ones(16, device="cuda")
            tus = _wall_us(lambda: tx + tx, torch.cuda.synchronize)
            note = f"torch {tus:.1f} us, {us / tus:.2f}x (target <= 1.5x)"
        return ("eager add 16 elements, cuda", f"{us:8.1f} us", note)

    def softmax():
        rows_, cols = max(n // 4 // 4096, 1), 4096
        x = ember.randn(rows_, cols, device="cuda")
        ms = _timeit(lambda: ember.nn.functional.softmax(x, -1), None)
        gbs = 2 * rows_ * cols * 4 / ms / 1e6
        return ("eager softmax fp32, cuda", f"{gbs:8.1f} GB/s",
                f"{100 * gbs / copy_gbs:.0f}% of copy (target >= 75%)")

    def matmul():
        k = 4096 if n >= 64 << 20 else 256
        a = ember.randn(k, k, device="cuda", dtype=ember.bfloat16)
        ms = _timeit(lambda: a @ a, None)
        tf = 2 * k ** 3 / ms / 1e9
        note = ""
        if torch is not None:
            ta = torch.randn(k, k, device="cuda", dtype=torch.bfloat16)
            tms = _timeit(lambda: ta @ ta, None)
            note = f"torch {2 * k ** 3 / tms / 1e9:.1f} TFLOP/s, {100 * tms / ms:.0f}% (target >= 80%)"
        return (f"eager bf16 matmul {k}^3, cuda", f"{tf:8.2f} TF/s", note)

    row("eager add 16 elements, cuda", add16)
    row("eager softmax fp32, cuda", softmax)
    row("eager bf16 matmul, cuda", matmul)
    return rows


class _TritonArg:
    """What Triton's launcher reads from a pointer argument: data_ptr() and dtype."""

    def __init__(self, arr):
        self.arr = arr
        self.dtype = f"ember.{arr.dtype.name}"

    def data_ptr(self):
        return self.arr.data_ptr()


def run(argv=()):
    argv = list(argv)
    from ember.runtime import cuda as R
    reason = R.unavailable_reason()
    if reason is not None:
        print(f"[cuda] no CUDA: {reason}")
        return 2
    import ember.cuda as c
    print(f"[cuda] device: {c.get_device_name()} x{c.device_count()}, capability "
          f"{c.get_device_capability()}, date {time.strftime('%Y-%m-%d')}")
    rc = 0
    frontend_only = "--frontend" in argv
    if "--no-tests" not in argv and not frontend_only:
        r = subprocess.run([sys.executable, "-m", "pytest", "tests/cuda", "tests/amp", "-q", "-rs",
                            "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True)
        tail = [ln for ln in r.stdout.splitlines() if ln.strip()][-15:]
        print("[cuda] tests/cuda tests/amp:\n  " + "\n  ".join(tail))
        rc |= r.returncode != 0
    if "--no-tests" not in argv:
        rc |= run_frontend_tests()
    if "--no-bench" not in argv and not frontend_only:
        rows = bench_rows()
        w = max(len(r[0]) for r in rows)
        print(f"{'benchmark':{w}}  {'result':>14}  note")
        for name, val, note in rows:
            print(f"{name:{w}}  {val:>14}  {note}")
        rc |= any("failed" in r[1] or "WRONG" in r[2] for r in rows)
    return int(rc)


DEVICE_TEST_DIRS = ("tests/cuda_frontend", "tests/cuda_exec")


def frontend_test_command(directory="tests/cuda_frontend"):
    """A device test directory on the real GPU (its conftest: EMBER_TEST_DEVICE=cuda uses the
    driver runtime and compiled kernels, not the fake runtime and the interpreter).  Each
    directory runs in its own pytest process (their conftests set up the device differently)."""
    env = dict(os.environ, EMBER_TEST_DEVICE="cuda", TRITON_INTERPRET="0")
    cmd = [sys.executable, "-m", "pytest", directory, "-q", "-rs", "-p", "no:cacheprovider"]
    return cmd, env


def run_frontend_tests():
    """tests/cuda_frontend (CUDA tensors in the frontend) and tests/cuda_exec (the eager executor,
    arenas, compile on CUDA) on the GPU."""
    rc = 0
    for directory in DEVICE_TEST_DIRS:
        cmd, env = frontend_test_command(directory)
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        tail = [ln for ln in r.stdout.splitlines() if ln.strip()][-20:]
        print(f"[cuda] EMBER_TEST_DEVICE=cuda {directory}:\n  " + "\n  ".join(tail))
        rc |= int(r.returncode != 0)
    return rc


def main(argv):
    if "-h" in argv or "--help" in argv:
        print(__doc__)
        return 0
    return run(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
