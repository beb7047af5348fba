"""Issue 2's speed targets: eager dispatch overhead of a small op, and large single ops.

    python -m benchmarks.bench_eager
"""
from __future__ import annotations

import numpy as np

import ember
from benchmarks.harness import compare, print_table, try_torch


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

    (xa, xb), tx = pair(4 * 1024 * 1024)
    rows.append(compare("add, 4M elements", lambda: xa + xb,
                        (lambda: tx[0] + tx[1]) if torch else None, target=1.5))
    rows.append(compare("exp, 4M elements", lambda: xa.exp(),
                        (lambda: tx[0].exp()) if torch else None, target=1.5))
    rows.append(compare("sum, 4M elements", lambda: xa.sum(),
                        (lambda: tx[0].sum()) if torch else None, target=1.5))
    ma, mb = xa.reshape(2048, 2048), xb.reshape(2048, 2048)
    tma, tmb = (tx[0].reshape(2048, 2048), tx[1].reshape(2048, 2048)) if torch else (None, None)
    rows.append(compare("sum(dim=1), 2048x2048", lambda: ma.sum(1),
                        (lambda: tma.sum(1)) if torch else None, target=1.5))
    rows.append(compare("amax(dim=1), 2048x2048", lambda: ma.amax(1),
                        (lambda: tma.amax(1)) if torch else None, target=1.5))
    (m1, m2), tm = pair((1024, 1024))
    rows.append(compare("matmul 1024^3", lambda: m1 @ m2,
                        (lambda: tm[0] @ tm[1]) if torch else None, target=1.5, repeat=5))
    print_table("eager ops (issue 2)", rows)
    return rows


if __name__ == "__main__":
    main()
