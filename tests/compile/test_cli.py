"""`ember ir show --stage/--why/--code numpy` and `ember ir stats` on a saved compiled step."""
import json

import ember
from ember.cli import main
from tests.compile.models import data, make, train_step_fn


def _saved(tmp_path):
    m, o = make("mlp", "sgd")
    c = ember.compile(train_step_fn(m, o))
    x, y = data("mlp")
    c(x, y)
    path = str(tmp_path / "step.ember")
    c.program().save(path)
    return path


def test_cli_stages_code_and_stats(tmp_path, capsys):
    path = _saved(tmp_path)
    assert main(["ir", "show", path, "--stage", "canonical"]) in (0, None)
    assert "def train_step(" in capsys.readouterr().out
    main(["ir", "show", path, "--stage", "fused", "--why"])
    out = capsys.readouterr().out
    assert "kernels" in out and "not fused" in out and "producer is matmul" in out
    main(["ir", "show", path, "--code", "numpy"])
    out = capsys.readouterr().out
    assert "def call(args, seeds, B):" in out and "out=B[" in out
    main(["ir", "stats", path, "--json"])
    s = json.loads(capsys.readouterr().out)
    mp = s["memory_plan"]
    assert mp["planned_bytes"] < mp["naive_bytes"] and mp["inplace_updates"] > 0
    assert main(["ir", "show", path, "--stage", "nope"]) == 1
