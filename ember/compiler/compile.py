"""``ember.compile``: trace a function (a whole training step if you like), run the pass pipeline,
generate NumPy code, and cache the result per input signature with guards.

    @ember.compile
    def train_step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

On each call the cached variants' guards are checked (tensor shapes, dtypes, devices and
requires_grad; grad mode; Python scalar arguments; the training flags of modules and the
hyper-parameters of optimizers the function reaches; the captured tensors' shapes and whether their
``.grad`` is set).  A hit runs the generated code; a miss traces and compiles a new variant and
records why (``fn.stats``, ``EMBER_LOGS=recompiles`` / ``config.log_recompiles``).  A size that
changes between calls becomes symbolic (one variant for all sizes), as do sizes marked with
``dynamic=True``/``mark_dynamic``; ``dynamic=False`` keeps every size static.

Data-dependent Python (``if loss > 0``, ``.item()``, ``.tolist()``, ``.numpy()``) is a graph break:
the signature is then run in compiled segments around its breaks (compile_segments.py; results are
eager's), each break is reported once with the user's file, line and reason, and ``fullgraph=True``
makes it an error instead.  See docs/compile.md.
"""
from __future__ import annotations

import functools
import logging
import os
import time
import warnings

import numpy as np

from .. import _logging

from .compile_breaks import (_RETRY, CompileError, GraphBreaks, GraphBreakWarning,
                             RecompileLimitWarning)
from . import compile_device
from .compile_build import Builder
from .compile_guards import (GuardChecks, Variant, _describe, _flatten_args, _guarded, _is_module,
                             _reached_objects, _state_guard, _user_site, lifted_name)
from .compile_hparams import hp_array, replay
from .compile_segments import Segments
from ..frontend.dispatch import STATE, _new

# the public names; compiler/memory_plan.py also reads _flatten_args, _reached_objects, _state_guard,
# _guarded and Variant from here (they live in compile_guards.py)
__all__ = ["compile", "config", "stats", "CompileError", "GraphBreakWarning",
           "RecompileLimitWarning", "CompiledFunction", "OptimizedModule", "Variant"]


class Config:
    """Switches (``ember.compiler.compile.config``); environment variables set the defaults."""
    log_graph_breaks = True
    recompile_limit = int(os.environ.get("EMBER_RECOMPILE_LIMIT", "8"))
    error_on_recompile_limit = os.environ.get("EMBER_RECOMPILE_ERROR", "") not in ("", "0")
    keep_stages = False      # keep every pass stage's printed IR on each variant
    # graph breaks: compiled segments around them (False: the signature runs eagerly)
    segment_breaks = os.environ.get("EMBER_COMPILE_SEGMENTS", "1") not in ("", "0")
    segment_paths = int(os.environ.get("EMBER_SEGMENT_PATHS", "4"))   # recorded paths per slot

    @property
    def log_recompiles(self):
        """The ``recompiles`` log topic (``EMBER_LOGS=recompiles``; ``EMBER_LOG_RECOMPILES=1``)."""
        return _logging.enabled("recompiles")

    @log_recompiles.setter
    def log_recompiles(self, on):
        _logging.set_logs(recompiles=bool(on))


config = Config()


_GLOBAL = {"compiles": 0, "cache_hits": 0, "graph_breaks": 0, "eager_calls": 0,
           "compile_seconds": 0.0, "segments": 0, "segment_calls": 0}


def stats():
    """Process-wide counters of every compiled function."""
    return dict(_GLOBAL)


def compile(model=None, *, fullgraph=False, dynamic=None, backend="numpy", mode=None,
            options=None, disable=False):
    """``torch.compile``'s signature.  backend: "numpy" (the generated NumPy module), "interpret"
    (the reference interpreter, for debugging) or "eager" (no compilation).  mode:
    "reduce-overhead" replays programs on CUDA tensors as CUDA graphs (runtime/gpu_graphs.py; not
    validated on a GPU); other modes, and every mode on CPU tensors, change nothing."""
    if model is None:
        return functools.partial(compile, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                 mode=mode, options=options, disable=disable)
    if not callable(model):
        raise RuntimeError(f"ember.compile expects a callable or an nn.Module, got "
                           f"{type(model).__name__}")
    if backend not in ("numpy", "interpret", "eager", "inductor", "triton"):
        raise RuntimeError(f"ember.compile: unknown backend {backend!r} (use 'numpy', "
                           f"'triton', 'interpret' or 'eager')")
    if backend == "inductor":   # torch's default name: our default backend
        backend = "numpy"
    cf = CompiledFunction(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                          disable=disable, options=options or {})
    cf.mode = mode
    if _is_module(model):
        from ..nn.optimized_module import OptimizedModule   # compile sits above nn
        return OptimizedModule(model, cf)
    functools.update_wrapper(cf, model, updated=())
    return cf


