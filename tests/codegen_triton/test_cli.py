"""`ember ir show FILE --code triton` prints the kernels with their IR nodes and source lines."""
import numpy as np

import ember
import ember.nn.functional as F
from ember.cli import main


def test_ir_show_code_triton(tmp_path, capsys):
    def f(x, w):
        return F.softmax(x @ w, -1)   # the source line every kernel names

    program = ember.jit.trace(f, (ember.ones(3, 4), ember.ones(4, 5)))
    path = tmp_path / "f.ember"
    program.save(str(path))
    assert main(["ir", "show", str(path), "--code", "triton"]) == 0
    out = capsys.readouterr().out
    assert "@triton.jit" in out and "def call(args, host, rt=rt, arena=None):" in out
    assert "k0_matmul_matmul" in out and "= matmul(a0, a1)  # test_cli.py:" in out
    assert out.count("@triton.jit\ndef k") == 2   # matmul; the whole softmax
