"""DistributedDataParallel training equals one process training on the concatenated batch."""
import pytest

from .launch import describe, records, run_ranks

TOL = 1e-5     # float32: per-rank means averaged vs one mean over the whole batch


def _run(tmp_path, n, configs):
    proc = run_ranks("ddp_check.py", n, [tmp_path, *configs], timeout=300)
    assert proc.returncode == 0, describe(proc)
    recs = records(tmp_path, n)
    assert sorted(recs) == list(range(n)), describe(proc)
    return [recs[r]["results"] for r in range(n)]


def test_ddp_two_ranks(tmp_path):
    configs = ["default", "tiny_buckets", "no_sync", "unused", "compiled", "compiled_module",
               "checks"]
    for r, res in enumerate(_run(tmp_path, 2, configs)):
        for cfg in configs[:-1]:
            assert res[cfg]["max_abs_err"] < TOL, (r, cfg, res[cfg])
        assert res["default"]["n_buckets"] == 1          # the whole model fits one bucket
        assert res["tiny_buckets"]["n_buckets"] == 6     # one per parameter
        # the compiled step is compiled in segments around the all-reduce (a graph break)
        assert res["compiled"]["graph_breaks"] and res["compiled"]["calls"] == 4
        assert any("all-reduce" in b for b in res["compiled"]["graph_breaks"])
        checks = res["checks"]
        assert checks["keys"][0] == "module.l1.weight"
        assert all(k.startswith("module.") for k in checks["keys"])
        assert checks["launched_early"] == [True]
        assert "Expected to have finished reduction" in checks["unfinished_error"]


def test_ddp_four_ranks(tmp_path):
    results = _run(tmp_path, 4, ["default", "no_sync", "checks"])
    for r, res in enumerate(results):
        assert res["default"]["max_abs_err"] < TOL, (r, res)
        assert res["no_sync"]["max_abs_err"] < TOL, (r, res)
    # parameters were broadcast from rank 0 at construction: every rank holds the same values
    assert len({res["checks"]["same_after_broadcast"] for res in results}) == 1
