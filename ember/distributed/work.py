"""Work handles over MPI's non-blocking requests, completed by polling against a deadline.

MPI's blocking calls wait forever when a peer has died or never joins; here every operation is a
non-blocking request that is tested in a loop until it completes or the process group's timeout
passes.  For the first ``_SPIN_SECONDS`` the loop tests continuously, yielding the core every
``_TESTS_PER_YIELD`` tests (``sched_yield``: a rank sharing a core with its peer lets it run; a
multi-round collective advances only while both ranks test, so sleeping there would stall the
peer); after that it sleeps a little longer each round (up to ``_MAX_NAP``), so a rank waiting for
a slow or dead peer costs almost no CPU.  A timeout raises DistBackendError and marks the process
state broken (MPI's state is undefined after an abandoned collective; exiting then aborts the job
instead of hanging in MPI_Finalize).
"""
from __future__ import annotations

import os
import time

from . import _mpi
from .errors import DistBackendError

_SPIN_SECONDS = 0.05   # test-and-yield this long before sleeping between tests
_TESTS_PER_YIELD = 100  # tests (~1 us each) between yields: under load a yield can cost a time
                        # slice, so yield rarely (MPICH's own wait loop yields every 1000 polls)
_MAX_NAP = 2e-3        # the longest sleep between tests: bounds the latency added to a slow op
_yield = getattr(os, "sched_yield", lambda: None)


def poll(requests, deadline, what, group, status=None):
    """Test ``requests`` until all completed; DistBackendError at ``deadline`` (time.monotonic)."""
    MPI = _mpi.mpi()
    test = (lambda: requests[0].Test(status)) if status is not None else \
        (lambda: MPI.Request.Testall(requests))
    spin_until, nap, spins = None, 1e-5, 0
    try:
        while not test():
            spins += 1
            if spins % _TESTS_PER_YIELD:
                continue
            now = time.monotonic()
            if spin_until is None:
                spin_until = now + _SPIN_SECONDS
            if now < spin_until:
                _yield()
                continue
            if now > deadline:
                group._fail(f"{what} timed out after {group.timeout:g} s")
            time.sleep(nap)
            nap = min(nap * 1.5, _MAX_NAP)
    except MPI.Exception as e:     # e.g. a peer's process failed (with fault reporting on)
        group._fail(f"{what} failed in MPI: {e}")


class Work:
    """What ``async_op=True`` returns (torch.distributed.Work): ``wait()``, ``is_completed()``,
    ``result()``.  ``finish`` runs once after completion (copies out of staging buffers, AVG's
    division, version bumps)."""

    def __init__(self, requests, group, what, finish=None, result=(), status=None):
        self._requests = list(requests)
        self._group = group
        self._what = what
        self._finish = finish
        self._result = list(result)
        self._status = status
        self._done = False
        self._error = None

    def _complete(self):
        self._done = True
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()

    def is_completed(self):
        """Whether the operation finished (tests the requests once; never blocks)."""
        if self._done:
            return True
        MPI = _mpi.mpi()
        try:
            done = (self._requests[0].Test(self._status) if self._status is not None
                    else MPI.Request.Testall(self._requests))
        except MPI.Exception as e:
            self._group._fail(f"{self._what} failed in MPI: {e}")
        if done:
            self._complete()
        return self._done

    def wait(self, timeout=None):
        """Block until the operation finished; DistBackendError after ``timeout`` (seconds or a
        timedelta; default: the process group's timeout)."""
        if self._done:
            return True
        self._group._check()
        seconds = self._group.timeout if timeout is None else _seconds(timeout)
        try:
            poll(self._requests, time.monotonic() + seconds, self._what, self._group,
                 self._status)
        except DistBackendError as e:
            self._error = e
            raise
        self._complete()
        return True

    def is_success(self):
        return self._done and self._error is None

    def exception(self):
        return self._error

    def result(self):
        self.wait()
        return self._result

    def source_rank(self):
        """The sender of a completed ``irecv`` (global rank)."""
        self.wait()
        if self._status is None:
            raise RuntimeError("source_rank() is only defined for irecv work")
        return self._group.global_rank(self._status.Get_source())

    _source_rank = source_rank

    def synchronize(self):
        self.wait()


def _seconds(timeout):
    return timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
