"""Failure handling: every case must end quickly with a clear error and leave no process, /dev/shm
segment or shared-memory fd behind (the autouse guard in leakcheck.py checks, and fails any test
that runs past its hard timeout instead of hanging CI)."""
import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ember.utils.data import DataLoader
from tests.utils.datasets import Faulty, Slow, Squares

pytestmark = pytest.mark.hard_timeout(20)


def first_error(loader):
    """Iterate until the loader raises; return (exception, seconds it took)."""
    t0 = time.monotonic()
    try:
        for _ in loader:
            pass
    except Exception as e:  # noqa: BLE001
        return e, time.monotonic() - t0
    raise AssertionError("the loader did not raise")


def test_worker_exception_reraised_with_traceback():
    err, took = first_error(DataLoader(Faulty(20, 9, "raise"), batch_size=2, num_workers=2))
    assert isinstance(err, ValueError)
    msg = str(err)
    assert "Caught ValueError in DataLoader worker process 0" in msg
    assert "Original Traceback (most recent call last)" in msg
    assert "bad sample 9" in msg and "__getitem__" in msg
    assert took < 5


def test_iterator_continues_after_a_worker_exception():
    it = iter(DataLoader(Faulty(8, 2, "raise"), batch_size=2, num_workers=2))
    assert next(it).tolist()[1] == [1.0] * 4
    with pytest.raises(ValueError):
        next(it)
    assert [b[0, 0].item() for b in it] == [4.0, 6.0]


def test_key_error_message_is_readable():
    err, _ = first_error(DataLoader(Faulty(4, 1, "keyerror"), batch_size=2, num_workers=1))
    assert isinstance(err, KeyError)
    assert "Original Traceback" in str(err) and "\\n" not in str(err)


def test_worker_init_fn_error():
    def bad_init(worker_id):
        raise RuntimeError(f"init failed in {worker_id}")
    err, _ = first_error(DataLoader(Squares(4), batch_size=2, num_workers=2,
                                    worker_init_fn=bad_init))
    assert "init failed in 0" in str(err)


@pytest.mark.parametrize("how,expect", [("kill", "SIGKILL"), ("segfault", "SIGSEGV"),
                                        ("exit", "exit code 3")])
def test_dead_worker_raises_fast(how, expect):
    err, took = first_error(DataLoader(Faulty(40, 7, how), batch_size=2, num_workers=2))
    assert isinstance(err, RuntimeError)
    assert "exited unexpectedly" in str(err) and expect in str(err)
    assert took < 3, f"took {took:.1f}s to notice a dead worker"


def test_worker_killed_from_outside_while_main_waits():
    it = iter(DataLoader(Slow(40, 0.05), batch_size=4, num_workers=2))
    next(it)
    os.kill(it._workers[1].pid, signal.SIGKILL)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="worker 1 .* killed by signal SIGKILL"):
        for _ in it:
            pass
    assert time.monotonic() - t0 < 3
    del it


def test_timeout():
    dl = DataLoader(Faulty(10, 2, "hang"), batch_size=2, num_workers=2, timeout=0.5)
    it = iter(dl)
    next(it)  # batch 0: fine
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.5 seconds"):
        next(it)
    assert time.monotonic() - t0 < 2
    del it  # the hung worker is terminated on shutdown


@pytest.mark.parametrize("persistent", [False, True])
def test_early_break_then_gc_shuts_down_quickly(persistent):
    dl = DataLoader(Slow(200, 0.02), batch_size=4, num_workers=2,
                    persistent_workers=persistent)
    for i, _ in enumerate(dl):
        if i == 2:
            break
    pids = [w.pid for w in (dl._iterator._workers if persistent else [])]
    t0 = time.monotonic()
    del dl, _
    gc.collect()
    assert time.monotonic() - t0 < 2.5
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped already


def _run_script(body):
    code = textwrap.dedent(body)
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=os.getcwd(),
                            start_new_session=True)


SCRIPT = """
    import os, sys, time
    sys.path.insert(0, os.getcwd())
    from ember.utils.data import DataLoader
    from tests.utils.datasets import Slow
    it = iter(DataLoader(Slow(1000, 0.05), batch_size=2, num_workers=2))
    next(it)
    print(" ".join(str(w.pid) for w in it._workers), flush=True)
    {after}
"""


def _gone(pid, within):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def test_ctrl_c_shuts_workers_down():
    proc = _run_script(SCRIPT.format(after="for _ in it: pass"))
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # the terminal signals the whole process group
        _, err = proc.communicate(timeout=8)
        assert proc.returncode != 0 and "KeyboardInterrupt" in err
        assert all(_gone(pid, 2) for pid in pids)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_workers_exit_when_main_process_is_killed():
    proc = _run_script(SCRIPT.format(after="time.sleep(60)"))
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        proc.kill()
        proc.wait()
        assert all(_gone(pid, 4) for pid in pids), "orphaned workers kept running"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
