"""One file descriptor per shared-memory segment: a 700-tensor model shares under ulimit -n 1024
(PyTorch manages 1019); two descriptors per segment ran out."""
from __future__ import annotations

import subprocess
import sys
import textwrap


def test_700_shared_tensors_under_1024_fds():
    code = textwrap.dedent("""
        import os, resource
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
        import ember
        from ember.runtime import shared_memory as shared
        before = len(os.listdir("/proc/self/fd"))
        ts = [ember.ones(3) for _ in range(700)]
        for t in ts:
            t.share_memory_()
        assert all(shared.is_shared(t) for t in ts)
        ts[5].add_(1)
        assert ts[5].tolist() == [2.0, 2.0, 2.0]
        grown = len(os.listdir("/proc/self/fd")) - before
        assert grown == 700, grown
        del ts, t
        import gc; gc.collect()
        assert len(os.listdir("/proc/self/fd")) - before <= 1   # closed with their tensors
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
