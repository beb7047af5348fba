"""Real-PyTorch-style programs (tests/compat_programs: a small GPT with a trainer, an LSTM word
model, a VAE, LBFGS on LSTMCells, a ResNet block stack) run UNCHANGED with ``torch`` mapped to
ember by ember.torch_alias's import hook, and print the same losses as under PyTorch.

Each library runs in its own subprocess (the hook must see a process without torch).  The
programs take their initial weights and data from NumPy, so both start from the same numbers."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from tests.helpers import need_torch
from tests.compat_programs.run_all import PROGRAMS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "tests", "compat_programs", "run_all.py")


def _run(*flags):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, RUNNER, *flags], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def outputs():
    need_torch()
    return _run(), _run("--ember")


def _numbers(line):
    return [float(w) for w in line.replace("|", " ").split() if _is_number(w)]


def _is_number(w):
    try:
        float(w)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("program", PROGRAMS)
def test_program_matches_pytorch(outputs, program):
    torch_lines, ember_lines = outputs[0][program], outputs[1][program]
    assert len(ember_lines) == len(torch_lines) > 2, (torch_lines, ember_lines)
    for t, e in zip(torch_lines, ember_lines):
        if t.startswith("loss"):
            for a, b in zip(_numbers(t), _numbers(e)):
                assert math.isclose(a, b, rel_tol=2e-5, abs_tol=1e-7), (program, t, e)
        else:
            assert t == e, (program, t, e)


def test_hook_does_not_import_real_torch():
    code = ("import sys, ember.torch_alias as a; a.install(); import torch, torch.nn.functional;"
            "import torch.utils.data; print(torch.__name__, torch.nn.functional.__name__,"
            " 'torch' in sys.modules and sys.modules['torch'].__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert out.stdout.split() == ["ember", "ember.nn.functional", "ember"], out.stderr[-2000:]
