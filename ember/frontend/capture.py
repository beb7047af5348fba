"""The capture protocol: how ``ember.compile`` sees the Python objects a compiled function reaches.

``ember.compile`` sits above nn and optim and never imports them: the classes whose state a traced
step bakes in implement this protocol instead (nn.Module, optim.Optimizer, the lr schedulers).

* ``_capture_kind``: "module", "optimizer" or "scheduler";
* ``_capture_tensors()``: ``[(name, tensor, input kind)]``, the tensors a trace captures before the
  function runs (parameters and buffers, an optimizer's parameters), so that what the function
  does to them (``zero_grad()``, ``step()``) acts on traced tensors;
* ``_capture_guards()``: ``[(label, value, hp_key)]``, the Python values traced code bakes in (a
  module's ``training`` flags, an optimizer's hyper-parameters; ``hp_key`` names a float
  ``param_groups`` key the compiler may turn into a runtime input instead);
* events while tracing: ``zero_grad`` and ``backward`` tell the active tracer
  (``Tracer.note_zero_grad``, ``Tracer.saw_backward``), and a scheduler's ``step`` goes through
  ``HOOKS.scheduler_step`` when the compiler installs one (``scheduler_step`` below).

Hooks and tracer are per thread, so a step traced in one thread leaves other threads alone.
"""
from __future__ import annotations

import functools
import threading


class Capturable:
    """Base of the classes a compiled function captures (the protocol above)."""
    _capture_kind = None

    def _capture_tensors(self):
        return []

    def _capture_guards(self):
        return []


class _Hooks(threading.local):
    scheduler_step = None    # callable(step, scheduler, args, kwargs) while the compiler records


HOOKS = _Hooks()


def scheduler_step(step):
    """Wraps a scheduler's ``step``: with a recorder installed (the compiler, while tracing or
    running a compiled step in segments) the call goes through it, which records the step for
    replay and swaps traced hyper-parameters out around it; otherwise it is the plain call."""
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        hook = HOOKS.scheduler_step
        if hook is None:
            return step(self, *args, **kwargs)
        return hook(step, self, args, kwargs)
    wrapper._capture_wrapped = True
    return wrapper
