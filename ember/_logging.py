"""Logging topics, PyTorch's ``TORCH_LOGS`` vocabulary through Python's ``logging``.

One logger per topic, ``ember.<topic>``.  Turn topics on with the environment
(``EMBER_LOGS="graph_code,recompiles,+fusion"``; ``+topic`` is debug level, ``-topic`` off,
``all`` every topic) or from code (``ember.set_logs(recompiles=True, fusion=logging.DEBUG)``).
The older switches are aliases: ``EMBER_DEBUG=1`` is ``+perf`` (pass timings) and
``EMBER_LOG_RECOMPILES=1`` is ``recompiles``.

This module imports nothing from ember, so every layer may log.  Emitters guard expensive
messages with ``enabled(topic)``: with no topic on, logging costs one level check.
"""
from __future__ import annotations

import logging
import os
import sys

TOPICS = {
    "graph": "the traced program of each compiled variant (IR text; debug: with source lines)",
    "graph_code": "the program after the pass pipeline (the planned IR that code is made from)",
    "guards": "the guards of each new variant (shapes, dtypes, flags, symbolic relations)",
    "recompiles": "why a call did not hit a cached variant, and which guard failed",
    "dynamic": "symbolic-size decisions: which sizes became symbolic and why",
    "fusion": "the fusion plan (kernels; debug: every pair not fused, with the reason)",
    "output_code": "the generated module (NumPy or Triton source) of each variant",
    "perf": "compile time per variant; debug: time and node count of every pass",
}

_ROOT = "ember"
_handler = None


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at emit time (so redirection and capture work)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def get_logger(topic):
    """The logger of a topic (``ember.<topic>``)."""
    if topic not in TOPICS:
        raise ValueError(f"unknown ember log topic {topic!r}; topics: {', '.join(TOPICS)}")
    return logging.getLogger(f"{_ROOT}.{topic}")


def enabled(topic, level=logging.INFO):
    return logging.getLogger(f"{_ROOT}.{topic}").isEnabledFor(level)


def _install_handler():
    """One stderr handler on the ``ember`` logger, like torch's: messages read
    ``[ember.recompiles] ...`` and do not propagate to the root logger twice."""
    global _handler
    if _handler is None:
        _handler = _StderrHandler()
        _handler.setFormatter(logging.Formatter("[%(name)s] %(message)s"))
        root = logging.getLogger(_ROOT)
        root.addHandler(_handler)
        root.propagate = False


def _level(value):
    if value is True:
        return logging.INFO
    if value in (False, None):
        return logging.NOTSET
    if isinstance(value, int):
        return value
    raise TypeError(f"set_logs: a topic takes True, False, None or a logging level, got {value!r}")


def set_logs(all=None, **topics):
    """``torch._logging.set_logs`` for ember: ``set_logs(graph=True, recompiles=True,
    fusion=logging.DEBUG)``; ``all=`` applies to every topic first.  False/None turns a topic
    off.  Topics not named keep their setting."""
    unknown = [t for t in topics if t not in TOPICS]
    if unknown:
        raise ValueError(f"set_logs: unknown topic(s) {', '.join(unknown)}; topics: "
                         f"{', '.join(TOPICS)}")
    settings = dict.fromkeys(TOPICS, all) if all is not None else {}
    settings.update(topics)
    for topic, value in settings.items():
        level = _level(value)
        get_logger(topic).setLevel(level)
        if level != logging.NOTSET:
            _install_handler()


def parse_spec(spec):
    """``"graph_code,+fusion,-perf"`` -> {topic: level}; ``all`` names every topic."""
    out = {}
    for item in spec.replace(" ", "").split(","):
        if not item:
            continue
        sign, name = (item[0], item[1:]) if item[0] in "+-" else ("", item)
        names = list(TOPICS) if name == "all" else [name]
        for n in names:
            if n not in TOPICS:
                raise ValueError(f"EMBER_LOGS: unknown topic {n!r}; topics: "
                                 f"{', '.join(TOPICS)} (prefix + for debug level, - for off)")
            out[n] = {"+": logging.DEBUG, "-": False, "": True}[sign]
    return out


def configure_from_env(environ=os.environ):
    """Apply ``EMBER_LOGS`` and its aliases (called once when ember is imported)."""
    settings = {}
    if environ.get("EMBER_DEBUG", "") not in ("", "0"):
        settings["perf"] = logging.DEBUG
    if environ.get("EMBER_LOG_RECOMPILES", "") not in ("", "0"):
        settings["recompiles"] = True
    spec = environ.get("EMBER_LOGS", "")
    if spec:
        try:
            settings.update(parse_spec(spec))
        except ValueError as e:   # a typo in an environment variable must not stop the import
            print(f"ember: {e}", file=sys.stderr)
    if settings:
        set_logs(**settings)


configure_from_env()
