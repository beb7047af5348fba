"""``ember.profiler``: ``torch.profiler``'s interface for ember.

    from ember.profiler import profile, record_function, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("train_step"):
            step(x, y)
    print(prof.key_averages().table(sort_by="cpu_time_total", row_limit=10))
    prof.export_chrome_trace("trace.json")      # chrome://tracing or ui.perfetto.dev

Events: every eager primitive (``ember::matmul``, ``ember::add``, ...: ember's primitives play
aten's part), every call of an ``ember.compile``d function (``ember.compile::<name>``) with one
child event per statement of its generated module (``kernel::<statement>``: a NumPy call or a
native kernel), and ``record_function`` ranges.  Times are host wall-clock times (CUDA work is
timed as its host-side launch and copies).

Cost when off: eager ops check one global (``STATE.record_hook``, set only while profiling or by
tests); compiled calls check one more.  While on, each op costs about a microsecond more and
compiled programs run under ``sys.settrace`` (their statements take longer than unprofiled).
"""
from __future__ import annotations

import enum
import json
import os
import threading
import time
from collections import OrderedDict

from ..frontend import dispatch
from ..frontend.dispatch import STATE
from .statements import StatementTracer

__all__ = ["profile", "record_function", "ProfilerActivity", "ProfilerAction", "schedule",
           "FunctionEvent", "EventList"]


class ProfilerActivity(enum.Enum):
    CPU = "cpu"
    CUDA = "cuda"


class ProfilerAction(enum.Enum):
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3


def schedule(*, wait, warmup, active, repeat=0, skip_first=0):
    """``torch.profiler.schedule``: step number -> ProfilerAction (skip_first steps, then cycles
    of wait, warmup and active steps, ``repeat`` cycles or forever when 0)."""
    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise ValueError("schedule: wait, warmup, repeat and skip_first must be >= 0 and active "
                         "> 0")

    def action(step):
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        cycle = wait + warmup + active
        if repeat > 0 and step // cycle >= repeat:
            return ProfilerAction.NONE
        k = step % cycle
        if k < wait:
            return ProfilerAction.NONE
        if k < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if k < cycle - 1 else ProfilerAction.RECORD_AND_SAVE
    return action


class FunctionEvent:
    """One timed range: name, start and duration (ns, perf_counter clock), input shapes, the
    time spent in its children (for self time), nesting depth and thread."""
    __slots__ = ("name", "cat", "start_ns", "dur_ns", "input_shapes", "child_ns", "depth", "tid")

    def __init__(self, name, cat, start_ns, input_shapes, depth, tid):
        self.name, self.cat, self.start_ns = name, cat, start_ns
        self.input_shapes, self.depth, self.tid = input_shapes, depth, tid
        self.dur_ns = 0
        self.child_ns = 0

    @property
    def cpu_time_total(self):      # microseconds, like torch
        return self.dur_ns / 1e3

    @property
    def self_cpu_time_total(self):
        return (self.dur_ns - self.child_ns) / 1e3

    def __repr__(self):
        return f"<FunctionEvent {self.name} {self.cpu_time_total:.1f} us>"


class FunctionEventAvg:
    """Events of one key summed (key_averages): count and total/self times in microseconds."""

    def __init__(self, key, input_shapes):
        self.key = key
        self.input_shapes = input_shapes
        self.count = 0
        self.cpu_time_total = 0.0
        self.self_cpu_time_total = 0.0

    @property
    def cpu_time(self):            # the average, like torch's FunctionEventAvg.cpu_time
        return self.cpu_time_total / max(self.count, 1)

    def add(self, e):
        self.count += 1
        self.cpu_time_total += e.cpu_time_total
        self.self_cpu_time_total += e.self_cpu_time_total

    def __repr__(self):
        return (f"<FunctionEventAvg {self.key} count={self.count} "
                f"cpu_time_total={self.cpu_time_total:.1f} us>")


_SORT_KEYS = {"cpu_time_total": "cpu_time_total", "self_cpu_time_total": "self_cpu_time_total",
              "cpu_time": "cpu_time", "count": "count", "self_cpu_time": "self_cpu_time_total"}


