"""Test guards for code that starts processes: a hard per-test timeout (SIGALRM, so a hang fails
the test instead of CI) and checks that no child process, /dev/shm entry or shared-memory file
descriptor outlives the test."""
from __future__ import annotations

import gc
import os
import signal
import time

import pytest


def child_pids():
    me = str(os.getpid())
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me and fields[0] != "Z":  # ppid, state (zombies are about to be reaped)
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            # multiprocessing's own per-interpreter helpers (started once by spawn/forkserver)
            if b"resource_tracker" in cmdline or b"forkserver" in cmdline:
                continue
            pids.add(int(entry))
    return pids


def shm_entries():
    try:
        return set(os.listdir("/dev/shm"))
    except FileNotFoundError:
        return set()


def shared_memory_fds():
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if "ember_shm" in os.readlink(f"/proc/self/fd/{fd}"):
                n += 1
        except OSError:
            pass
    return n


def _persistent_new_shm(before, grace=1.0):
    """New /dev/shm entries that are still there after `grace` seconds.  /dev/shm is machine-wide,
    so entries of other processes (a parallel test worker, another job) show up here too; ember
    itself never names a segment.  Ignored: PyTorch's (the test oracle) and multiprocessing's named
    semaphores (spawn-context locks, alive as long as their Queue, unlinked by Python's resource
    tracker at the latest), joblib's loky semaphores and MPICH's segments (tests/distributed)."""
    new = {e for e in shm_entries() - before
           if not e.startswith(("torch_", "sem.mp-", "sem.loky-", "mpich_shm_"))}
    if new:
        time.sleep(grace)
        new &= shm_entries()
    return new


class _HardTimeout(BaseException):
    """BaseException so that code under test cannot swallow it."""


def guard(seconds):
    """Context for one test: hard timeout + leak checks."""
    class Guard:
        def __enter__(self):
            import multiprocessing
            multiprocessing.active_children()  # reap what earlier tests left to reap
            self.children = child_pids()
            self.shm = shm_entries()
            self.fds = shared_memory_fds()

            def on_alarm(signum, frame):
                raise _HardTimeout(f"test exceeded its hard timeout of {seconds} s")
            self.old = signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return self

        def __exit__(self, *exc):
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
            if exc[0] is not None:
                return False
            gc.collect()
            deadline = time.monotonic() + 5
            while True:
                leaked = child_pids() - self.children
                if not leaked or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert not leaked, f"child processes leaked: {sorted(leaked)}"
            leaked_shm = _persistent_new_shm(self.shm)
            assert not leaked_shm, f"/dev/shm segments leaked: {sorted(leaked_shm)}"
            assert shared_memory_fds() <= self.fds, "shared-memory file descriptors leaked"
            return False
    return Guard()


@pytest.fixture(autouse=True)
def no_leaks(request):
    marker = request.node.get_closest_marker("hard_timeout")
    with guard(marker.args[0] if marker else 30):
        yield
