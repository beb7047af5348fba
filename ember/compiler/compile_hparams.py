"""Python-side state of a compiled training step: optimizer hyper-parameters as runtime inputs and
lr-scheduler steps replayed in order.

While tracing, the float hyper-parameters of every optimizer the function reaches ("lr" always;
any other float key once it has been seen to change between calls) are swapped for 0-d traced
inputs; around each scheduler step the floats are swapped back (schedulers compute with Python
numbers) and new inputs are swapped in afterwards, and after tracing the floats are restored.
(Swapping the values, not wrapping ``optimizer.step``: a scheduler wraps the bound step method of
its optimizer.)  Scheduler ``step()`` calls reach the recorder through the capture protocol's
scheduler hook (``frontend/capture.py``) and are recorded in the same event list.  On a later call the
events are replayed in order *before* the program runs: a scheduler step runs (it only touches
Python numbers), a hyper-parameter read takes the group's current value as the program input.  So a
scheduler that changes lr every step never recompiles, and ``sched.step(); opt.step()`` reads the
stepped lr exactly like eager.  A failed trace (a graph break) undoes the scheduler steps it ran.
"""
from __future__ import annotations

import copy

import numpy as np

from ..frontend.capture import HOOKS
from ..frontend.dispatch import STATE, _new


def _float_dtype(group):
    for p in group["params"]:
        d = getattr(p, "_data", None)
        if d is not None and np.dtype(d.dtype).kind == "f":
            return np.dtype(d.dtype)
    return np.dtype(np.float32)


class StepRecorder:
    """Context manager installed while tracing: the scheduler-step hook of the capture protocol
    (``frontend/capture.py``; this thread only) and the hyper-parameter inputs."""

    def __init__(self, hp_keys=frozenset(), optimizers=()):
        self.hp_keys = hp_keys
        self.optimizers = list(optimizers)
        self._swapped = []       # (group, key, float) while the group holds a traced input
        self.calls = []          # scheduler calls (s, args, kwargs), in order
        self.events = []         # ("sched", s, a, kw) | ("hp", group, key, np dtype)
        self.hp_values = []      # per hp read: its value while tracing (inputs of the first run)
        self.hp_index = {}       # id(traced input tensor) -> hp read index
        self.hp_tensors = []     # keeps those tensors alive while the variant is built
        self._prev_hook = None
        self._hooked = False
        self._saved = {}         # id(scheduler) -> (scheduler, its __dict__, its groups' floats)
        self._inside_sched = False
        self._inside_opt = False

    def __enter__(self):
        self._prev_hook, self._hooked = HOOKS.scheduler_step, True
        HOOKS.scheduler_step = self._sched_step
        self._swap_in()
        return self

    def __exit__(self, *exc):
        self.restore()
        return False

    def restore(self):
        self._swap_out()
        if self._hooked:
            HOOKS.scheduler_step, self._hooked = self._prev_hook, False

    # --- hyper-parameters ----------------------------------------------------------------------
    def _swap_in(self):
        """Each float hyper-parameter becomes a new 0-d traced input (one hp read event each)."""
        tracer = STATE.tracer
        if tracer is None or not self.hp_keys:
            return
        for opt in self.optimizers:
            for gi, group in enumerate(opt.param_groups):
                dtype = None
                for key in sorted(self.hp_keys):
                    val = group.get(key)
                    if val.__class__ is not float:
                        continue
                    dtype = dtype or _float_dtype(group)
                    t = _new(np.array(val, dtype=dtype))
                    tracer.lift(t, "const", f"{type(opt).__name__.lower()}_g{gi}_{key}")
                    self.hp_index[id(t)] = len(self.hp_values)
                    self.hp_values.append(val)
                    self.hp_tensors.append(t)
                    self.events.append(("hp", group, key, dtype))
                    group[key] = t
                    self._swapped.append((group, key, val))

    def _swap_out(self):
        for group, key, val in reversed(self._swapped):
            group[key] = val
        self._swapped = []

    # --- schedulers ----------------------------------------------------------------------------
    def _sched_step(self, step, s, a, kw):
        """A scheduler's step() while recording (an inner step of a composite scheduler runs
        inside its outer one and is not recorded again)."""
        outer = not self._inside_sched
        if outer:
            self._swap_out()     # the scheduler computes with the Python floats
            self.calls.append((s, a, kw))
            self.events.append(("sched", s, a, kw))
            if id(s) not in self._saved:
                groups = [{k: v for k, v in g.items() if k != "params"}
                          for g in s.optimizer.param_groups]
                self._saved[id(s)] = (s, copy.copy(vars(s)), copy.deepcopy(groups))
        self._inside_sched = True
        try:
            return step(s, *a, **kw)
        finally:
            self._inside_sched = not outer
            if outer:
                self._swap_in()  # later optimizer steps read the new values

    def undo_scheduler_steps(self):
        """After a failed trace: the scheduler steps it ran are undone (the eager rerun does them)."""
        self._swap_out()
        for s, state, groups in self._saved.values():
            s.__dict__.clear()
            s.__dict__.update(state)
            for g, saved in zip(s.optimizer.param_groups, groups):
                g.update(saved)


def replay(events):
    """Run the recorded scheduler steps in order and read the hyper-parameters where the traced
    optimizer steps read them; returns the values of the hp reads."""
    values = []
    for ev in events:
        if ev[0] == "sched":
            ev[1].step(*ev[2], **ev[3])
        else:
            values.append(ev[1][ev[2]])
    return values


def hp_array(value, dtype):
    return np.array(value.item() if hasattr(value, "item") and not isinstance(value, float)
                    else value, dtype=dtype)
