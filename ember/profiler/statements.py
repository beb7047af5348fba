"""Per-statement time and memory of generated modules (the NumPy backend's code is Python: each
statement is a NumPy call or a native kernel call).  ``sys.settrace`` follows only the frames of
the generated files; the profiler makes an event per statement, the HTML report sums them.
``tracemalloc`` (NumPy reports its allocations to it) gives the bytes allocated at each statement,
on top of the cached planned buffers."""
from __future__ import annotations

import sys
import time
import tracemalloc
from dataclasses import dataclass, field


class StatementTracer:
    """While active (a context manager), calls ``on_statement(code, lineno, t0_ns, t1_ns)`` after
    each statement of a frame whose file name ``wanted(filename)`` accepts.  Nested tracers are
    not supported: entering replaces any trace function, leaving restores it."""

    def __init__(self, wanted, on_statement):
        self.wanted = wanted
        self.on_statement = on_statement
        self._line = None
        self._code = None
        self._t = 0

    def _global(self, frame, event, arg):
        if event == "call" and self.wanted(frame.f_code.co_filename):
            self._line = None
            return self._local
        return None

    def _local(self, frame, event, arg):
        now = time.perf_counter_ns()
        if self._line is not None:
            self.on_statement(frame.f_code, self._line, self._t, now)
        self._line = frame.f_lineno if event == "line" else None
        self._t = time.perf_counter_ns()    # the tracer's own time is not the statement's
        return self._local

    def __enter__(self):
        self._previous = sys.gettrace()
        sys.settrace(self._global)
        return self

    def __exit__(self, *exc):
        sys.settrace(self._previous)
        return False


@dataclass
class StatementTimes:
    source: str
    seconds: dict = field(default_factory=dict)    # line number -> total seconds
    hits: dict = field(default_factory=dict)       # line number -> times run
    memory: list = field(default_factory=list)     # (line number, bytes allocated so far) in order
    peak_bytes: int = 0                            # tracemalloc's peak over the run
    total_seconds: float = 0.0

    def rows(self):
        """[(line number, statement text, seconds, hits)], slowest first."""
        lines = self.source.splitlines()
        out = [(ln, lines[ln - 1].strip() if 0 < ln <= len(lines) else "?", s, self.hits[ln])
               for ln, s in self.seconds.items()]
        return sorted(out, key=lambda r: -r[2])


class profile_statements:
    """``with profile_statements(filename, source) as st: module.run(...)``: fills ``st`` with
    each statement's total time, run count and the bytes allocated after it."""

    def __init__(self, filename, source):
        self.result = StatementTimes(source)
        self._tracer = StatementTracer(filename.__eq__, self._record)
        self._base = 0

    def _record(self, code, line, t0, t1):
        r = self.result
        r.seconds[line] = r.seconds.get(line, 0.0) + (t1 - t0) * 1e-9
        r.hits[line] = r.hits.get(line, 0) + 1
        r.memory.append((line, tracemalloc.get_traced_memory()[0] - self._base))

    def __enter__(self):
        self._was_tracing = tracemalloc.is_tracing()
        if not self._was_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]
        self._t0 = time.perf_counter()
        self._tracer.__enter__()
        return self.result

    def __exit__(self, *exc):
        self._tracer.__exit__(*exc)
        r = self.result
        r.total_seconds = time.perf_counter() - self._t0
        r.peak_bytes = tracemalloc.get_traced_memory()[1] - self._base
        if not self._was_tracing:
            tracemalloc.stop()
        return False