compile.stats = stats
compile.config = config


def call_arrays(v, flat, hp):
    """The arrays variant ``v``'s program takes for a call with flattened arguments ``flat`` (and
    hyper-parameter values ``hp`` from param_groups)."""
    arrays = []
    for kind, x in v.sources:
        if kind == "arg":
            if isinstance(x, tuple):
                arrays.append(flat[x[0]][x[1]]._data)
            else:
                arrays.append(flat[x]._data)
        elif kind == "grad":
            arrays.append(x.grad._data)
        elif kind == "hp":
            arrays.append(hp_array(hp[x[0]], x[1]))
        else:
            arrays.append(x._data)
    return arrays


class CompiledFunction(GuardChecks, Builder, GraphBreaks, Segments):
    """The callable ember.compile returns: the call path here; guards and recompile reasons in
    compile_guards.py, tracing and building in compile_build.py, graph breaks in
    compile_breaks.py and the compiled segments around them in compile_segments.py."""

    def __init__(self, fn, fullgraph, dynamic, backend, disable, options):
        self.fn = fn
        self.fullgraph = fullgraph
        self.dynamic = dynamic
        self.backend = backend
        self.disable = disable
        self.options = options
        self.variants = []
        self.reported_breaks = set()
        self.limit_warned = False
        self.dynamic_args = {}       # flat arg position -> dims that are symbolic
        self.stats = {"calls": 0, "cache_hits": 0, "compiles": 0, "recompiles": [],
                      "graph_breaks": [], "eager_calls": 0, "compile_seconds": 0.0,
                      "segments": 0, "segment_calls": 0, "segment_divergences": 0}
        self._objs = None
        self._labels = []
        self.hp_keys = {"lr"}        # float param_groups keys read as runtime inputs
        self.hp_baked = set()        # keys the traced code branched on: guarded constants
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __get__(self, obj, objtype=None):
        # a compiled method: bind like a function
        return self if obj is None else functools.partial(self, obj)

    def memory_plan(self, *args, **kwargs):
        """Predicted memory of one call on these inputs, without running it (MemoryPrediction:
        peak_bytes, arena_bytes, output_bytes, ...; see ember/compiler/memory_plan.py)."""
        from .memory_plan import predict
        return predict(self, *args, **kwargs)

    def mark_dynamic(self, arg, dims):
        """Make dims of flat argument position `arg` symbolic from the first compile on."""
        self.dynamic_args[arg] = tuple([dims] if isinstance(dims, int) else dims)

    # --- the call path ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if STATE.profiler is not None:   # ember.profiler: time the call and its statements
            return STATE.profiler.compiled_call(self, args, kwargs)
        return self._call(*args, **kwargs)

    def _call(self, *args, **kwargs):
        if self.disable or self.backend == "eager" or STATE.tracer is not None:
            return self.fn(*args, **kwargs)
        self.stats["calls"] += 1
        flat, tensors, sigs = _flatten_args(args, kwargs)
        if self._objs is None:
            self._objs = _reached_objects(self.fn)
        state = _state_guard(self._objs)
        self._labels = state[1]
        grad = STATE.grad_enabled
        found = self.find_variant(sigs, state, grad)
        if found is not None:
            v = found[0]
            self.stats["cache_hits"] += 1
            _GLOBAL["cache_hits"] += 1
            if v.eager is not None:
                return self._eager(args, kwargs)
            if v.segments is not None:
                return self._run_segmented(v, args, kwargs)
            return self._run(v, flat, args, kwargs)
        return self._compile_and_run(flat, sigs, state, grad, args, kwargs)

    def variant_index(self, args, kwargs):
        """The index of the variant a call with these arguments would run (the lookup calls
        use), or None."""
        _, _, sigs = _flatten_args(args, kwargs)
        objs = self._objs if self._objs is not None else _reached_objects(self.fn)
        found = self.find_variant(sigs, _state_guard(objs), STATE.grad_enabled)
        return None if found is None else self.variants.index(found[0])

    def _eager(self, args, kwargs):
        self.stats["eager_calls"] += 1
        _GLOBAL["eager_calls"] += 1
        return self.fn(*args, **kwargs)

    # --- compiling --------------------------------------------------------------------------------
    def _compile_and_run(self, flat, sigs, state, grad, args, kwargs):
        site = _user_site()
        reason = self._why(sigs, state, grad)
        self.hp_keys |= self._changed_hparams(state) - self.hp_baked
        n_done = len(self.variants)
        if n_done >= config.recompile_limit:
            msg = (f"ember.compile: {self.__name__} was recompiled {n_done} times (limit "
                   f"config.recompile_limit={config.recompile_limit}); last reason: {reason} "
                   f"(called at {site}). Running it eagerly from now on for new signatures; mark "
                   f"changing sizes dynamic or keep arguments stable.")
            if config.error_on_recompile_limit:
                raise CompileError(msg)
            if not self.limit_warned:
                self.limit_warned = True
                warnings.warn(msg, RecompileLimitWarning, stacklevel=3)
            return self._eager(args, kwargs)
        if reason is not None:
            self.stats["recompiles"].append({"reason": reason, "site": site})
            _logging.get_logger("recompiles").info("recompiling %s (variant %d): %s (at %s)",
                                                    self.__name__, n_done, reason, site)
        v = self.build_variant(flat, sigs, state, grad, args, kwargs)
        if v.eager is not None:
            return self._eager(args, kwargs)
        if v.segments is not None:
            return self._run_segmented(v, args, kwargs)
        return self._run(v, flat, args, kwargs)

    def build_variant(self, flat, sigs, state, grad, args, kwargs):
        """Trace and compile a new variant for these arguments and add it to the cache (used by
        calls and by memory_plan())."""
        dyn = self._dynamic_dims(sigs)
        t0 = time.perf_counter()
        keys = frozenset(self.hp_keys)
        while True:
            v = Variant()
            v.grad_enabled = grad
            v.hp_keys = keys
            v.state_vals = _guarded(state, keys)
            if self._trace(v, flat, sigs, dyn, args, kwargs) is not _RETRY:
                break   # the variant is built (or marked eager)
            # the traced code branched on a hyper-parameter input (SGD's `if momentum != 0`):
            # those keys stay guarded constants from now on (lr last, then everything)
            extra = keys - {"lr"}
            self.hp_keys -= extra
            self.hp_baked |= extra
            keys = keys & {"lr"} if extra else frozenset()
        if v.segments is not None and "lr" in self.hp_keys:
            # segments take lr as a 0-d input whatever the retries above concluded: a branch on
            # it is just another break there (compile_segments._lr_inputs)
            v.hp_keys = frozenset({"lr"})
            v.state_vals = _guarded(state, v.hp_keys)
        v.state_labels = [lab for lab, k in zip(state[1], state[2]) if k not in v.hp_keys]
        v.objs = self._objs     # guard messages name captured parameters by module
        dt_ = time.perf_counter() - t0
        self.stats["compile_seconds"] += dt_
        _GLOBAL["compile_seconds"] += dt_
        self.stats["compiles"] += 1
        _GLOBAL["compiles"] += 1
        self.variants.append(v)
        _log_variant(self, len(self.variants) - 1, dt_)
        return v

    # --- running ----------------------------------------------------------------------------------
    def _run(self, v, flat, args, kwargs):
        if getattr(v, "bwd_module", None) is not None:
            return self._run_differentiable(v, flat)
        if v.events:
            # scheduler steps (Python numbers only) replayed before the program, in traced order,
            # so each optimizer step reads the lr it would read eagerly
            hp = replay(v.events) if v.ran else v.hp_first
        else:
            hp = None
        arrays = call_arrays(v, flat, hp)
        mod = v.module
        if v.draws:   # eager's draws, from the generators eager uses (compile_build._seed_plan)
            drawn = [g.next_seed() for g in v.draws]
            seeds = [drawn[k] for k in v.seed_pos]
        elif mod.n_seeds:
            from ..frontend.creation import default_generator
            seeds = [default_generator.next_seed() for _ in range(mod.n_seeds)]
        else:
            seeds = ()
        outs = mod.run(arrays, seeds)
        for t in v.bump:
            t._bump_version()
        k = v.n_user_outputs
        if v.device is not None:   # host inputs are uploaded (and written back) by the module
            outs = [compile_device.fresh(o, arrays) for o in outs]
        wrapped = []
        for o in outs[:k]:
            if v.device is None:
                if o.__class__ is not np.ndarray:
                    o = np.asarray(o)
                if not o.flags.owndata or not o.flags.writeable:
                    o = o.copy()
            wrapped.append(_new(o))
        j = k
        for t, kind, payload in v.grad_targets:
            if kind == "new":
                g = outs[j]
                j += 1
                if v.device is None and (not g.flags.owndata or not g.flags.writeable):
                    g = g.copy()
                t.grad = _new(g)
            elif kind == "none":
                t.grad = None
            else:   # "keep": the existing grad tensor (written in place by the program)
                t.grad = payload
        for t in v.escapes:
            # optimizer state created while tracing (a momentum buffer): it becomes eager data
            arr = outs[j]
            j += 1
            t.__dict__.clear()
            t._data = arr if v.device is not None or arr.flags.owndata and arr.flags.writeable \
                else arr.copy()
        if v.ran and not v.events:   # the trace already ran the first call's Python side effects
            for sched, a, kw in v.replay:
                sched.step(*a, **kw)
        v.ran = True
        from ..frontend.trace import unflatten
        return unflatten(v.out_spec, wrapped)

    def _run_differentiable(self, v, flat):
        """Forward through the compiled forward program inside an autograd Function whose backward
        runs the program the autodiff pass derived (it recomputes the forward values it needs)."""
        from ..frontend.trace import unflatten
        from ..frontend.autograd import Function
        tensors = []
        for kind, x in v.sources:
            if kind == "arg":
                tensors.append(flat[x[0]][x[1]] if isinstance(x, tuple) else flat[x])
            elif kind == "grad":
                tensors.append(x.grad)
            else:
                tensors.append(x)
        k_out = v.n_user_outputs

        class CompiledGraph(Function):
            @staticmethod
            def forward(ctx, *ts):
                arrays = [t._data for t in ts]
                if v.device is not None:
                    return _forward_on_device(ctx, arrays)
                ctx.arrays = [np.array(a, copy=True) for a in arrays]   # values at call time
                outs = v.module.run(arrays, ())
                for t in v.bump:
                    t._bump_version()
                return tuple(_new(o.copy() if not o.flags.owndata or not o.flags.writeable
                                  else o) for o in outs[:k_out])

            @staticmethod
            def backward(ctx, *grads):
                if v.device is not None:
                    return _backward_on_device(ctx, grads)
                gs = [g._data if g is not None else np.zeros(m.shape, m.dtype.np)
                      for g, m in zip(grads, [o.meta for o in v.graph.outputs])]
                res = v.bwd_module.run(ctx.arrays + [np.asarray(g, order="C") for g in gs], ())
                out = [None] * len(ctx.arrays)
                for pos, r in zip(v.wrt_pos, res):
                    out[pos] = _new(np.array(r, copy=True))
                return tuple(out)

        def _forward_on_device(ctx, arrays):
            arrays = compile_device.to_device(arrays, v.device)
            ctx.arrays = [compile_device.copy(a) for a in arrays]   # values at call time
            outs = v.module.run(arrays, ())
            for t in v.bump:
                t._bump_version()
            return tuple(_new(compile_device.fresh(o, arrays)) for o in outs[:k_out])

        def _backward_on_device(ctx, grads):
            gs = [g._data if g is not None else compile_device.zeros(m.shape, m.dtype.np, v.device)
                  for g, m in zip(grads, [o.meta for o in v.graph.outputs])]
            arrays = ctx.arrays + [compile_device.contiguous(g) for g in gs]
            res = v.bwd_module.run(arrays, ())
            out = [None] * len(ctx.arrays)
            for pos, r in zip(v.wrt_pos, res):
                out[pos] = _new(compile_device.fresh(r, arrays))
            return tuple(out)
        outs = CompiledGraph.apply(*tensors)
        return unflatten(v.out_spec, list(outs))

    # --- introspection ----------------------------------------------------------------------------
    def explain(self):
        """A text report: variants, their guards, how each differs from the one before it,
        recompile reasons (the failed guard with its values), graph breaks, timings."""
        lines = [f"ember.compile({self.__name__}): {len(self.variants)} variant(s), "
                 f"{self.stats['calls']} calls, {self.stats['cache_hits']} cache hits"]
        names = self._arg_names(max((len(v.arg_sigs or ()) for v in self.variants), default=0))
        for i, v in enumerate(self.variants):
            if v.eager is not None:
                lines.append(f"  variant {i}: eager ({v.eager})")
            else:
                sig = ", ".join(_describe(s) for s in v.arg_sigs)
                if v.segments is not None:
                    lines.append(f"  variant {i}: ({sig}) grad_enabled={v.grad_enabled} compiled "
                                 f"in segments around graph breaks")
                    lines.extend(v.segments.describe())
                else:
                    lines.append(f"  variant {i}: ({sig}) grad_enabled={v.grad_enabled} "
                                 f"{len(v.graph.nodes) if v.graph else 0} nodes")
                    if v.symbol_guards:
                        lines.append(f"    symbolic guards: {[str(g) for g in v.symbol_guards]}")
                    if v.timings:
                        lines.append("    " + ", ".join(f"{k} {1e3 * t:.2f} ms"
                                                       for k, t in v.timings.items()))
            if i > 0:
                diff = variant_differences(self.variants[i - 1], v, names)
                lines.append(f"    differs from variant {i - 1}: "
                             + ("; ".join(diff) if diff else "no guarded value (see the "
                                                              "recompile reason)"))
        for r in self.stats["recompiles"]:
            lines.append(f"  recompiled: {r['reason']} (at {r['site']})")
        for b in self.stats["graph_breaks"]:
            lines.append(f"  graph break: {b}")
        return "\n".join(lines)

    def _variant(self, variant):
        """(index, Variant) for a variant number (negative counts from the end)."""
        if not self.variants:
            raise RuntimeError(f"ember.compile: {self.__name__} has no compiled variant yet (call "
                               f"it first)")
        try:
            v = self.variants[variant]
        except IndexError:
            raise IndexError(f"ember.compile: {self.__name__} has {len(self.variants)} variant(s), "
                             f"no variant {variant}") from None
        return variant % len(self.variants), v

    def code(self, variant=-1):
        """The generated module of a variant (of a segmented variant: each segment's module,
        headed by its name and where it ends)."""
        _, v = self._variant(variant)
        if v.segments is not None:
            return "\n".join(f"# --- segment {name} ({seg.n_nodes} nodes, ends at "
                             f"{seg.reason or 'return'}) ---\n{seg.source_code}"
                             for name, seg in v.segments.segments())
        return v.source_code if v.source_code is not None else \
            getattr(v.module, "source_code", None)

    def report(self, path, *args, **kwargs):
        """Write an HTML report of a variant (the program at each stage, the fusion plan with its
        reasons, the generated code, a profiled run's times, the memory timeline) to ``path``.
        With arguments, the variant those arguments select is profiled on them (a training step
        then takes one more step); without, the last variant is reported without timings."""
        from ..report import report_compiled
        return report_compiled(self, path, args, kwargs)

    def program(self, variant=-1):
        """The traced graph of a variant as a saveable ember.jit Program (state = current values
        of the captured tensors)."""
        from ..jit.program import Program
        index, v = self._variant(variant)
        if v.graph is None:
            why = ("it runs in segments around graph breaks: see code() and explain()"
                   if v.segments is not None else f"it runs eagerly: {v.eager}")
            raise RuntimeError(f"ember.compile: variant {index} of {self.__name__} has no single "
                               f"program ({why})")
        g = v.pipeline.graph if v.pipeline is not None else v.graph
        state = {}
        for gv, (kind, x) in zip(g.inputs, v.sources):
            if kind == "lifted":
                state[gv.target if gv.kind in ("param", "buffer") else gv.name] = x
            elif kind == "hp":   # a hyper-parameter input: its current value in param_groups
                ev = [e for e in v.events if e[0] == "hp"][x[0]]
                state[gv.name] = _new(hp_array(ev[1][ev[2]], x[1]))
        return Program(g, state)


