"""The examples' progress bars: tqdm on a terminal, nothing (no carriage returns) in logs."""
from __future__ import annotations

import importlib.util
import io
import pathlib
import sys

import pytest

pytest.importorskip("tqdm")
pytest.importorskip("sklearn")
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _common():
    spec = importlib.util.spec_from_file_location("examples_common", ROOT / "examples" /
                                                  "_common.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("tty", [False, True])
def test_progress_is_quiet_off_a_terminal(monkeypatch, tty):
    out = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    bar = _common().progress(range(3), 1, 2)
    for _ in bar:
        bar.set_postfix(loss="0.5")
    bar.close()
    text = out.getvalue()
    if tty:
        assert "epoch  1/2" in text and "\r" in text
    else:
        assert text == ""
