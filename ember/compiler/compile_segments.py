"""Compiled segments around graph breaks (``ember.compile``, frontend/compile.py).

A signature whose trace hits data-dependent Python (``loss.item()``, ``if loss > x``, ``.tolist()``,
``.numpy()``) is not made eager: every call re-runs the Python function with a tracer installed,
and the tensor work between two breaks becomes one compiled program (a *segment*):

* **Record** (first time a path is seen): ops are traced as usual.  At a break (and at the
  function's return) the graph so far is finished with every traced tensor that is still alive as
  an output, compiled (passes + backend, like a whole-function variant), run on this call's
  arrays, and every live traced tensor is *materialized* in place: it gets its concrete array and
  keeps its autograd history (so a ``backward()`` after the break, or after the call, walks back
  through the prefix's tape nodes, whose saved tensors are materialized too).  Then the break runs
  concretely (``item()`` returns a number), and tracing starts again for the next segment.  Every
  op of the segment is logged as an *event*: its primitive, its Python parameters, which earlier
  events its inputs came from, and for a captured tensor its dtype and shape.
* **Replay** (later calls): the Python function runs again, but an op costs only a comparison with
  the recorded event at its position (primitive, parameters, input events, shapes): no shape
  inference, no graph building.  Tensors carry their event index as a token.  At the break the
  segment's compiled program runs on this call's arrays and random seeds, live tensors are
  materialized, and the next segment replays the same way.
* **Paths.**  A segment's successor depends on what Python did with the break's value.  Each
  position in the call (a *slot*) keeps up to ``config.segment_paths`` recorded segments; replay
  follows every recorded segment that still matches (a branch taken differently diverges at its
  first different op).  When none matches and the slot has room, the ops replayed so far are
  traced into a new recording and the call goes on recording that path; when the slot is full,
  the ops replayed so far are evaluated with each primitive's NumPy rule (what eager dispatch
  runs), the tensors are materialized and the rest of the call runs eagerly.

Because a replayed segment runs exactly the ops Python asked for on this call's arrays, with the
parameters compared and the seeds this call drew, its results are eager's: what is baked into a
program (Python numbers, shapes, dtypes) is checked per op, not guessed by guards.  Random ops draw
their seeds from the generator while Python runs, exactly as eager does, and those seeds are fed to
the program, so the random stream is eager's whatever the breaks.

Learning rates are baked into the programs like any Python number until one changes between calls
(an lr scheduler); from then on the segments take every optimizer's lr as a 0-d input (recorded
once more), so a scheduler stepping every call replays one path.  Not covered (documented in
docs/compile.md): other Python numbers that change every call are a new path each time (such calls
end up eager).  Views: a live view is re-derived at a cut as NumPy's view of its source (eager's
aliasing), and an untraced view enters the next segment as its view op on its source, so writes
through it reach the base; only a view whose source was written in place before the cut, and that
is not used after it, keeps a copy.
"""
from __future__ import annotations

import gc
import time
import warnings
import weakref

import numpy as np

from .compile_breaks import CompileError, GraphBreakWarning, user_stacklevel
from ..frontend.dispatch import STATE
from ..frontend.tensor import Tensor

# keys the IR tracer's lift() pops; a segment keeps the autograd ones (history across a break)
_AUTOGRAD_KEYS = ("_grad_fn", "_out_idx", "_hooks", "_retains_grad", "grad")
_VIEW_KEYS = ("_base", "_view_src", "_tver")


class _Diverged(Exception):
    """Replay: this call's op differs from every recorded segment at this position."""


class Segment:
    """One compiled program between two cuts (breaks or the return), with its event log."""

    def __init__(self):
        self.events = []         # ("L", np dtype, shape, TracedData) | (prim, params, ins, TD, rnd)
        self.end = None          # "break" or "return"
        self.reason = None       # the break's message (file:line, what)
        self.inputs = []         # graph input order -> lift event index
        self.outputs = {}        # event index -> output position
        self.covered = set()     # event indices a live tensor may hold (lifts and outputs)
        self.derived = set()     # views re-derived from their source instead of output
        self.mutations = {}      # lift event -> event of the value written back into it
        self.seed_events = []    # random events, in the program's seed order
        self.module = None
        self.source_code = None  # the generated NumPy module (numpy backend)
        self.n_nodes = 0
        self.next = None         # the Slot after this segment's break
        self.runs = 0