def variant_differences(a, b, names):
    """What variant ``b`` guards differently from variant ``a``: arguments (dtype, shape,
    requires_grad, scalar values), grad mode, module training flags, optimizer state and
    hyper-parameters, autocast."""
    out = []
    if a.grad_enabled != b.grad_enabled:
        out.append(f"grad mode {a.grad_enabled} -> {b.grad_enabled}")
    sa, sb = a.arg_sigs or [], b.arg_sigs or []
    for k, (x, y) in enumerate(zip(sa, sb)):
        if x != y:
            out.append(f"argument {names[k] if k < len(names) else k!r}: {_describe(x)} -> "
                       f"{_describe(y)}")
    if len(sa) != len(sb):
        out.append(f"number of arguments {len(sa)} -> {len(sb)}")
    la = dict(zip(getattr(a, "state_labels", ()), a.state_vals))
    lb = dict(zip(getattr(b, "state_labels", ()), b.state_vals))
    for lab in lb:
        if lab in la and la[lab] != lb[lab]:
            out.append(f"{lab} {la[lab]!r} -> {lb[lab]!r}")
    before = {id(e[0]): e for e in a.lifted}
    word = {True: "set", False: "None", None: "either"}
    for t, dtype, shape, has_grad, _ in b.lifted:
        e = before.get(id(t))
        if e is None:
            continue
        what = lifted_name(b, t, names)
        if (e[1], e[2]) != (dtype, shape):
            out.append(f"{what}: {e[1]}{list(e[2])} -> {dtype}{list(shape)}")
        if e[3] != has_grad:
            out.append(f"{what}: .grad {word[e[3]]} -> {word[has_grad]}")
    return out


