"""scripts/gpu_check.py and scripts/gpu_check_cuda.py import, answer --help and say why they
cannot run without a GPU; the benchmark table is built on the fake runtime."""
import os
import subprocess
import sys

import pytest

from ember.runtime import cuda as rt

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize("script", ["gpu_check.py", "gpu_check_cuda.py"])
def test_help(script):
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", script), "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "CUDA runtime" in r.stdout and "benchmarks" in r.stdout


def test_without_gpu_exits_2_with_the_reason():
    if rt.is_available():
        pytest.skip("a GPU is present")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gpu_check_cuda.py")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "no CUDA: ember: CUDA is not available" in r.stdout


def test_benchmark_table_on_the_fake_runtime():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import gpu_check_cuda
    prev = rt.install(rt.FakeRuntime(capacity=64 << 20))
    try:
        rows = gpu_check_cuda.bench_rows(n=1 << 20)
    finally:
        rt.install(prev)
    names = [r[0] for r in rows]
    assert names[0] == "d2d copy 1 MiB (cuMemcpyDtoD)" and "GB/s" in rows[0][1]
    assert "h2d 1 MiB pinned" in names and "malloc+free 1 MiB, cached" in names
    triton_row = next(r for r in rows if r[0].startswith("triton"))
    assert triton_row[1] in ("failed",) or "GB/s" in triton_row[1]   # no GPU: Triton cannot launch
    assert sum(gpu_check_cuda.NOT_YET in r[2] for r in rows) == 2
    eager = [r for r in rows if r[0].startswith("eager")]   # CUDA tensors (no interpreter here)
    assert len(eager) == 3 and all(r[1] == "failed" or r[1].split()[1] in ("us", "GB/s", "TF/s")
                                   for r in eager)


def test_frontend_mode_runs_the_device_tests_on_the_real_gpu():
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import gpu_check_cuda
    cmd, env = gpu_check_cuda.frontend_test_command()
    assert "tests/cuda_frontend" in cmd and env["EMBER_TEST_DEVICE"] == "cuda"
    assert env["TRITON_INTERPRET"] == "0"
