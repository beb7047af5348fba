"""What ``python -m ember.distributed.run`` starts on each rank (through mpiexec): set torchrun's
environment from MPI's process manager, run the user's script or module, and record how it
ended in the launcher's status directory (so the launcher can name the rank that failed)."""
from __future__ import annotations

import json
import os
import runpy
import sys
import time
import traceback


def _env(name, default):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else default


def _record(status_dir, rank, **fields):
    if status_dir:
        path = os.path.join(status_dir, f"rank{rank}.json")
        with open(path + ".tmp", "w") as f:
            json.dump(dict(fields, rank=rank, pid=os.getpid(), time=time.time()), f)
        os.replace(path + ".tmp", path)


def main(argv):
    # Hydra (MPICH's mpiexec) tells each process its place in PMI_* / MPI_LOCAL* variables
    rank, size = _env("PMI_RANK", 0), _env("PMI_SIZE", 1)
    local_rank, local_size = _env("MPI_LOCALRANKID", 0), _env("MPI_LOCALNRANKS", 1)
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(size), LOCAL_RANK=str(local_rank),
                      LOCAL_WORLD_SIZE=str(local_size),
                      GROUP_RANK=str(rank // max(local_size, 1)))
    status_dir = os.environ.get("EMBER_RUN_STATUS_DIR")
    _record(status_dir, rank, state="started")
    as_module = argv[0] == "-m"
    target, args = (argv[1], argv[2:]) if as_module else (argv[0], argv[1:])
    sys.argv = [target] + list(args)
    code = 0
    try:
        if as_module:
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
            runpy.run_path(target, run_name="__main__")
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if code:
            _record(status_dir, rank, state="exit", code=code)
    except BaseException as e:      # noqa: BLE001 - every failure is reported, then the job ends
        traceback.print_exc()
        _record(status_dir, rank, state="raised", error=f"{type(e).__name__}: {e}")
        _abort_job()
        return 1
    if code == 0:
        _record(status_dir, rank, state="ok")
    elif size > 1:
        _abort_job(code)
    return code


def _abort_job(code=1):
    """Stop the other ranks now rather than letting them wait for this one in a collective."""
    sys.stdout.flush()
    sys.stderr.flush()
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and \
            mpi.COMM_WORLD.Get_size() > 1:
        mpi.COMM_WORLD.Abort(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
