"""EMBER_LOGS / ember.set_logs: one logger per topic under ``ember.``, each emitted where the
compiler makes that decision."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

import ember
from ember import _logging
from ember.compiler.compile import config


@pytest.fixture(autouse=True)
def topics_off():
    yield
    ember.set_logs(all=False)


def _compile_twice(**kw):
    f = ember.compile(lambda x, w: (x @ w).relu().sum() * 2, **kw)
    w = ember.randn(3, 4)
    f(ember.randn(5, 3), w)
    f(ember.randn(7, 3), w)      # a changed size: a recompile, then a symbolic variant
    return f


@pytest.mark.parametrize("topic, expected", [
    ("graph", ["[ember.graph] traced program of <lambda>", "matmul(x, w)"]),
    ("graph_code", ["[ember.graph_code] optimized program of <lambda> variant 0", "def forward("]),
    ("guards", ["[ember.guards] guards of <lambda> variant 1", "x: tensor float32[s0,3]",
                "s0 >= 2", "grad_enabled == True"]),
    ("recompiles", ["[ember.recompiles] recompiling <lambda> (variant 1): argument 'x': shape "
                    "changed ([5,3] -> [7,3])"]),
    ("dynamic", ["[ember.dynamic] new symbolic size s0 (traced with 7)"]),
    ("fusion", ["[ember.fusion] fusion plan of forward:", "kernels", "group 1 reduction"]),
    ("output_code", ["[ember.output_code] generated module of <lambda> variant 0",
                     "def call(args, seeds, B):"]),
    ("perf", ["[ember.perf] compiled <lambda> variant 0 in"]),
])
def test_each_topic_logs_its_decisions(topic, expected, capsys):
    ember.set_logs(**{topic: True})
    _compile_twice()
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, (topic, text, err[:2000])
    others = [t for t in _logging.TOPICS if t != topic]
    assert not any(f"[ember.{t}]" in err for t in others)


def test_debug_level_adds_detail(capsys):
    ember.set_logs(fusion=True, perf=True)
    _compile_twice()
    err = capsys.readouterr().err
    assert "not fused" not in err and "pass canonicalize" not in err
    ember.set_logs(fusion=logging.DEBUG, perf=logging.DEBUG, dynamic=logging.DEBUG)
    _compile_twice()
    err = capsys.readouterr().err
    assert "# not fused" in err and "producer is matmul" in err     # fusion: the reasons
    assert "[ember.perf] pass canonicalize" in err                  # perf: every pass
    assert "[ember.dynamic] guard s0 >= 2 recorded" in err


def test_topics_are_python_loggers():
    ember.set_logs(recompiles=True)
    log = logging.getLogger("ember.recompiles")
    assert log.isEnabledFor(logging.INFO) and not log.isEnabledFor(logging.DEBUG)
    assert config.log_recompiles
    config.log_recompiles = False
    assert not log.isEnabledFor(logging.INFO)
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.getMessage())

    h = Keep()
    log.addHandler(h)
    try:
        log.setLevel(logging.INFO)     # plain logging configuration works too
        _compile_twice()
    finally:
        log.removeHandler(h)
    assert any("recompiling" in m for m in seen)


def test_parse_spec_and_errors():
    assert _logging.parse_spec("graph_code, +fusion,-perf") == {
        "graph_code": True, "fusion": logging.DEBUG, "perf": False}
    assert set(_logging.parse_spec("+all")) == set(_logging.TOPICS)
    with pytest.raises(ValueError, match="unknown topic 'grpah'.*topics: graph"):
        _logging.parse_spec("grpah")
    with pytest.raises(ValueError, match="unknown topic"):
        ember.set_logs(nope=True)
    with pytest.raises(TypeError, match="logging level"):
        ember.set_logs(graph="yes")


@pytest.mark.parametrize("env, topic", [({"EMBER_LOGS": "recompiles,+perf"}, "recompiles"),
                                        ({"EMBER_LOG_RECOMPILES": "1"}, "recompiles"),
                                        ({"EMBER_DEBUG": "1"}, "perf")])
def test_environment_and_aliases(env, topic):
    code = ("import ember\n"
            "f = ember.compile(lambda x: x * 2)\n"
            "f(ember.ones(2)); f(ember.ones(2, dtype=ember.float64))\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, **env}, cwd=os.path.dirname(os.path.dirname(
                           os.path.dirname(os.path.abspath(__file__)))))
    assert r.returncode == 0, r.stderr
    assert f"[ember.{topic}]" in r.stderr
    if "EMBER_DEBUG" in env:
        assert "[ember.perf] pass canonicalize" in r.stderr