class Slot:
    """A position in the call: the segments recorded there (one per path Python took)."""

    def __init__(self):
        self.candidates = []


class SegmentPlan:
    """A segmented variant's state: the slot tree and counters."""

    def __init__(self, reason):
        self.root = Slot()
        self.reason = reason
        self.compiled = 0
        self.divergences = 0
        self.eager_tails = 0
        self.lr_inputs = False      # optimizers' lr are 0-d inputs (once seen to change)
        self.last_lrs = None        # the lr floats at the start of the previous call

    def check_lrs(self, optimizers):
        """Make lr a runtime input once it has changed between calls (a scheduler): the paths
        recorded with lr baked in are dropped and recorded again, once."""
        lrs = tuple(g.get("lr") for o in optimizers for g in o.param_groups)
        if not self.lr_inputs and self.last_lrs is not None and lrs != self.last_lrs:
            self.lr_inputs = True
            self.root = Slot()
        self.last_lrs = lrs
        return self.lr_inputs

    def segments(self):
        """[(name, Segment)] in tree order (names as in describe(): "0", "0.1", ...)."""
        out = []

        def walk(slot, label):
            for i, seg in enumerate(slot.candidates):
                out.append((f"{label}{i}", seg))
                if seg.next is not None:
                    walk(seg.next, f"{label}{i}.")
        walk(self.root, "")
        return out

    def describe(self, indent="    "):
        lines = []

        def walk(slot, depth, label):
            for i, seg in enumerate(slot.candidates):
                name = f"{label}{i}"
                end = (f"break: {seg.reason}" if seg.end == "break" else "return")
                lines.append(f"{indent}{'  ' * depth}segment {name}: {seg.n_nodes} nodes, "
                             f"{len(seg.events)} events, ran {seg.runs}x -> {end}")
                if seg.next is not None:
                    walk(seg.next, depth + 1, name + ".")
        walk(self.root, 0, "")
        lines.append(f"{indent}{self.compiled} segment program(s) compiled, {self.divergences} "
                     f"divergence(s), {self.eager_tails} call tail(s) run eagerly")
        return lines


def _same_params(event, params):
    """Do this call's parameters equal the recorded ones (a random op's seed aside)?"""
    try:
        if event[4]:
            return event[1] == {k: v for k, v in params.items() if k != "seed"}
        return event[1] == params
    except Exception:   # parameters that do not compare (arrays): never the same
        return False


def _replayed_ops(tr):
    """(event index, None for a captured tensor or (prim, params with this call's seed, input
    events)) for each op a replay tracer has matched so far."""
    ref = tr.alive[0].events
    for j in range(tr.pos):
        e = ref[j]
        if e[0].__class__ is str:
            yield j, None
        else:
            yield j, (e[0], dict(e[1], seed=tr.seeds[j]) if e[4] else e[1], e[2])


_ref = weakref.ref


def _concrete_view(t):
    """Is `t` an untraced view of another tensor (an eager view, or one materialized at an
    earlier break)?"""
    d = t.__dict__
    return d.get("_view_src") is not None and d.get("_base") is not None and "_tver" not in d


def _trace_view(tracer, t):
    """Bring a concrete view into the trace as the view op applied to its (traced) source rather
    than as an input of its own: a write through it then reaches its base inside the segment, and
    it reads what was written into its base, as in eager."""
    parent, prim, params = t.__dict__["_view_src"]
    new = tracer.bind(prim, (parent,), params)
    if new._value is None:      # the replay diverged and ran this eagerly: t stays concrete
        return None
    t._value, t._data = new._value, new._data
    t._tver = new._tver
    tracer.run.track(t)
    return t._value


def _derivable(d):
    """Is the traced tensor with __dict__ `d` a view made in this segment whose source has not
    been written since (so its value is the view op applied to the source's final array)?"""
    src = d.get("_view_src")
    return src is not None and "_tver" in d and d["_tver"] == d["_base"]._ver


# --- tracers --------------------------------------------------------------------------------------
_CLASSES = None


