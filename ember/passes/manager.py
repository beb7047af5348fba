"""The pass manager: runs named passes in order, times each one, verifies the graph after each, and
keeps a printable snapshot of every stage when asked (``keep_stages`` or ``EMBER_DEBUG=1``).
Pass times go to the ``perf`` log topic (debug level) and the fusion plan to ``fusion``
(ember/_logging.py; ``EMBER_LOGS=+perf,fusion``).

A pass is a function ``graph -> graph`` (it may return the same object, changed) registered with
``@register("name")``.  Analyses that later stages consume (fusion groups, the memory plan) are
attached to the graph as attributes (``graph.fusion``, ``graph.memory_plan``) by the last passes.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

from ..ir.verify import verify

# EMBER_LOGS topics: ember/_logging.py configures these standard loggers
_perf_log = logging.getLogger("ember.perf")
_fusion_log = logging.getLogger("ember.fusion")

PASSES: dict = {}

# the default pipeline for compiled programs, in order
PIPELINE = ("functionalize", "decompose", "canonicalize", "cse", "dce", "fusion", "memory_plan")


def register(name):
    def deco(fn):
        fn.pass_name = name
        PASSES[name] = fn
        return fn
    return deco


def debug_enabled():
    return os.environ.get("EMBER_DEBUG", "") not in ("", "0")


@dataclass
class PipelineResult:
    graph: object
    timings: dict = field(default_factory=dict)     # pass name -> seconds
    stages: dict = field(default_factory=dict)      # stage name -> printed IR (when kept)
    nodes: dict = field(default_factory=dict)       # stage name -> node count

    @property
    def fusion(self):
        return getattr(self.graph, "fusion", None)

    @property
    def memory_plan(self):
        return getattr(self.graph, "memory_plan", None)


class PassError(RuntimeError):
    """A pass left a malformed graph (the verifier's message names the pass)."""


class PassManager:
    def __init__(self, passes=PIPELINE, verify_each=True, keep_stages=None):
        self.passes = list(passes)
        self.verify_each = verify_each
        self.keep_stages = debug_enabled() if keep_stages is None else keep_stages

    def run(self, graph):
        from ..ir.printer import print_graph
        res = PipelineResult(graph)
        if self.keep_stages:
            res.stages["traced"] = print_graph(graph)
        res.nodes["traced"] = len(graph.nodes)
        for name in self.passes:
            fn = PASSES[name]
            t0 = time.perf_counter()
            graph = fn(graph)
            t1 = time.perf_counter()
            if self.verify_each:
                try:
                    verify(graph)
                except Exception as e:
                    raise PassError(f"pass {name!r} produced an invalid graph: {e}") from e
            res.timings[name] = t1 - t0
            res.nodes[name] = len(graph.nodes)
            stage = _STAGE_NAMES.get(name, name)
            if self.keep_stages:
                res.stages[stage] = print_graph(graph)
                if name == "fusion":
                    from .fusion import format_groups
                    res.stages["fused"] = format_groups(graph)
            if _perf_log.isEnabledFor(logging.DEBUG):
                _perf_log.debug("pass %-14s %7.2f ms  %d nodes", name, 1e3 * (t1 - t0),
                                len(graph.nodes))
            if name == "fusion" and _fusion_log.isEnabledFor(logging.INFO):
                from .fusion import format_groups
                _fusion_log.info("fusion plan of %s:\n%s", graph.name, format_groups(
                    graph, why=_fusion_log.isEnabledFor(logging.DEBUG)).rstrip())
        res.graph = graph
        return res


_STAGE_NAMES = {"functionalize": "functional", "decompose": "decomposed",
                "canonicalize": "canonical", "cse": "cse", "dce": "dce", "fusion": "fused",
                "memory_plan": "planned", "autodiff": "autodiff"}
STAGES = ("traced",) + tuple(_STAGE_NAMES[p] for p in PIPELINE)


def run_pipeline(graph, passes=PIPELINE, keep_stages=None, verify_each=True):
    _load_passes()
    return PassManager(passes, verify_each, keep_stages).run(graph)


def _load_passes():
    from . import (functionalize, decompose, canonicalize, cse, dce, fusion,  # noqa: F401
                   memory_plan, autodiff)
