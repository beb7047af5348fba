"""Every collective for every dtype against a NumPy reference, on 2 and 4 ranks (mpiexec)."""
import pytest

from .launch import describe, records, run_ranks


@pytest.mark.parametrize("n", [2, 4])
def test_every_collective_every_dtype(tmp_path, n):
    proc = run_ranks("collectives_check.py", n, [tmp_path], timeout=240)
    assert proc.returncode == 0, describe(proc)
    recs = records(tmp_path, n)
    assert sorted(recs) == list(range(n)), describe(proc)
    for r, rec in recs.items():
        assert rec["checked"] > 200
        assert rec["failures"] == [], f"rank {r}: {rec['failures']}"
