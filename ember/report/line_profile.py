"""Per-statement time and memory of one run of a generated module (the NumPy backend's code is
Python: each statement is a NumPy call or a native kernel call).  ``sys.settrace`` sees only the
generated module's frames; ``tracemalloc`` (NumPy reports its allocations to it) gives the bytes
allocated at each statement, on top of the cached planned buffers."""
from __future__ import annotations

import sys
import time
import tracemalloc
from dataclasses import dataclass, field


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
    """``with profile_statements(filename, source) as st: module.run(...)``: fills ``st``."""

    def __init__(self, filename, source):
        self.filename = filename
        self.result = StatementTimes(source)
        self._line = None
        self._t = 0.0
        self._base = 0

    def _global(self, frame, event, arg):
        if event == "call" and frame.f_code.co_filename == self.filename:
            return self._local
        return None

    def _local(self, frame, event, arg):
        now = time.perf_counter()
        r = self.result
        if self._line is not None:
            r.seconds[self._line] = r.seconds.get(self._line, 0.0) + now - self._t
            r.hits[self._line] = r.hits.get(self._line, 0) + 1
            r.memory.append((self._line, tracemalloc.get_traced_memory()[0] - self._base))
        self._line = frame.f_lineno if event == "line" else None
        self._t = time.perf_counter()    # the tracer's own time is not the statement's
        return self._local

    def __enter__(self):
        self._was_tracing = tracemalloc.is_tracing()
        if not self._was_tracing:
            tracemalloc.start()
        tracemalloc.reset_peak()
        self._base = tracemalloc.get_traced_memory()[0]
        self._t0 = time.perf_counter()
        sys.settrace(self._global)
        return self.result

    def __exit__(self, *exc):
        sys.settrace(None)
        r = self.result
        r.total_seconds = time.perf_counter() - self._t0
        r.peak_bytes = tracemalloc.get_traced_memory()[1] - self._base
        if not self._was_tracing:
            tracemalloc.stop()
        return False
