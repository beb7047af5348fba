"""The benchmark harness: the same workload on ember and on PyTorch, in one run, on one machine.

Each workload is a pair of zero-argument callables (already set up).  Both are timed the same way
(warm-up, then the median of several repeats of a loop sized to take ~50 ms), interleaved so that
machine noise hits both alike, and reported as a ratio ember / torch (< 1 means ember is faster).

Every benchmark that imports this module accepts ``--busy``: one extra CPU-spinning process per
core runs for the benchmark's lifetime (``benchmarks/busy.py``), so its ratios under load can be
compared with quiet ones.  Tables then say "busy" next to the machine.  ``--threads N`` pins
BLAS, OpenMP, ember's pool and PyTorch to N threads; ``--cpu-time`` times process CPU time
instead of the wall clock (see ``clock`` below).
"""
from __future__ import annotations

import gc
import platform
import statistics
import time
from dataclasses import dataclass

from benchmarks import busy

busy.from_argv()   # --busy: the spinners start before any timing (and before NumPy's threads)

# --cpu-time: time with this process's CPU time instead of the wall clock.  On a machine shared
# with other jobs (load average far above the core count) wall-clock ratios mostly measure the
# scheduler; CPU time measures the work.  Use it with --threads 1: other threads' spinning
# would count too.
clock = time.process_time if "--cpu-time" in __import__("sys").argv else time.perf_counter


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
        t0 = clock()
        for _ in range(n):
            fn()
        dt = clock() - t0
        if dt >= budget / 4 or n >= 1 << 22:
            return max(1, int(n * budget / max(dt, 1e-9)))
        n *= 4


def time_per_call(fn, number):
    gc.disable()
    try:
        t0 = clock()
        for _ in range(number):
            fn()
        return (clock() - t0) / number
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
    load = "load average %.2f %.2f %.2f" % os.getloadavg()
    spin = f", --busy: {busy.active()} spinning processes" if busy.active() else ""
    spin += ", process CPU time (--cpu-time)" if clock is time.process_time else ""
    return f"{platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} " \
           f"{platform.python_version()}, {load}{spin}"


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
        torch.set_num_threads(THREADS or __import__("os").cpu_count() or 1)
        return torch
    except ImportError:
        return None


def pin_threads(argv):
    """`--threads N` pins BLAS (ember's NumPy) and PyTorch to N threads.  Call it before NumPy is
    imported: OpenBLAS reads the variable once.  On a busy machine, multi-threaded BLAS timings
    swing by 100x.  Returns N, or None when not given."""
    import os
    threads = int(argv[argv.index("--threads") + 1]) if "--threads" in argv else None
    if threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "EMBER_NUM_THREADS",
                    "NUMBA_NUM_THREADS"):
            os.environ[var] = str(threads)
    return threads


# every benchmark importing the harness (before NumPy) accepts --threads N; the value pins
# BLAS, OpenMP, ember's pool and PyTorch (try_torch) alike
import sys as _sys  # noqa: E402
THREADS = pin_threads(_sys.argv) if "--threads" in _sys.argv and \
    _sys.argv[_sys.argv.index("--threads") + 1].isdigit() else None


def interleaved(name, ember_fn, torch_fn, target, steps=30, warmup=3):
    """Median seconds per step of each side, timed one step at a time in alternation, so load
    from other processes hits both sides alike (the machine this was written on is shared)."""
    for _ in range(warmup):
        ember_fn()
        if torch_fn:
            torch_fn()
    e, t = [], []
    for _ in range(steps):
        t0 = clock()
        ember_fn()
        e.append(clock() - t0)
        if torch_fn:
            t0 = clock()
            torch_fn()
            t.append(clock() - t0)
    return Row(name, statistics.median(e), statistics.median(t) if t else None, target)


def report(title, row, threads=None):
    print_table(title, [row])
    ratio = f"{row.ratio:.2f}" if row.ratio else "-"
    torch_ms = f"{row.torch_s * 1e3:.2f}" if row.torch_s else "-"
    print(f"threads: {threads or 'default'}; ember {row.ember_s * 1e3:.2f} ms, "
          f"torch {torch_ms} ms, ratio {ratio}  ({machine()})")


def _training_step(lib, model, optimizer, loss, x, y, optimizer_kwargs):
    opt = getattr(lib.optim, optimizer)(model.parameters(), **optimizer_kwargs)
    loss_fn = getattr(lib.nn.functional, loss)
    x, y = lib.tensor(x), lib.tensor(y)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def training_steps(torch, build, optimizer, loss, x, y, **optimizer_kwargs):
    """One training step (zero_grad, loss, backward, optimizer step) as a zero-argument callable
    for ember and, when torch is not None, for PyTorch starting from the same weights.
    build(lib) makes the model from `ember` or `torch`; optimizer and loss are names in lib.optim
    and lib.nn.functional; x and y are NumPy arrays.  Returns (ember_step, torch_step or None)."""
    import ember
    em = build(ember)
    ember_step = _training_step(ember, em, optimizer, loss, x, y, optimizer_kwargs)
    if torch is None:
        return ember_step, None
    tm = build(torch)
    tm.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in em.state_dict().items()})
    return ember_step, _training_step(torch, tm, optimizer, loss, x, y, optimizer_kwargs)