def _tracer_classes():
    """(RecordTracer, ReplayTracer), built on first use (ember.ir imports the frontend)."""
    global _CLASSES
    if _CLASSES is not None:
        return _CLASSES
    from ..frontend.trace import Tracer, TraceError, traced_result
    from ..frontend import dispatch

    class RecordTracer(Tracer):
        """The IR tracer, logging every lift and bind as an event of the segment."""

        def __init__(self, run):
            super().__init__()
            self.run = run
            self.seg = Segment()
            self.index = {}          # graph Value -> event index

        def lift(self, t, kind="const", name=None, target=None, dynamic_dims=()):
            entry = self.lifted.get(id(t))
            if entry is not None:
                return entry[2]
            if _concrete_view(t):
                return _trace_view(self, t)
            keep = {k: t.__dict__[k] for k in _AUTOGRAD_KEYS if k in t.__dict__}
            value = super().lift(t, kind, name, target)
            t.__dict__.update(keep)
            arr = self.lifted[id(t)][3]
            self.index[value] = len(self.seg.events)
            self.seg.events.append(("L", arr.dtype, arr.shape, t._data))
            self.run.track(t)
            return value

        def bind(self, prim, args, params):
            t = Tracer.bind(self, prim, args, params)
            index = self.index
            try:
                ins = tuple([index[a._value] for a in args])
            except KeyError:
                raise TraceError("a tensor traced in another segment reached this one "
                                 "(internal error of compiled segments)") from None
            rnd = "seed" in params
            pc = {k: v for k, v in params.items() if k != "seed"} if rnd else dict(params)
            index[t._value] = len(self.seg.events)
            self.seg.events.append((prim, pc, ins, t._data, rnd))
            self.run.track(t)
            return t

        def write(self, target, result):
            if result._value is None:    # x.copy_(an untraced tensor): no op captures it
                self.lift(result)
            Tracer.write(self, target, result)

    class ReplayTracer(Tracer):
        """Checks each op against the recorded segments of a slot; tensors carry event indices."""

        def __init__(self, run, slot):
            super().__init__()
            self.run = run
            self.alive = list(slot.candidates)
            self.pos = 0
            self.lift_arrays = {}    # lift event -> this call's array
            self.seeds = {}          # random event -> this call's seed
            self.in_write = False
            self._track = run.tracked.append

        def lift(self, t, kind="const", name=None, target=None, dynamic_dims=()):
            entry = self.lifted.get(id(t))
            if entry is not None:
                return entry[2]
            if _concrete_view(t):
                return _trace_view(self, t)
            arr = t._data
            if arr.__class__ is not np.ndarray:
                raise _Diverged
            j = self.pos
            dtype, shape = arr.dtype, arr.shape
            alive = [c for c in self.alive if j < len(c.events) and
                     c.events[j][0].__class__ is str and c.events[j][1] == dtype and
                     c.events[j][2] == shape]
            if not alive:
                raise _Diverged
            self.alive = alive
            self.pos = j + 1
            self.lifted[id(t)] = (t, dict(t.__dict__), j, arr)
            d = t.__dict__
            for k in _VIEW_KEYS:
                d.pop(k, None)
            t._data = alive[0].events[j][3]
            t._value = j
            self.lift_arrays[j] = arr
            self.run.track(t)
            return j

        def bind(self, prim, args, params):
            j = self.pos
            try:
                for a in args:
                    if a._value is None:
                        self.lift(a)
                        if STATE.tracer is not self:  # a view's lift diverged
                            return dispatch.bind(prim, *args, **params)
                        j = self.pos
                    elif a._base is not None and "_tver" in a.__dict__ and \
                            a._tver != a._base._ver:
                        self._refresh(a)
                        if STATE.tracer is not self:  # the refresh diverged: record or eager
                            return dispatch.bind(prim, *args, **params)
                        j = self.pos
                ins = tuple([a._value for a in args])
                alive = self.alive
                if len(alive) == 1:          # the common case: one recorded path here
                    events = alive[0].events
                    if j >= len(events):
                        raise _Diverged
                    e = events[j]
                    if e[0] is not prim or e[2] != ins or \
                            not (_same_params(e, params) if e[4] else e[1] == params):
                        raise _Diverged
                else:
                    alive = [c for c in alive if j < len(c.events) and c.events[j][0] is prim
                             and c.events[j][2] == ins and _same_params(c.events[j], params)]
                    if not alive:
                        raise _Diverged
                    self.alive = alive
                    e = alive[0].events[j]
            except _Diverged:
                if self.in_write:
                    raise CompileError(
                        "ember.compile: a compiled segment diverged inside an in-place write "
                        "through a view; this case is not supported (compile with "
                        "backend='eager' or restructure the write)") from None
                if self.run.diverge():     # now recording this path
                    return STATE.tracer.bind(prim, args, params)
                return dispatch.bind(prim, *args, **params)
            self.pos = j + 1
            if e[4]:
                self.seeds[j] = params["seed"]
            t = traced_result(prim, args, params, e[3], j)
            self._track(_ref(t))
            return t

        def write(self, target, result):
            # the result (as in RecordTracer.write) and the target are captured first; either
            # may diverge, and then the write goes to the new tracer, or runs eagerly
            for x in (result, target):
                if x._value is None:
                    try:
                        self.lift(x)
                    except _Diverged:
                        self.run.diverge()
                    if STATE.tracer is not self:
                        if STATE.tracer is not None:
                            STATE.tracer.write(target, result)
                        else:
                            from ..frontend.inplace import write
                            write(target, result)
                        return
            self.in_write = True
            try:
                Tracer.write(self, target, result)
            finally:
                self.in_write = False

    _CLASSES = (RecordTracer, ReplayTracer)
    return _CLASSES


