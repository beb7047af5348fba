"""Issue 2's speed targets: eager dispatch overhead of a small op, and large single ops.

    python -m benchmarks.bench_eager
    EMBER_NATIVE=0 python -m benchmarks.bench_eager    # without the numba kernels (A/B)
"""
from __future__ import annotations

import numpy as np

import ember
from benchmarks.harness import Row, compare, print_table, time_per_call, try_torch


def main():
    torch = try_torch()
    rng = np.random.default_rng(0)
    rows = []

    def pair(shape, requires_grad=False):
        a = rng.standard_normal(shape).astype(np.float32)
        b = rng.standard_normal(shape).astype(np.float32)
        e = (ember.tensor(a, requires_grad=requires_grad), ember.tensor(b, requires_grad=requires_grad))
        t = (torch.tensor(a, requires_grad=requires_grad),
             torch.tensor(b, requires_grad=requires_grad)) if torch else None
        return e, t

    (ea, eb), tt = pair(16)
    rows.append(compare("add, 16 elements", lambda: ea + eb,
                        (lambda: tt[0] + tt[1]) if torch else None, target=1.0))
    na, nb = ea.numpy(), eb.numpy()
    rows.append(compare("  (numpy add alone, 16 elements)", lambda: np.add(na, nb)))
    (ga, gb), tg = pair(16, requires_grad=True)
    rows.append(compare("add, 16 elements, requires_grad", lambda: ga + gb,
                        (lambda: tg[0] + tg[1]) if torch else None, target=1.5))
    rows.append(compare("mul by scalar, 16 elements", lambda: ea * 2.0,
                        (lambda: tt[0] * 2.0) if torch else None))
    rows.append(compare("sum, 16 elements", lambda: ea.sum(),
                        (lambda: tt[0].sum()) if torch else None))

    large = []  # (name, ember_fn, torch_fn, target, repeat): issue 2's large single ops

    def big(name, ember_fn, torch_fn, repeat=7):
        large.append((name, ember_fn, torch_fn, 1.5, repeat))
        rows.append(compare(name, ember_fn, torch_fn if torch else None, target=1.5,
                            repeat=repeat))

    (xa, xb), tx = pair(4 * 1024 * 1024)
    ta, tb = tx if torch else (None, None)
    big("add, 4M elements", lambda: xa + xb, lambda: ta + tb)
    big("exp, 4M elements", lambda: xa.exp(), lambda: ta.exp())
    big("sum, 4M elements", lambda: xa.sum(), lambda: ta.sum())
    ma = xa.reshape(2048, 2048)
    tma = ta.reshape(2048, 2048) if torch else None
    big("sum(dim=1), 2048x2048", lambda: ma.sum(1), lambda: tma.sum(1))
    big("amax(dim=1), 2048x2048", lambda: ma.amax(1), lambda: tma.amax(1))
    (m1, m2), tm = pair((1024, 1024))
    big("matmul 1024^3", lambda: m1 @ m2, lambda: tm[0] @ tm[1], repeat=5)
    # no target: other large elementwise ops, to see that the native kernels (exp, sum, amax)
    # leave the NumPy + thread-pool path of everything else as it was
    pos, tpos = (xa * xa + 0.5), ((ta * ta + 0.5) if torch else None)   # log of positive values
    for name, e_fn, t_fn in [("mul", lambda: xa * xb, lambda: ta * tb),
                             ("tanh", lambda: xa.tanh(), lambda: ta.tanh()),
                             ("log", lambda: pos.log(), lambda: tpos.log()),
                             ("sigmoid", lambda: xa.sigmoid(), lambda: ta.sigmoid())]:
        rows.append(compare(f"{name}, 4M elements (no target)", e_fn, t_fn if torch else None,
                            repeat=5))
    print_table("eager ops (issue 2)", rows)
    if torch:
        print_table("large ops, fastest of 21 interleaved repeats of 5 calls (matmul: 15); less load-sensitive",
                    [best_of(name, e, t, target, repeat=3 * repeat)
                     for name, e, t, target, repeat in large])
    return rows


def best_of(name, ember_fn, torch_fn, target, repeat, number=5):
    """Ratio of the fastest repeats: on a shared machine a median still carries other jobs' load,
    which hits PyTorch's spinning OpenMP threads and ember's thread pool differently."""
    e, t = [], []
    for _ in range(repeat):
        e.append(time_per_call(ember_fn, number))
        t.append(time_per_call(torch_fn, number))
    return Row(name, min(e), min(t), target)


if __name__ == "__main__":
    main()