class EventList(list):
    """A list of FunctionEventAvg with torch's ``table()``."""

    def __init__(self, items, with_shapes=False):
        super().__init__(items)
        self.with_shapes = with_shapes

    def table(self, sort_by=None, row_limit=100, max_name_column_width=55, header=None):
        if sort_by is not None and sort_by not in _SORT_KEYS:
            raise ValueError(f"table: sort_by must be one of {', '.join(_SORT_KEYS)}, got "
                             f"{sort_by!r}")
        rows = list(self)
        if sort_by is not None:
            rows.sort(key=lambda e: -getattr(e, _SORT_KEYS[sort_by]))
        total_self = sum(e.self_cpu_time_total for e in self) or 1.0
        total = max([e.cpu_time_total for e in self] + [total_self])
        if row_limit is not None and row_limit >= 0:
            rows = rows[:row_limit]
        width = min(max([len(e.key) for e in rows] + [4]), max_name_column_width)
        cols = ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg",
                "# of Calls"]
        shape_w = 0
        if self.with_shapes:
            shape_w = min(max([len(str(e.input_shapes)) for e in rows] + [12]), 60)
        line = "-" * width + "  " + "  ".join("-" * 12 for _ in cols) + \
            ("  " + "-" * shape_w if shape_w else "")
        out = [header] if header else []
        out += [line, f"{'Name':>{width}}  " + "  ".join(f"{c:>12}" for c in cols)
                + (f"  {'Input Shapes':>{shape_w}}" if shape_w else ""), line]
        for e in rows:
            name = e.key if len(e.key) <= width else e.key[:width - 3] + "..."
            cells = [f"{100 * e.self_cpu_time_total / total_self:.2f}%",
                     _us(e.self_cpu_time_total), f"{100 * e.cpu_time_total / total:.2f}%",
                     _us(e.cpu_time_total), _us(e.cpu_time), str(e.count)]
            shapes = str(e.input_shapes)[:shape_w] if shape_w else ""
            out.append(f"{name:>{width}}  " + "  ".join(f"{c:>12}" for c in cells)
                       + (f"  {shapes:>{shape_w}}" if shape_w else ""))
        out.append(line)
        out.append(f"Self CPU time total: {_us(total_self)}")
        return "\n".join(out) + "\n"

    def __str__(self):
        return self.table()


def _us(us):
    if us >= 1e6:
        return f"{us / 1e6:.3f}s"
    if us >= 1e3:
        return f"{us / 1e3:.3f}ms"
    return f"{us:.3f}us"


def _shapes(args):
    return [list(a._data.shape) if hasattr(a, "_data") else [] for a in args]