# --- one call -------------------------------------------------------------------------------------
class SegmentRun:
    """The state of one segmented call: the active tracer, the tracked traced tensors, the slot."""

    def __init__(self, cf, plan, hp=None):
        self.cf = cf
        self.plan = plan
        self.hp = hp                # a StepRecorder swapping lr floats for 0-d tensors, or None
        self.tracer = None
        self.tracked = []
        self.slot = plan.root
        self.concrete = {}          # id(TracedData) -> array, for TracedData.__array__
        self.patched = []
        self.last = None            # the segment the last cut ran (None: it diverged)

    def track(self, t):
        self.tracked.append(_ref(t))

    # --- installing ---------------------------------------------------------------------------
    def __enter__(self):
        import sys
        from ..frontend.trace import TracedData
        from ..frontend import dispatch
        trace = sys.modules[TracedData.__module__]
        run = self
        orig_new = dispatch._new
        traced_cls = trace.TracedData

        def _new(data):
            t = orig_new(data)
            if data.__class__ is traced_cls:
                run.track(t)    # detach(), autograd's saved outputs and .grad copies
            return t

        def data_dependent(what):
            run.on_break(what)

        def as_array(td, *a, **k):
            run.on_break(trace._READ)
            return run.concrete[id(td)]
        self.patched = [(dispatch, "_new", orig_new),
                        (trace, "data_dependent_error", trace.data_dependent_error),
                        (traced_cls, "__array__", vars(traced_cls)["__array__"])]
        dispatch._new = _new
        trace.data_dependent_error = data_dependent
        traced_cls.__array__ = as_array
        self.gc_was = gc.isenabled()
        self.start()
        return self

    def enter_hp(self):
        if self.hp is not None:
            self.hp.__enter__()     # lr as 0-d inputs (after start(): it lifts them)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and self.tracer is not None:
            # the function raised: put the captured tensors back as they were before this segment
            self.tracer.restore()
        if self.hp is not None:
            self.hp.restore()       # the Python floats back into the param groups
        STATE.tracer = None
        self.tracer = None
        for obj, name, orig in reversed(self.patched):
            setattr(obj, name, orig)
        if self.gc_was:
            gc.enable()
        return False

    def start(self):
        """Install the tracer of the current slot: replay, record, or none (eager from here)."""
        from .compile import config
        slot = self.slot
        self.tracked = []
        if slot.candidates:
            self.tracer = _tracer_classes()[1](self, slot)
            if self.gc_was:
                gc.enable()
        elif len(slot.candidates) < config.segment_paths:
            self.tracer = _tracer_classes()[0](self)
            # no collection while recording: a tensor kept alive only by a reference cycle is
            # then an output of the program, so a replay (where it may still be alive) is covered
            gc.disable()
        else:
            self.tracer = None
            self._eager_tail()
        STATE.tracer = self.tracer

    def _eager_tail(self):
        """The rest of the call runs eagerly: the optimizers get their Python floats back."""
        self.plan.eager_tails += 1
        if self.hp is not None:
            self.hp._swap_out()

    # --- breaks -------------------------------------------------------------------------------
    def on_break(self, what):
        from ..frontend.trace import user_frame
        f = user_frame(2)
        where = f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"
        msg = f"{where}: {what}"
        self.cf._report_segment_break(msg)
        if self.tracer is None:
            return
        self.cut("break", msg)
        seg = self.last
        if seg is None:         # diverged: the rest of the call runs eagerly
            return
        if seg.next is None:
            seg.next = Slot()
        self.slot = seg.next
        self.start()

    def finish(self):
        """The function returned: run the last segment."""
        if self.tracer is not None:
            self.cut("return", None)

    def _live(self):
        out, seen = [], set()
        for r in self.tracked:
            t = r()
            if t is not None and t._value is not None and id(t) not in seen:
                seen.add(id(t))
                out.append(t)
        return out

    def cut(self, kind, reason):
        tr = self.tracer
        STATE.tracer = None
        self.tracer = None
        try:
            if isinstance(tr, _tracer_classes()[0]):
                self.last = self._record_cut(tr, kind, reason)
            else:
                self.last = self._replay_cut(tr, kind, reason)
        except BaseException:
            tr.restore()    # compiling or running failed: the captured tensors as they were
            raise

    # --- record -------------------------------------------------------------------------------
    def _record_cut(self, tr, kind, reason):
        live = self._live()
        lifted_values = {entry[2] for entry in tr.lifted.values()}
        outs, seen, derived = [], set(), set()
        for t in live:
            v = t._value
            # a captured tensor's new value is written back into its array (a mutation): as an
            # output it would cost a fresh array and keep the planner from writing in place
            if id(t) in tr.lifted or v in lifted_values:
                continue
            if _derivable(t.__dict__):
                derived.add(v)      # re-derived from its source when materialized
            elif v not in seen:
                seen.add(v)
                outs.append(v)
        graph = tr.finish(outs)
        # the passes rewrite the graph in place: keep the traced inputs and outputs
        in_values, out_values = list(graph.inputs), list(graph.outputs)
        seg = tr.seg
        seg.end, seg.reason = kind, reason
        index = tr.index
        seg.inputs = [index[v] for v in in_values]
        seg.outputs = {index[v]: k for k, v in enumerate(out_values)}
        seg.covered = {j for j, e in enumerate(seg.events) if e[0].__class__ is str} | \
            set(seg.outputs)
        seg.derived = {index[v] for v in derived if v not in seen}
        seg.mutations = {index[a]: index[b] for a, b in graph.mutations.items()}
        randoms = [n for n in graph.nodes if "seed" in n.prim.params]
        seg.seed_events = [index[n.out] for n in randoms]
        seeds = [n.params["seed"] for n in randoms]
        seg.n_nodes = len(graph.nodes)
        self._compile(seg, graph)
        env = {value: arr for t, saved, value, arr in tr.lifted.values()}
        arrays = [env[v] for v in in_values]
        results = seg.module.run(arrays, seeds) if seg.module is not None else []
        env.update(zip(out_values, results))
        self._materialize(live, env, {id(e[0]): e for e in tr.lifted.values()})
        tr.lifted = {}
        self.slot.candidates.append(seg)
        seg.runs += 1
        return seg

    def _compile(self, seg, graph):
        from types import SimpleNamespace
        from .compile import _GLOBAL
        if not graph.nodes and not graph.outputs and not graph.mutations:
            return
        t0 = time.perf_counter()
        copy = None
        if seg.seed_events:   # passes may drop dead random nodes: keep a copy to interpret
            from ..ir.parser import parse_graph
            from ..ir.printer import print_graph
            copy = parse_graph(print_graph(graph, source_lines=False))
        holder = SimpleNamespace(timings={}, pipeline=None, cache_hit=None, graph=None, device=None,
                                 module=None, source_code=None)
        self.cf._build(holder, graph)
        seg.module = holder.module
        seg.source_code = holder.source_code
        if getattr(seg.module, "n_seeds", len(seg.seed_events)) != len(seg.seed_events):
            from ..ir.interpret import Interpreter
            from .compile_build import _InterpretedModule
            seg.module = _InterpretedModule(Interpreter(copy))
        dt_ = time.perf_counter() - t0
        self.plan.compiled += 1
        self.cf.stats["segments"] += 1
        self.cf.stats["compile_seconds"] += dt_
        _GLOBAL["compile_seconds"] += dt_
        _GLOBAL["segments"] += 1

    # --- replay -------------------------------------------------------------------------------
    def _replay_cut(self, tr, kind, reason):
        live = self._live()
        seg = self._choose(tr, kind, live)
        if seg is None:
            gc.collect()            # garbage in reference cycles may still hold tokens
            live = self._live()
            seg = self._choose(tr, kind, live)
        if seg is None:             # same ops, but another end, live set or written tensors
            if self._room():
                self._count_divergence()
                return self._record_cut(self._to_record(tr), kind, reason)
            self._evaluate_eagerly(tr, live)
            return None
        arrays = [tr.lift_arrays[j] for j in seg.inputs]
        seeds = [tr.seeds[j] for j in seg.seed_events]
        results = seg.module.run(arrays, seeds) if seg.module is not None else []
        env = dict(tr.lift_arrays)
        for j, k in seg.outputs.items():
            env[j] = results[k]
        self._materialize(live, env, {id(e[0]): e for e in tr.lifted.values()})
        tr.lifted = {}
        seg.runs += 1
        return seg

    def _choose(self, tr, kind, live):
        """The recorded segment that ends here like this call: same ops, same kind of end, the
        same captured tensors written, and every live tensor's value available (an input, an
        output, or a view it can re-derive from its source)."""
        held = [t for t in live if id(t) not in tr.lifted]
        muts = {j: t._value for t, saved, j, arr in tr.lifted.values() if t._value != j}
        for seg in tr.alive:
            if len(seg.events) == tr.pos and seg.end == kind and muts == seg.mutations and \
                    all(t._value in seg.covered or
                        t._value in seg.derived and _derivable(t.__dict__) for t in held):
                return seg
        return None

    def _room(self):
        from .compile import config
        return len(self.slot.candidates) < config.segment_paths

    def _count_divergence(self):
        self.plan.divergences += 1
        self.cf.stats["segment_divergences"] += 1

    def diverge(self):
        """Replay found an op no recorded segment has here.  While the slot has room, the ops
        replayed so far are traced into a recording of this new path and the call goes on
        recording (returns True); otherwise they are evaluated eagerly and the rest of the call
        runs eagerly (returns False)."""
        tr = self.tracer
        self._count_divergence()
        if self._room():
            self.tracer = self._to_record(tr)
            STATE.tracer = self.tracer
            gc.disable()
            return True
        STATE.tracer = None
        self.tracer = None
        self._evaluate_eagerly(tr, self._live())
        self.last = None
        return False

    def _to_record(self, tr):
        """A RecordTracer holding the ops `tr` replayed so far (as graph nodes of a new recording),
        every tracked tensor's event token replaced by its graph value."""
        from .. import dtypes as dt
        from ..frontend.trace import Tracer
        from ..ops.registry import Meta
        rt = _tracer_classes()[0](self)
        g = rt.graph
        ref = tr.alive[0].events
        by_event = {j: e for e in tr.lifted.values() for j in (e[2],)}
        vals = {}
        n_const = 0
        for j, entry in _replayed_ops(tr):
            e = ref[j]
            if entry is None:      # a captured tensor
                t, saved, _, arr = by_event[j]
                value = g.add_input(Meta(tuple(arr.shape), dt.BY_NP[arr.dtype]),
                                    rt._unique(f"c{n_const}"), "const")
                n_const += 1
                rt.lifted[id(t)] = (t, saved, value, arr)
            else:
                prim, params, ins = entry
                stubs = []
                for i in ins:
                    stub = Tensor.__new__(Tensor)
                    stub._data = ref[i][3]
                    stub._value = vals[i]
                    stubs.append(stub)
                value = Tracer.bind(rt, prim, stubs, params)._value
            vals[j] = value
            rt.index[value] = j
            rt.seg.events.append(e)
        for r in self.tracked:
            t = r()
            if t is not None and t._value is not None and t._value.__class__ is int:
                t._value = vals[t._value]
        return rt

    def _evaluate_eagerly(self, tr, live):
        """The replayed ops of this segment, evaluated with each primitive's NumPy rule (what eager
        dispatch runs), then every live tensor materialized; the rest of the call runs eagerly and
        the next call records this path (while the slot has room)."""
        env = dict(tr.lift_arrays)
        for j, entry in _replayed_ops(tr):
            if entry is None:
                continue
            prim, params, ins = entry
            out = prim.numpy(*[env[i] for i in ins], **params)
            env[j] = out if isinstance(out, np.ndarray) else np.asarray(out)
        lifted = {id(e[0]): e for e in tr.lifted.values()}
        for t, saved, j, arr in tr.lifted.values():
            if t._value != j:      # written in place: the new value goes into its array
                np.copyto(arr, env[t._value], casting="unsafe")
                env[t._value] = arr
        self._materialize(live, env, lifted)
        tr.lifted = {}
        self._eager_tail()

    # --- materializing ------------------------------------------------------------------------
    def _materialize(self, live, env, lifted):
        """Every live traced tensor becomes concrete in place: a captured tensor gets its own
        array back (the program wrote any new value into it), a view is re-derived from its
        (already materialized) source when NumPy can express it, anything else gets its value."""
        fresh = {}
        concrete = self.concrete = {}
        for t in live:
            d = t.__dict__
            td = d["_data"]
            entry = lifted.get(id(t))
            if entry is not None:
                saved = entry[1]
                arr = entry[3]
                for k in _VIEW_KEYS:
                    if k in saved and k not in d:
                        d[k] = saved[k]
            else:
                value = t._value
                arr = None
                if _derivable(d) and d["_view_src"][0]._value is None:
                    # a view (not written through since): NumPy's view of its source's array,
                    # aliasing it like an eager view (what eager dispatch computes)
                    parent, prim, params = d["_view_src"]
                    arr = prim.numpy(parent._data, **params)
                    if arr.__class__ is not np.ndarray:
                        arr = np.asarray(arr)
                d.pop("_tver", None)
                if arr is None:
                    arr = fresh.get(value)
                if arr is None:
                    arr = env[value]
                    if arr.__class__ is not np.ndarray:
                        arr = np.asarray(arr)
                    if not arr.flags.owndata or not arr.flags.writeable:
                        arr = arr.copy()
                    fresh[value] = arr
            t._data = arr
            t._value = None
            concrete[id(td)] = arr


