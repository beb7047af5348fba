"""The one place that imports mpi4py: a clear error when it is missing, and the process-exit rule.

mpi4py normally finalizes MPI at exit.  MPI_Finalize waits for the other ranks, so after a
collective timed out (a peer died or stopped participating) it would hang: we finalize ourselves
and, when a communicator is broken or an exception escaped, abort the job instead.
"""
from __future__ import annotations

import atexit
import sys

_INSTALL = ("ember.distributed's 'mpi' backend needs mpi4py and an MPI library: "
            "pip install ember[distributed]  (that is: pip install mpi4py mpich)")

_MPI = None
_STATE = {"broken": False, "finalize_registered": False}


def is_available():
    """Whether mpi4py (and so the 'mpi' backend) can be imported."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def mpi():
    """The mpi4py.MPI module, initialized with thread support, or a RuntimeError saying what to
    install."""
    global _MPI
    if _MPI is not None:
        return _MPI
    try:
        import mpi4py
    except ImportError as e:
        raise RuntimeError(_INSTALL) from e
    mpi4py.rc.finalize = False        # see the module docstring: finalize() below decides
    mpi4py.rc.thread_level = "multiple"
    try:
        from mpi4py import MPI
    except ImportError as e:          # mpi4py present but no MPI shared library found
        raise RuntimeError(f"{_INSTALL} ({e})") from e
    _MPI = MPI
    if not _STATE["finalize_registered"]:
        _STATE["finalize_registered"] = True
        atexit.register(_at_exit)
    return MPI


def mark_broken():
    """A collective failed: MPI state is undefined from here on, so exit must abort."""
    _STATE["broken"] = True


def is_broken():
    return _STATE["broken"]


def abort(code=1):
    """Abort every rank of the job (mpiexec kills them); used when this process cannot finish."""
    MPI = mpi()
    sys.stdout.flush()
    sys.stderr.flush()
    MPI.COMM_WORLD.Abort(code)


def _at_exit():
    MPI = _MPI
    if MPI is None or MPI.Is_finalized() or not MPI.Is_initialized():
        return
    if _STATE["broken"]:
        abort(1)
    MPI.Finalize()
