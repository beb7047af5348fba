"""Graph breaks and compile errors of ``ember.compile`` (compiler/compile.py): a trace that hits
data-dependent Python makes its variant run in compiled segments around the break
(compile_segments.py; eager when ``config.segment_breaks`` is off), reported once, or raises under
fullgraph=True."""
from __future__ import annotations

import warnings

from ..frontend.tensor import Tensor


class CompileError(RuntimeError):
    """Compilation failed (a graph break under fullgraph=True, a recompile limit, an internal error);
    the message names the user's file and line."""


class RecompileLimitWarning(UserWarning):
    pass


class GraphBreakWarning(UserWarning):
    pass


def user_stacklevel():
    """The ``stacklevel`` that makes a warning issued by the caller point at the innermost frame
    outside ember (the user's line) instead of at ember's own code."""
    import sys
    from ..frontend.trace import _inside_ember
    f, level = sys._getframe(1), 1     # stacklevel 1: the caller of warnings.warn
    while f is not None and _inside_ember(f.f_code.co_filename):
        f, level = f.f_back, level + 1
    return level


_BROKE = object()   # _trace's result: the variant is ready to run (or marked eager)
_RETRY = object()   # _trace's result: trace again with fewer hyper-parameter inputs


class GraphBreaks:
    """CompiledFunction's graph-break side."""

    def _graph_break(self, v, sigs, err):
        """A trace raised TraceError: this signature runs in compiled segments around its breaks
        (or eagerly; CompileError under fullgraph), reported once per break site and reason."""
        from .compile import _GLOBAL, config
        from .compile_segments import SegmentPlan
        msg = str(err)
        if self.fullgraph:
            raise CompileError(f"ember.compile(fullgraph=True): graph break in {self.__name__}: "
                               f"{msg}") from None
        v.arg_sigs = list(sigs)
        # "file:line: what" (the key the segmented calls report breaks under)
        key = msg.split(" needs the value of a traced tensor")[0]
        segmented = config.segment_breaks and key != msg
        if segmented:
            v.segments = SegmentPlan(key)
            how = "compiled in segments around it"
        else:
            v.eager = msg
            how = "this signature runs eagerly"
        _GLOBAL["graph_breaks"] += 1
        if key not in self.reported_breaks:
            self.reported_breaks.add(key)
            self.stats["graph_breaks"].append(key if segmented else msg)
            if config.log_graph_breaks:
                warnings.warn(f"ember.compile: graph break in {self.__name__} ({how}): {msg}",
                              GraphBreakWarning, stacklevel=user_stacklevel())
        return _BROKE

    def _drop_escaped(self, tracer):
        """After a failed trace: optimizer state the trace created holds traced tensors; drop those
        entries so the eager run creates them again."""
        for obj in self._objs or ():
            if hasattr(obj, "param_groups"):
                for st in obj.state.values():
                    for k in [k for k, val in st.items() if isinstance(val, Tensor) and
                              val._value is not None]:
                        del st[k]