def _lr_inputs(optimizers):
    """A StepRecorder (compile_hparams.py) that makes every optimizer's float lr a 0-d tensor for
    the call (lifted like any captured tensor: recorded by dtype and shape, not value), so an lr
    scheduler stepping every call does not make every call a new path.  A replay that finds no
    recorded segment where it lifts them diverges like at any other op."""
    from .compile_hparams import StepRecorder

    class LrInputs(StepRecorder):
        run = None

        def _swap_in(self):
            try:
                super()._swap_in()
            except _Diverged:
                if self.run.diverge():   # recording now: swap the rest in
                    super()._swap_in()
    return LrInputs(frozenset({"lr"}), optimizers)


class Segments:
    """CompiledFunction's side of compiled segments around graph breaks."""

    def _run_segmented(self, v, args, kwargs):
        from .compile import _GLOBAL
        self.stats["segment_calls"] += 1
        _GLOBAL["segment_calls"] += 1
        optimizers = [o for o in self._objs or () if hasattr(o, "param_groups")]
        hp = None
        if optimizers and "lr" in v.hp_keys and v.segments.check_lrs(optimizers):
            hp = _lr_inputs(optimizers)
        with SegmentRun(self, v.segments, hp) as run:
            if hp is not None:
                hp.run = run
                run.enter_hp()
            result = self.fn(*args, **kwargs)
            run.finish()
        return result

    def _report_segment_break(self, msg):
        from .compile import config
        if msg in self.reported_breaks:
            return
        self.reported_breaks.add(msg)
        self.stats["graph_breaks"].append(msg)
        if config.log_graph_breaks:
            warnings.warn(f"ember.compile: graph break in {self.__name__} (compiled in segments "
                          f"around it): {msg}", GraphBreakWarning, stacklevel=user_stacklevel())