def _log_variant(cf, index, seconds):
    """The log topics of a new variant: perf (compile time), guards, graph_code (the optimized
    program), output_code (the generated module)."""
    v = cf.variants[index]
    name = f"{cf.__name__} variant {index}"
    perf = _logging.get_logger("perf")
    if perf.isEnabledFor(logging.INFO):
        how = ("eager: " + v.eager if v.eager is not None else "segments" if v.segments is not None
               else f"{len(v.graph.nodes)} nodes")
        if getattr(v, "cache_hit", False):
            how += ", code from the cache"
        perf.info("compiled %s in %.1f ms (%s)%s", name, 1e3 * seconds, how,
                  "; " + ", ".join(f"{k} {1e3 * t:.2f} ms" for k, t in v.timings.items())
                  if v.timings else "")
    guards = _logging.get_logger("guards")
    if guards.isEnabledFor(logging.INFO) and v.arg_sigs is not None:
        names = cf._arg_names(len(v.arg_sigs))
        lines = [f"guards of {name}:", f"  grad_enabled == {v.grad_enabled}"]
        lines += [f"  {names[k]}: {_describe(s)}" for k, s in enumerate(v.arg_sigs)]
        lines += [f"  {lab} == {val!r}" for lab, val in zip(v.state_labels, v.state_vals)]
        lines += [f"  {lifted_name(v, t, names)}: {dtype}{list(shape)}"
                  + (f", .grad {'set' if g else 'None'}" if g is not None else "")
                  for t, dtype, shape, g, _ in v.lifted]
        lines += [f"  {g}" for g in v.symbol_guards]
        guards.info("\n".join(lines))
    if v.graph is None:
        return
    code_log = _logging.get_logger("graph_code")
    if code_log.isEnabledFor(logging.INFO):
        from ..ir.printer import print_graph
        code_log.info("optimized program of %s:\n%s", name, print_graph(
            v.graph, source_lines=code_log.isEnabledFor(logging.DEBUG)).rstrip())
    out_log = _logging.get_logger("output_code")
    if out_log.isEnabledFor(logging.INFO):
        src = cf.code(index)
        if src:
            out_log.info("generated module of %s:\n%s", name, src.rstrip())