class profile:
    """``torch.profiler.profile``: a context manager (or ``start()``/``stop()``) recording eager
    ops, compiled calls and their statements, and ``record_function`` ranges.

    activities: ProfilerActivity values (CPU and CUDA both record host times); record_shapes:
    keep input shapes (``key_averages(group_by_input_shape=True)``); schedule / on_trace_ready /
    ``step()``: record only the steps the schedule marks, calling on_trace_ready(prof) after each
    active span.  profile_memory, with_stack, with_flops, with_modules are accepted and ignored.
    """

    def __init__(self, *, activities=None, schedule=None, on_trace_ready=None,
                 record_shapes=False, profile_memory=False, with_stack=False, with_flops=False,
                 with_modules=False, experimental_config=None, use_cuda=None):
        self.activities = set(activities or (ProfilerActivity.CPU,))
        self.schedule = schedule
        self.on_trace_ready = on_trace_ready
        self.record_shapes = record_shapes
        self.events = []
        self.step_num = 0
        self._stack = []
        self._recording = False
        self._entered = False
        self._prev_hook = None
        self._sources = {}           # generated file name -> its source lines
        self._t0 = time.perf_counter_ns()

    # --- on and off -------------------------------------------------------------------------------
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self):
        if self._entered:
            raise RuntimeError("profile: already started")
        if STATE.profiler is not None:
            raise RuntimeError("profile: another ember profiler is active (they do not nest)")
        self._entered = True
        STATE.profiler = self
        self._set_recording(self._action() in (ProfilerAction.RECORD,
                                               ProfilerAction.RECORD_AND_SAVE))

    def stop(self):
        if not self._entered:
            return
        was = self._recording
        self._set_recording(False)
        STATE.profiler = None
        self._entered = False
        if was and self.on_trace_ready is not None:   # the span still recording ends here
            self.on_trace_ready(self)

    def step(self):
        """Mark the end of a training step (with a schedule: maybe start/stop recording)."""
        before = self._action()
        self.step_num += 1
        after = self._action()
        if before == ProfilerAction.RECORD_AND_SAVE:
            self._set_recording(False)
            if self.on_trace_ready is not None:
                self.on_trace_ready(self)
        if after in (ProfilerAction.RECORD, ProfilerAction.RECORD_AND_SAVE):
            if before == ProfilerAction.RECORD_AND_SAVE:
                self.events = []         # a new active span
            self._set_recording(True)
        else:
            self._set_recording(False)

    def _action(self):
        return ProfilerAction.RECORD if self.schedule is None else self.schedule(self.step_num)

    def _set_recording(self, on):
        if on and not self._recording:
            self._prev_hook = STATE.record_hook
            STATE.record_hook = self._hook
        elif not on and self._recording:
            STATE.record_hook = self._prev_hook
        self._recording = on

    def _hook(self, prim):
        # STATE.record_hook while recording; bind() then calls op() (a test's spy still runs)
        if self._prev_hook is not None:
            self._prev_hook(prim)

    # --- recording --------------------------------------------------------------------------------
    def _open(self, name, cat, shapes=None):
        e = FunctionEvent(name, cat, time.perf_counter_ns(),
                          shapes if self.record_shapes else None, len(self._stack),
                          threading.get_ident())
        self._stack.append(e)
        return e

    def _close(self, e):
        e.dur_ns = time.perf_counter_ns() - e.start_ns
        self._stack.pop()
        if self._stack:
            self._stack[-1].child_ns += e.dur_ns
        self.events.append(e)

    def op(self, prim, args, params):
        """An eager primitive (called by dispatch.bind while a record hook is set)."""
        if not self._recording:
            hook, STATE.record_hook = STATE.record_hook, None
            try:
                return dispatch.bind(prim, *args, **params)
            finally:
                STATE.record_hook = hook
        e = self._open(f"ember::{prim.name}", "cpu_op", _shapes(args) if self.record_shapes
                       else None)
        hook, STATE.record_hook, STATE.profiler = STATE.record_hook, None, None
        try:
            return dispatch.bind(prim, *args, **params)
        finally:
            STATE.record_hook, STATE.profiler = hook, self
            self._close(e)

    def compiled_call(self, cf, args, kwargs):
        """A call of an ember.compile'd function: one event, a child per generated statement."""
        if not self._recording:
            return cf._call(*args, **kwargs)
        for v in cf.variants:
            self._learn_sources(v)
        e = self._open(f"ember.compile::{cf.__name__}", "compiled",
                       _shapes([a for a in args if hasattr(a, "_data")]))
        try:
            with StatementTracer(self._is_generated, self._statement):
                out = cf._call(*args, **kwargs)
        finally:
            self._close(e)
        for v in cf.variants:      # a first call compiled a variant: name its statements later
            self._learn_sources(v)
        return out

    def _learn_sources(self, v):
        mods = [getattr(v, "module", None)]
        if getattr(v, "segments", None) is not None:
            mods += [getattr(seg, "module", None) for _, seg in v.segments.segments()]
        for m in mods:
            call = getattr(m, "call", None)
            src = getattr(m, "source", None)
            if call is not None and src is not None:
                self._sources.setdefault(call.__code__.co_filename, src.splitlines())

    @staticmethod
    def _is_generated(filename):
        return filename.startswith("<ember")

    def _statement(self, code, line, t0, t1):
        lines = self._sources.get(code.co_filename)
        text = lines[line - 1].strip() if lines and 0 < line <= len(lines) else \
            f"{code.co_filename}:{line}"
        e = FunctionEvent(f"kernel::{text}", "kernel", t0, None, len(self._stack),
                          threading.get_ident())
        e.dur_ns = t1 - t0
        if self._stack:
            self._stack[-1].child_ns += e.dur_ns
        self.events.append(e)

    # --- results ----------------------------------------------------------------------------------
    def key_averages(self, group_by_input_shape=False):
        """Events summed per name (and input shapes when asked and recorded)."""
        groups = OrderedDict()
        for e in sorted(self.events, key=lambda e: e.start_ns):
            shapes = e.input_shapes if group_by_input_shape else None
            key = (e.name, repr(shapes))
            avg = groups.get(key)
            if avg is None:
                avg = groups[key] = FunctionEventAvg(e.name, shapes if shapes is not None else [])
            avg.add(e)
        return EventList(groups.values(), with_shapes=group_by_input_shape)

    def export_chrome_trace(self, path):
        """The events as Chrome trace JSON (chrome://tracing, ui.perfetto.dev): complete ("X")
        events in microseconds since the profiler was made."""
        pid = os.getpid()
        trace = []
        for e in sorted(self.events, key=lambda e: e.start_ns):
            ev = {"name": e.name, "cat": e.cat, "ph": "X", "pid": pid, "tid": e.tid,
                  "ts": (e.start_ns - self._t0) / 1e3, "dur": e.dur_ns / 1e3}
            if e.input_shapes is not None:
                ev["args"] = {"Input Dims": e.input_shapes}
            trace.append(ev)
        with open(path, "w") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms",
                       "otherData": {"profiler": "ember.profiler"}}, f)
        return path


class record_function:
    """A named range in the profile (context manager or decorator); free when not profiling."""

    def __init__(self, name, args=None):
        self.name = name
        self._event = None

    def __enter__(self):
        prof = STATE.profiler
        if prof is not None and prof._recording:
            self._prof = prof
            self._event = prof._open(self.name, "user_annotation")
        return self

    def __exit__(self, *exc):
        if self._event is not None:
            self._prof._close(self._event)
            self._event = None
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapper
