"""Run every benchmark module (benchmarks/bench_*.py) in turn and print their tables.

    python -m benchmarks                      # all of them
    python -m benchmarks eager nn_mlp         # only bench_eager and bench_nn_mlp
    python -m benchmarks --skip compile       # all but bench_compile
    python -m benchmarks --busy sweep         # under load: one spinning process per core

Each module runs in its own interpreter (`python -m benchmarks.bench_<name>`): several pin thread
counts before NumPy is imported, and one module's threads or caches must not colour the next.  The
load average is printed before each module, because the numbers mean little without it on a
shared machine.
"""
from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import time

from benchmarks import busy


def modules():
    here = pathlib.Path(__file__).parent
    return sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))


def load_average():
    try:
        return "load average %.2f %.2f %.2f" % os.getloadavg()
    except OSError:  # pragma: no cover - not Unix
        return "load average unknown"


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    skip = set()
    chosen = []
    it = iter(argv)
    for arg in it:
        if arg == "--skip":
            skip.add(next(it, ""))
        elif arg == "--busy":
            continue   # handled below: the spinners run for the whole run, one set for all
        else:
            chosen.append(arg[len("bench_"):] if arg.startswith("bench_") else arg)
    available = modules()
    unknown = [c for c in chosen if c not in available]
    if unknown:
        sys.exit(f"unknown benchmark(s) {unknown}; available: {available}")
    if busy.from_argv(argv):
        print(f"--busy: {busy.active()} spinning processes for the whole run", flush=True)
    failed = []
    for name in chosen or available:
        if name in skip:
            continue
        print(f"\n# bench_{name}  ({time.strftime('%Y-%m-%d %H:%M')}, {load_average()})", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, "-m", f"benchmarks.bench_{name}"])
        print(f"(bench_{name}: exit {rc}, {time.perf_counter() - t0:.0f} s)", flush=True)
        if rc:
            failed.append(name)
    if failed:
        sys.exit(f"benchmarks that failed: {failed}")


if __name__ == "__main__":
    main()
