"""`--busy`: one extra CPU-spinning process per core while a benchmark runs (issue 12, part 6:
ratios under load must stay within 1.3x of their quiet values).

The spinners are plain ``python -c`` loops, so they compete for the cores exactly like another
user's job.  Each one is bounded three ways, so none can outlive the benchmark: it exits after
``limit_s`` seconds, it exits when its parent is gone (re-parented), and the parent kills it on
exit (``atexit``, or leaving the ``spinning`` context).
"""
from __future__ import annotations

import atexit
import os
import subprocess
import sys
from contextlib import contextmanager

# checks the clock and the parent every ~2^20 iterations (~20-50 ms), spins in between
_SPIN = """
import os, sys, time
deadline, parent = time.monotonic() + float(sys.argv[1]), int(sys.argv[2])
while time.monotonic() < deadline and os.getppid() == parent:
    for _ in range(1 << 20):
        pass
"""

_running: list[subprocess.Popen] = []


def cores():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def start(n=None, limit_s=1800.0):
    """Start n spinning processes (default: one per core); returns them."""
    n = cores() if n is None else n
    procs = [subprocess.Popen([sys.executable, "-c", _SPIN, str(limit_s), str(os.getpid())],
                              stdin=subprocess.DEVNULL) for _ in range(n)]
    _running.extend(procs)
    return procs


def stop(procs=None):
    """Kill the given spinners (default: every one this process started) and reap them."""
    procs = list(_running) if procs is None else procs
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        p.wait()
        if p in _running:
            _running.remove(p)


atexit.register(stop)


@contextmanager
def spinning(n=None, limit_s=1800.0):
    procs = start(n, limit_s)
    try:
        yield procs
    finally:
        stop(procs)


_OWNER = "EMBER_BENCH_BUSY"   # set while spinners run: child benchmarks must not add more


def active():
    """How many spinners load the machine for this run (started here or by a parent)."""
    return int(os.environ.get(_OWNER, "0").partition(":")[2] or 0)


def from_argv(argv=None):
    """Start the spinners when ``--busy`` is among the arguments, unless this process or a parent
    (the ``python -m benchmarks`` runner, a benchmark re-running itself) already did.  Returns
    the number started here."""
    argv = sys.argv if argv is None else argv
    if "--busy" not in argv or _OWNER in os.environ:
        return 0
    procs = start()
    os.environ[_OWNER] = f"{os.getpid()}:{len(procs)}"
    return len(procs)
