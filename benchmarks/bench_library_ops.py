"""ember vs torch eager at 4M float32 elements for the new library ops (ember.special, ember.fft,
linalg.vector_norm, masked.sum) and a few batched decompositions.  Interleaved, best of N.

    python -m benchmarks.bench_library_ops
"""
from __future__ import annotations

import os
import time

import numpy as np


def best(fn, n=5):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    import torch
    import ember
    torch.set_num_threads(os.cpu_count() or 1)
    x = np.random.RandomState(0).uniform(0.1, 2.0, 4 * 1024 * 1024).astype(np.float32)
    ex, tx = ember.tensor(x), torch.from_numpy(x.copy())
    m = np.random.RandomState(1).standard_normal((256, 32, 32)).astype(np.float32)
    em, tm = ember.tensor(m), torch.from_numpy(m.copy())
    cases = [
        ("special.erfc", lambda L, a: L.special.erfc(a)),
        ("special.i0e", lambda L, a: L.special.i0e(a)),
        ("special.gammaln", lambda L, a: L.special.gammaln(a)),
        ("special.ndtri", lambda L, a: L.special.ndtri(a * 0.4)),
        ("special.bessel_j0", lambda L, a: L.special.bessel_j0(a)),
        ("special.xlogy", lambda L, a: L.special.xlogy(a, a)),
        ("fft.rfft", lambda L, a: L.fft.rfft(a)),
        ("fft.fft (complex)", lambda L, a: L.fft.fft(a)),
        ("linalg.vector_norm", lambda L, a: L.linalg.vector_norm(a)),
        ("masked.sum", lambda L, a: L.masked.sum(a, mask=a > 1)),
    ]
    mats = [
        ("linalg.inv 256x32x32", lambda L, a: L.linalg.inv(a)),
        ("linalg.svd 256x32x32", lambda L, a: L.linalg.svd(a)),
        ("linalg.eigh 256x32x32", lambda L, a: L.linalg.eigh(a)),
        ("linalg.qr 256x32x32", lambda L, a: L.linalg.qr(a)),
        ("linalg.cholesky 256x32x32", lambda L, a: L.linalg.cholesky(a @ a.mT + 32 * a.new_ones(()) * L.eye(32))),
    ]
    print(f"load average {os.getloadavg()}")
    print(f"{'op':28s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>6s}")
    for name, fn in cases:
        e = best(lambda: fn(ember, ex))
        t = best(lambda: fn(torch, tx))
        print(f"{name:28s} {e * 1e3:9.2f} {t * 1e3:9.2f} {e / t:6.2f}")
    for name, fn in mats:
        e = best(lambda: fn(ember, em))
        t = best(lambda: fn(torch, tm))
        print(f"{name:28s} {e * 1e3:9.2f} {t * 1e3:9.2f} {e / t:6.2f}")
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
