"""The benchmark harness: the same workload on ember and on PyTorch, in one run, on one machine.

Each workload is a pair of zero-argument callables (already set up).  Both are timed the same way
(warm-up, then the median of several repeats of a loop sized to take ~50 ms), interleaved so that
machine noise hits both alike, and reported as a ratio ember / torch (< 1 means ember is faster).
"""
from __future__ import annotations

import gc
import platform
import statistics
import time
from dataclasses import dataclass


@dataclass
class Row:
    name: str
    ember_s: float
    torch_s: float | None
    target: float | None = None   # the bound on the ratio ember/torch

    @property
    def ratio(self):
        return None if self.torch_s is None else self.ember_s / self.torch_s

    @property
    def verdict(self):
        if self.target is None or self.ratio is None:
            return ""
        return "ok" if self.ratio <= self.target else "MISS"


def _loop_count(fn, budget=0.05):
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t0
        if dt >= budget / 4 or n >= 1 << 22:
            return max(1, int(n * budget / max(dt, 1e-9)))
        n *= 4


def time_per_call(fn, number):
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - t0) / number
    finally:
        gc.enable()


def compare(name, ember_fn, torch_fn=None, target=None, repeat=7, budget=0.05):
    """Median seconds per call of each side, measured in alternation."""
    ember_fn()
    if torch_fn is not None:
        torch_fn()
    n_e = _loop_count(ember_fn, budget)
    n_t = _loop_count(torch_fn, budget) if torch_fn is not None else 0
    e, t = [], []
    for _ in range(repeat):
        e.append(time_per_call(ember_fn, n_e))
        if torch_fn is not None:
            t.append(time_per_call(torch_fn, n_t))
    return Row(name, statistics.median(e), statistics.median(t) if t else None, target)


def _fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def machine():
    import os
    return f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} " \
           f"{platform.python_version()}"


def print_table(title, rows):
    print(f"\n## {title}  ({time.strftime('%Y-%m-%d')}, {machine()})\n")
    print("| workload | ember | torch | ratio | target | |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        target = "-" if r.target is None else f"<= {r.target}"
        print(f"| {r.name} | {_fmt_time(r.ember_s)} | {_fmt_time(r.torch_s)} | {ratio} | {target} "
              f"| {r.verdict} |")


def try_torch():
    try:
        import torch
        torch.set_num_threads(__import__("os").cpu_count() or 1)
        return torch
    except ImportError:
        return None
