"""python -m ember.distributed.run starts working jobs (plain mpiexec: every other test here)."""
import os
import sys

import pytest

from ember.distributed import run as launcher

from .launch import SCRIPTS, describe, records, run


def test_launcher_sets_torchrun_environment(tmp_path):
    proc = run([sys.executable, "-m", "ember.distributed.run", "--nproc_per_node=2",
                "--master-port", "29555", os.path.join(SCRIPTS, "env_check.py"), str(tmp_path),
                "--lr", "0.1"], timeout=60)
    assert proc.returncode == 0, describe(proc)
    recs = records(tmp_path, 2)
    for r in range(2):
        rec = recs[r]
        assert (rec["RANK"], rec["WORLD_SIZE"], rec["LOCAL_RANK"]) == (str(r), "2", str(r))
        assert (rec["rank"], rec["world"], rec["backend"]) == (r, 2, "mpi")
        assert rec["MASTER_PORT"] == "29555" and rec["MASTER_ADDR"] == "127.0.0.1"
        assert rec["argv"] == ["--lr", "0.1"] and rec["name"] == "__main__"


def test_command_line():
    opts = launcher._parser().parse_args(["--nproc-per-node", "3", "-m", "pkg.train", "--x", "1"])
    cmd = launcher.build_command(opts, "/tmp/s")
    assert cmd[1:3] == ["-n", "3"]
    assert cmd[-5:] == ["ember.distributed._bootstrap", "-m", "pkg.train", "--x", "1"]
    opts = launcher._parser().parse_args(["--nnodes", "2", "--nproc-per-node", "4", "--hostfile",
                                          "hosts", "t.py"])
    cmd = launcher.build_command(opts, "/tmp/s")
    assert cmd[1:7] == ["-n", "8", "-f", "hosts", "-ppn", "4"]
    with pytest.raises(SystemExit, match="needs --hostfile"):
        launcher.build_command(launcher._parser().parse_args(["--nnodes", "2", "t.py"]), "/s")
    with pytest.raises(SystemExit, match="started once"):
        launcher.build_command(launcher._parser().parse_args(["--node-rank", "1", "t.py"]), "/s")
