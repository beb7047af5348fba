"""ember.profiler against torch.profiler's interface: events for eager ops, compiled calls and
their statements, record_function ranges, the key_averages table, the Chrome trace, schedules."""
from __future__ import annotations

import json

import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember.frontend.dispatch import STATE
from ember.profiler import (ProfilerAction, ProfilerActivity, profile, record_function,
                            schedule)


def _model():
    ember.manual_seed(0)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_eager_ops_with_shapes_and_table():
    m = _model()
    x = ember.randn(5, 8)
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        with record_function("forward_backward"):
            F.cross_entropy(m(x), ember.zeros(5, dtype=ember.int64)).backward()
    names = {e.name for e in prof.events}
    assert {"forward_backward", "ember::matmul", "ember::gather"} <= names
    outer = next(e for e in prof.events if e.name == "forward_backward")
    inner = [e for e in prof.events if e.name.startswith("ember::")]
    assert all(outer.start_ns <= e.start_ns and e.start_ns + e.dur_ns <= outer.start_ns +
               outer.dur_ns for e in inner)
    assert outer.self_cpu_time_total < outer.cpu_time_total
    avgs = prof.key_averages()
    mm = next(a for a in avgs if a.key == "ember::matmul")
    assert mm.count == sum(e.name == "ember::matmul" for e in prof.events) >= 2
    table = avgs.table(sort_by="cpu_time_total", row_limit=5)
    lines = table.splitlines()
    assert "Self CPU %" in lines[1] and "# of Calls" in lines[1]
    assert lines[3].strip().startswith("forward_backward")       # the largest total first
    assert len([ln for ln in lines if "ember::" in ln or "forward" in ln]) == 5
    assert lines[-1].startswith("Self CPU time total:")
    by_shape = prof.key_averages(group_by_input_shape=True)
    assert any(a.key == "ember::matmul" and a.input_shapes == [[5, 8], [8, 16]] for a in by_shape)
    assert "Input Shapes" in by_shape.table(sort_by="self_cpu_time_total")
    with pytest.raises(ValueError, match="sort_by"):
        avgs.table(sort_by="gpu_time")


def test_compiled_calls_and_their_statements(tmp_path):
    m = _model()
    opt = ember.optim.SGD(m.parameters(), lr=0.1)

    @ember.compile
    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
        return loss
    x, y = ember.randn(5, 8), ember.zeros(5, dtype=ember.int64)
    step(x, y)
    with profile(record_shapes=True) as prof:
        step(x, y)
    call = next(e for e in prof.events if e.name == "ember.compile::step")
    kernels = [e for e in prof.events if e.cat == "kernel"]
    assert kernels and any("np.matmul" in e.name for e in kernels)
    assert all(call.start_ns <= k.start_ns <= call.start_ns + call.dur_ns for k in kernels)
    assert call.input_shapes == [[5, 8], [5]]
    path = prof.export_chrome_trace(str(tmp_path / "trace.json"))
    trace = json.load(open(path))
    events = trace["traceEvents"]
    assert len(events) == len(prof.events)
    e = next(e for e in events if e["name"] == "ember.compile::step")
    assert e["ph"] == "X" and e["dur"] > 0 and e["args"]["Input Dims"] == [[5, 8], [5]]
    assert all(k in e for k in ("ts", "pid", "tid", "cat"))


def test_off_means_no_hook_and_results_unchanged():
    assert STATE.record_hook is None and STATE.profiler is None
    x = ember.randn(3, 3, requires_grad=True)
    with profile() as prof:
        y = (x @ x).relu().sum()
    assert STATE.record_hook is None and STATE.profiler is None
    y.backward()
    assert x.grad is not None and prof.events
    with record_function("nobody listens"):     # free without a profiler
        pass


def test_schedule_records_only_active_steps():
    sched = schedule(wait=1, warmup=1, active=2, repeat=1)
    assert [sched(i) for i in range(5)] == [
        ProfilerAction.NONE, ProfilerAction.WARMUP, ProfilerAction.RECORD,
        ProfilerAction.RECORD_AND_SAVE, ProfilerAction.NONE]
    ready = []
    x = ember.randn(4, 4, requires_grad=True)
    with profile(schedule=sched, on_trace_ready=lambda p: ready.append(
            sorted({e.name for e in p.events}))) as prof:
        for i in range(5):
            with record_function(f"step{i}"):
                (x * 2).sum()
            prof.step()
    assert len(ready) == 1 and "ember::mul" in ready[0]
    assert [n for n in ready[0] if n.startswith("step")] == ["step2", "step3"]
    with pytest.raises(ValueError):
        schedule(wait=0, warmup=0, active=0)


def test_on_trace_ready_without_schedule_runs_at_exit():
    seen = []
    with profile(on_trace_ready=lambda p: seen.append(len(p.events))):
        ember.ones(2, requires_grad=True).exp()
    assert len(seen) == 1 and seen[0] >= 1


def test_profilers_do_not_nest():
    with profile():
        with pytest.raises(RuntimeError, match="another ember profiler"):
            profile().start()
