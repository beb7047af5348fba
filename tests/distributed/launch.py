"""Start a script on several ranks with mpiexec (or the launcher) in a subprocess with a hard
timeout, and read the per-rank JSON records it writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scripts")


def mpiexec():
    pytest.importorskip("mpi4py")
    path = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(path):
        pytest.skip("mpiexec (pip install mpich) is not installed beside this Python")
    return path


def rank_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    # one thread per rank: the ranks share the CI machine's 2 cores
    env.update(EMBER_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               NUMBA_NUM_THREADS="1")
    return env


def run(cmd, timeout):
    try:
        return subprocess.run(cmd, cwd=ROOT, env=rank_env(), capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s (a hang): "
                    f"{(e.stdout or b'')[-2000:]!r} {(e.stderr or b'')[-2000:]!r}")


def run_ranks(script, n, args=(), timeout=120, mpiexec_args=()):
    cmd = [mpiexec(), *mpiexec_args, "-n", str(n), sys.executable,
           os.path.join(SCRIPTS, script), *map(str, args)]
    return run(cmd, timeout)


def records(out_dir, n):
    out = {}
    for r in range(n):
        path = os.path.join(out_dir, f"rank{r}.json")
        if os.path.exists(path):
            with open(path) as f:
                out[r] = json.load(f)
    return out


def describe(proc):
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
