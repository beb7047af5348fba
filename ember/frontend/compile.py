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
records why (``fn.stats``, ``EMBER_LOG_RECOMPILES=1`` / ``config.log_recompiles``).  A size that
changes between calls becomes symbolic (one variant for all sizes), as do sizes marked with
``dynamic=True``/``mark_dynamic``; ``dynamic=False`` keeps every size static.

Data-dependent Python (``if loss > 0``, ``.item()``, ``.tolist()``, ``.numpy()``) is a graph break:
the call runs eagerly (same results), the break is reported once with the user's file, line and
reason, and ``fullgraph=True`` makes it an error instead.  See docs/compile.md.
"""
from __future__ import annotations

import functools
import os
import sys
import time
import types
import warnings

import numpy as np

from .compile_hparams import StepRecorder, hp_array, replay
from .dispatch import STATE, _new
from .tensor import Tensor


class Config:
    """Switches (``ember.frontend.compile.config``); environment variables set the defaults."""
    log_recompiles = os.environ.get("EMBER_LOG_RECOMPILES", "") not in ("", "0")
    log_graph_breaks = True
    recompile_limit = int(os.environ.get("EMBER_RECOMPILE_LIMIT", "8"))
    error_on_recompile_limit = os.environ.get("EMBER_RECOMPILE_ERROR", "") not in ("", "0")
    keep_stages = False      # keep every pass stage's printed IR on each variant


config = Config()


class CompileError(RuntimeError):
    """Compilation failed (a graph break under fullgraph=True, a recompile limit, an internal error);
    the message names the user's file and line."""


class RecompileLimitWarning(UserWarning):
    pass


class GraphBreakWarning(UserWarning):
    pass


_GLOBAL = {"compiles": 0, "cache_hits": 0, "graph_breaks": 0, "eager_calls": 0,
           "compile_seconds": 0.0}


def stats():
    """Process-wide counters of every compiled function."""
    return dict(_GLOBAL)


def compile(model=None, *, fullgraph=False, dynamic=None, backend="numpy", mode=None,
            options=None, disable=False):
    """``torch.compile``'s signature.  backend: "numpy" (the generated NumPy module), "interpret"
    (the reference interpreter, for debugging) or "eager" (no compilation)."""
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
    if _is_module(model):
        return OptimizedModule(model, cf)
    functools.update_wrapper(cf, model, updated=())
    return cf


compile.stats = stats
compile.config = config


def _is_module(obj):
    return hasattr(obj, "named_parameters") and hasattr(obj, "named_buffers") and \
        hasattr(obj, "training")


class OptimizedModule:
    """What compiling an nn.Module returns: calls go through the compiled forward, attributes are
    the module's (parameters(), train(), state_dict(), ...)."""

    def __init__(self, module, cf):
        self.__dict__["_orig_mod"] = module
        self.__dict__["_compiled"] = cf

    def __call__(self, *args, **kwargs):
        return self._compiled(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.__dict__["_orig_mod"], name)

    def __setattr__(self, name, value):
        setattr(self._orig_mod, name, value)

    def __repr__(self):
        return f"OptimizedModule({self._orig_mod!r})"

    def memory_plan(self, *args, **kwargs):
        return self._compiled.memory_plan(*args, **kwargs)


# --- signatures and guards ---------------------------------------------------------------------
_SCALARS = (bool, int, float, str, type(None))


def _arg_sig(a):
    if isinstance(a, Tensor):
        d = a._data
        return ("T", d.dtype, d.shape, a._requires_grad)
    if isinstance(a, _SCALARS):
        return ("S", type(a), a)
    if isinstance(a, (tuple, list)):
        return ("L", type(a), tuple(_arg_sig(x) for x in a))
    return ("O", id(a))


def _describe(sig):
    kind = sig[0]
    if kind == "T":
        return f"tensor {sig[1]}[{','.join(map(str, sig[2]))}] requires_grad={sig[3]}"
    if kind == "S":
        return repr(sig[2])
    if kind == "L":
        return f"{sig[1].__name__} of {len(sig[2])}"
    return f"object id {sig[1]}"


def _reached_objects(fn):
    """Modules, optimizers and schedulers the function reaches through its globals, closure,
    bound self (and one level of that self's attributes): their flags are guarded."""
    from ..optim.optimizer import Optimizer
    seen, out = set(), []

    def add(o, depth):
        if id(o) in seen:
            return
        seen.add(id(o))
        if _is_module(o) or isinstance(o, Optimizer) or type(o).__name__.endswith("LR") or \
                hasattr(o, "optimizer") and hasattr(o, "last_epoch"):
            out.append(o)
        elif depth > 0 and hasattr(o, "__dict__") and not isinstance(o, (type, types.ModuleType)):
            for v in list(vars(o).values()):
                add(v, depth - 1)

    target = fn
    if _is_module(fn):
        add(fn, 0)
        target = type(fn).forward
    if isinstance(target, functools.partial):
        for a in target.args:
            add(a, 1)
        target = target.func
    if isinstance(target, types.MethodType):
        add(target.__self__, 1)
        target = target.__func__
    code = getattr(target, "__code__", None)
    if code is not None:
        g = getattr(target, "__globals__", {})
        names = set()
        stack = [code]
        while stack:
            c = stack.pop()
            names.update(c.co_names)
            stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
        for nm in names:
            if nm in g:
                add(g[nm], 1)
        for cell in target.__closure__ or ():
            try:
                add(cell.cell_contents, 1)
            except ValueError:
                pass
    return out


def _state_guard(objs):
    """A snapshot of the flags traced code bakes in, a label per entry, and per entry the
    param_groups key it is (None otherwise): a variant drops the keys that are runtime inputs."""
    vals, labels, keys = [], [], []
    for o in objs:
        if _is_module(o):
            for name, m in o.named_modules():
                vals.append(m.training)
                labels.append(f"{type(o).__name__}{'.' + name if name else ''}.training")
                keys.append(None)
        elif hasattr(o, "param_groups"):
            for gi, group in enumerate(o.param_groups):
                for k, v in group.items():
                    if k != "params" and isinstance(v, (bool, int, float, tuple, type(None))):
                        vals.append(v)
                        labels.append(f"{type(o).__name__}.param_groups[{gi}][{k!r}]")
                        keys.append(k if v.__class__ is float else None)
            vals.append(sum(len(st) for st in o.state.values()))
            labels.append(f"{type(o).__name__}: number of optimizer state entries")
            keys.append(None)
    from ..amp.policy import AMP   # casts are traced in: a program holds for one autocast state
    vals.append(AMP.key())
    labels.append("autocast state (device types enabled, dtypes)")
    keys.append(None)
    return tuple(vals), labels, tuple(keys)


def _guarded(state, hp_keys):
    """The entries of a _state_guard snapshot a variant with runtime inputs hp_keys guards on."""
    vals, labels, keys = state
    if not hp_keys:
        return vals
    return tuple(v for v, k in zip(vals, keys) if k not in hp_keys)


class Variant:
    """One compiled program for one guard set."""

    def __init__(self):
        self.arg_sigs = None     # per flattened argument: its signature (dims None = symbolic)
        self.grad_enabled = True
        self.state_vals = ()
        self.sources = []        # per graph input: ("arg", k) or ("lifted", tensor)
        self.lifted = []         # [(tensor, dtype, shape, has_grad)]
        self.module = None       # CompiledModule (numpy) or Interpreter
        self.graph = None
        self.pipeline = None
        self.out_spec = None
        self.n_user_outputs = 0
        self.grad_targets = []   # [(tensor, kind, payload)]: how to set .grad after a call
        self.bump = []           # tensors written by the program (version counters)
        self.replay = []         # scheduler steps to replay after each run
        self.events = []         # scheduler steps and hyper-parameter reads, replayed in order
        self.hp_keys = frozenset()   # param_groups float keys that are runtime inputs
        self.hp_first = []       # the hyper-parameter inputs of the first run (read while tracing)
        self.eager = None        # a reason string when this signature runs eagerly
        self.ran = False
        self.escapes = []
        self.symbol_guards = []
        self.source_code = None
        self.timings = {}


def _flatten_args(args, kwargs):
    flat = list(args) + [kwargs[k] for k in sorted(kwargs)]
    tensors, sigs = [], []
    for a in flat:
        sigs.append(_arg_sig(a))
        if isinstance(a, Tensor):
            tensors.append(a)
        elif isinstance(a, (tuple, list)):
            tensors.extend(x for x in a if isinstance(x, Tensor))
    return flat, tensors, sigs


def _sig_matches(want, got, env):
    """Does signature `got` fit variant signature `want` (None dims are symbols, bound in env)."""
    if want[0] != got[0]:
        return False
    if want[0] == "T":
        if want[1] != got[1] or want[3] != got[3] or len(want[2]) != len(got[2]):
            return False
        for w, g in zip(want[2], got[2]):
            if w.__class__ is int:
                if w != g:
                    return False
            else:   # a symbol
                b = env.get(w)
                if b is None:
                    env[w] = g
                elif b != g:
                    return False
        return True
    if want[0] == "L":
        return want[1] == got[1] and len(want[2]) == len(got[2]) and \
            all(_sig_matches(a, b, env) for a, b in zip(want[2], got[2]))
    return want == got


def _user_site():
    from ..ir.trace import user_frame
    f = user_frame(2)
    return f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"


class CompiledFunction:
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
                      "graph_breaks": [], "eager_calls": 0, "compile_seconds": 0.0}
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
        peak_bytes, arena_bytes, output_bytes, ...; see ember/cuda/memory_plan.py)."""
        from ..cuda.memory_plan import predict
        return predict(self, *args, **kwargs)

    def mark_dynamic(self, arg, dims):
        """Make dims of flat argument position `arg` symbolic from the first compile on."""
        self.dynamic_args[arg] = tuple([dims] if isinstance(dims, int) else dims)

    # --- the call path ----------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
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
            return self._run(v, flat, args, kwargs)
        return self._compile_and_run(flat, sigs, state, grad, args, kwargs)

    def find_variant(self, sigs, state, grad):
        """(variant, symbol bindings) of the cached program whose guards these arguments pass,
        or None.  The one lookup: calls and memory_plan() must agree on it."""
        for v in self.variants:
            env = {}
            if v.grad_enabled == grad and len(v.arg_sigs) == len(sigs) and \
                    v.state_vals == _guarded(state, v.hp_keys) and \
                    all(_sig_matches(w, g, env) for w, g in zip(v.arg_sigs, sigs)) and \
                    self._lifted_ok(v) and self._symbols_ok(v, env):
                return v, env
        return None

    def _lifted_ok(self, v):
        for t, dtype, shape, has_grad in v.lifted:
            d = t._data
            if d.__class__ is not np.ndarray or d.dtype != dtype or d.shape != shape or \
                    (has_grad is not None and (t.grad is not None) != has_grad):
                return False
        return True

    def _symbols_ok(self, v, env):
        if not v.symbol_guards:
            return True
        subs = {s: env[s.name] for s in v.symbol_free if s.name in env}
        return all(bool(g.subs(subs)) for g in v.symbol_guards)

    def _eager(self, args, kwargs):
        self.stats["eager_calls"] += 1
        _GLOBAL["eager_calls"] += 1
        return self.fn(*args, **kwargs)

    # --- compiling --------------------------------------------------------------------------------
    def _why(self, sigs, state, grad):
        """Why no cached variant fits (compared with the most recent one)."""
        if not self.variants:
            return None
        v = self.variants[-1]
        state_vals = _guarded(state, v.hp_keys)
        names = self._arg_names(len(sigs))
        if v.grad_enabled != grad:
            return f"grad mode changed ({v.grad_enabled} -> {grad})"
        if len(v.arg_sigs) != len(sigs):
            return f"number of arguments changed ({len(v.arg_sigs)} -> {len(sigs)})"
        for i, (w, g) in enumerate(zip(v.arg_sigs, sigs)):
            if not _sig_matches(w, g, {}):
                what = names[i]
                if w[0] == "T" and g[0] == "T":
                    if w[1] != g[1]:
                        return f"argument {what!r}: dtype changed ({w[1]} -> {g[1]})"
                    if w[3] != g[3]:
                        return f"argument {what!r}: requires_grad changed ({w[3]} -> {g[3]})"
                    if len(w[2]) != len(g[2]):
                        return f"argument {what!r}: rank changed ({len(w[2])} -> {len(g[2])})"
                    return (f"argument {what!r}: shape changed "
                            f"({_shape_str(w[2])} -> {_shape_str(g[2])})")
                return f"argument {what!r} changed ({_describe(w)} -> {_describe(g)})"
        if v.state_vals != state_vals:
            labels = [lab for lab, k in zip(state[1], state[2]) if k not in v.hp_keys]
            for lab, a, b in zip(labels, v.state_vals, state_vals):
                if a != b:
                    return f"{lab} changed ({a!r} -> {b!r})"
            return "module/optimizer state changed"
        for t, dtype, shape, has_grad in v.lifted:
            d = t._data
            if d.__class__ is not np.ndarray:
                return "a captured tensor is being traced elsewhere"
            if d.dtype != dtype or d.shape != shape:
                return (f"a captured tensor changed ({dtype}[{_shape_str(shape)}] -> "
                        f"{d.dtype}[{_shape_str(d.shape)}])")
            if has_grad is not None and (t.grad is not None) != has_grad:
                return (f"a captured tensor's .grad is {'set' if t.grad is not None else 'None'} "
                        f"(it was {'set' if has_grad else 'None'} when compiled)")
        return "a symbolic size broke a guard of the compiled program"

    def _arg_names(self, n):
        from ..ir.program import _input_names
        return _input_names(self.fn, n)

    def _changed_hparams(self, state):
        """Float param_groups keys whose value differs from the last variant's: from now on they
        are runtime inputs too (one recompile, then none however often a scheduler changes them)."""
        if not self.variants:
            return set()
        v = self.variants[-1]
        old = [k for k in state[2] if k not in v.hp_keys]
        new = _guarded(state, v.hp_keys)
        if len(old) != len(new) or len(v.state_vals) != len(new):
            return set()
        return {k for k, a, b in zip(old, v.state_vals, new) if k is not None and a != b}

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
            if config.log_recompiles:
                print(f"[ember.compile] recompiling {self.__name__}: {reason} (at {site})",
                      file=sys.stderr)
        dyn = self._dynamic_dims(sigs)
        t0 = time.perf_counter()
        v = Variant()
        v.grad_enabled = grad
        v.hp_keys = frozenset(self.hp_keys)
        v.state_vals = _guarded(state, v.hp_keys)
        out = self._trace(v, flat, sigs, dyn, args, kwargs)
        while out is _RETRY:
            # the traced code branched on a hyper-parameter input (SGD's `if momentum != 0`):
            # those keys stay guarded constants from now on (lr last, then everything)
            extra = v.hp_keys - {"lr"}
            self.hp_keys -= extra
            self.hp_baked |= extra
            keys = v.hp_keys & {"lr"} if extra else frozenset()
            v = Variant()
            v.grad_enabled = grad
            v.hp_keys = keys
            v.state_vals = _guarded(state, v.hp_keys)
            out = self._trace(v, flat, sigs, dyn, args, kwargs)
        dt_ = time.perf_counter() - t0
        self.stats["compile_seconds"] += dt_
        _GLOBAL["compile_seconds"] += dt_
        self.stats["compiles"] += 1
        _GLOBAL["compiles"] += 1
        self.variants.append(v)
        if out is not _BROKE:
            return out
        if v.eager is not None:
            return self._eager(args, kwargs)
        return self._run(v, flat, args, kwargs)

    def _dynamic_dims(self, sigs):
        """flat position -> symbolic dims: user marks, dynamic=True, and sizes that changed
        since the last variant with the same ranks (automatic dynamic, unless dynamic=False)."""
        out = {}
        for i, s in enumerate(sigs):
            if s[0] != "T":
                continue
            dims = set(self.dynamic_args.get(i, ()))
            if self.dynamic is True:
                dims |= set(range(len(s[2])))
            elif self.dynamic is None:
                for v in self.variants:
                    w = v.arg_sigs[i] if i < len(v.arg_sigs) else None
                    if w is not None and w[0] == "T" and len(w[2]) == len(s[2]):
                        dims |= {d for d, (a, b) in enumerate(zip(w[2], s[2]))
                                 if a.__class__ is not int or a != b}
            if dims:
                out[i] = dims
        return out

    def _trace(self, v, flat, sigs, dyn, args, kwargs):
        """Trace, run the passes, generate code.  Returns _BROKE when the variant is ready to run
        (or marked eager)."""
        from ..ir.trace import TraceError, Tracer, flatten, tracing
        from .creation import default_generator
        tracer = _CompileTracer()
        tracer.graph.name = _graph_name(self.fn)
        names = self._arg_names(len(flat))
        rng = default_generator.get_state()
        recorder = _SchedulerRecorder(v.hp_keys,
                                      [o for o in self._objs if hasattr(o, "param_groups")])
        result = None
        try:
            with tracing(tracer), recorder:
                proxies, pos_of = [], {}
                for i, a in enumerate(flat):
                    if isinstance(a, Tensor):
                        if id(a) in pos_of or a._value is not None:
                            a = a.detach()
                        pos_of[id(a)] = i
                        tracer.lift(a, "input", names[i], dynamic_dims=tuple(dyn.get(i, ())))
                        tracer.arg_pos[id(a)] = i
                    proxies.append(a)
                for i, a in enumerate(flat):   # tensors inside lists
                    if isinstance(a, (tuple, list)):
                        for j, x in enumerate(a):
                            if isinstance(x, Tensor):
                                tracer.lift(x, "input", f"{names[i]}_{j}")
                                tracer.arg_pos[id(x)] = (i, j)
                # state the function reaches is captured before any Python code runs, so that
                # zero_grad() & co. act on traced tensors (and are undone after tracing)
                for obj in self._objs:
                    if _is_module(obj):
                        prefix = "" if obj is self.fn else type(obj).__name__.lower() + "."
                        for qual, p in obj.named_parameters():
                            tracer.lift(p, "param", prefix + qual, prefix + qual)
                        for qual, b in obj.named_buffers():
                            if b is not None:
                                tracer.lift(b, "buffer", prefix + qual, prefix + qual)
                    elif hasattr(obj, "param_groups"):
                        for group in obj.param_groups:
                            for p in group["params"]:
                                if isinstance(p, Tensor):
                                    tracer.lift(p)
                pa = proxies[:len(args)]
                pk = {k: proxies[len(args) + i] for i, k in enumerate(sorted(kwargs))}
                result = self.fn(*pa, **pk)
                leaves, out_spec = flatten(result)
                outs = [tracer.output_value(t) for t in leaves]
                grad_plan = tracer.collect_grads()
                outs += [val for _, kind, val in grad_plan if kind == "new"]
                escapes = self._escaped_state(tracer)
                outs += [tracer.output_value(t) for t in escapes]
                graph = tracer.finish(outs)
                self._record_sources(v, tracer, graph, recorder)
        except TraceError as e:
            default_generator.set_state(rng)
            self._drop_escaped(tracer)
            recorder.undo_scheduler_steps()
            if recorder.hp_values and not self.fullgraph:
                return _RETRY
            return self._graph_break(v, sigs, e)
        except Exception:
            default_generator.set_state(rng)
            self._drop_escaped(tracer)
            recorder.undo_scheduler_steps()
            raise
        finally:
            recorder.restore()
        default_generator.set_state(rng)
        v._arg_tensors = {i: a for i, a in enumerate(flat) if isinstance(a, Tensor)}
        v.arg_sigs = self._symbolic_sigs(sigs, graph, v)
        v.out_spec = out_spec
        v.n_user_outputs = len(leaves)
        v.grad_targets = [(t, kind, None if kind != "keep" else val) for t, kind, val in grad_plan]
        v.replay = recorder.calls
        if recorder.hp_values:
            v.events = recorder.events
            v.hp_first = recorder.hp_values
        v.escapes = escapes
        v.bump = [t for t, _, value, _ in tracer.lifted.values() if value in graph.mutations]
        v.requires_grad_out = [bool(t._requires_grad) for t in leaves]
        v.backward_inside = tracer.saw_backward
        if any(v.requires_grad_out) and v.grad_enabled and not tracer.saw_backward:
            # the caller differentiates the outputs later: the autodiff pass builds the backward
            # program, run by an autograd Function node
            if grad_plan or escapes or v.replay or v.events or \
                    any("seed" in n.prim.params for n in graph.nodes):
                v.eager = ("outputs require grad, backward() is called outside the compiled "
                           "function, and the function also has random ops or updates .grad / "
                           "optimizer state (compile the whole training step instead)")
                return _BROKE
            self._build_with_backward(v, graph)
            # the engine accumulates the returned grads: whether .grad is set does not matter
            v.lifted = [(t, d, sh, None) for t, d, sh, _ in v.lifted]
            return _BROKE
        self._build(v, graph)
        return _BROKE

    def _build_with_backward(self, v, graph):
        from ..ir.parser import parse_graph
        from ..ir.printer import print_graph
        from ..passes.autodiff import autodiff
        bwd = parse_graph(print_graph(graph, source_lines=False))
        bwd.hints = dict(graph.hints)
        wrt_pos = []
        for k, (gv, (kind, x)) in enumerate(zip(graph.inputs, v.sources)):
            t = x if kind != "arg" else None
            if kind == "arg":
                t = v._arg_tensors[x] if isinstance(x, int) else None
            if t is not None and t._requires_grad and gv.meta.dtype.is_floating_point:
                wrt_pos.append(k)
        seeds = [bwd.add_input(o.meta, f"grad_out{k}") for k, o in enumerate(bwd.outputs)]
        n_fwd = len(bwd.outputs)
        bwd.mutations = {}
        autodiff(bwd, wrt=[bwd.inputs[k] for k in wrt_pos], outputs=bwd.outputs, seeds=seeds)
        bwd.outputs = bwd.outputs[n_fwd:]
        self._build(v, graph)
        fwd_module = v.module
        self._build(v, bwd)
        v.bwd_module, v.module, v.graph = v.module, fwd_module, graph
        v.wrt_pos = wrt_pos

    def _escaped_state(self, tracer):
        """Traced tensors the function stored in optimizer state (created during this trace)."""
        out = []
        for obj in self._objs:
            for st in getattr(obj, "state", {}).values() if hasattr(obj, "param_groups") else ():
                for val in st.values():
                    if isinstance(val, Tensor) and val._value is not None and \
                            id(val) not in tracer.lifted:
                        out.append(val)
        return out

    def _drop_escaped(self, tracer):
        """After a failed trace: optimizer state the trace created holds traced tensors; drop those
        entries so the eager run creates them again."""
        for obj in self._objs or ():
            if hasattr(obj, "param_groups"):
                for st in obj.state.values():
                    for k in [k for k, val in st.items() if isinstance(val, Tensor) and
                              val._value is not None]:
                        del st[k]

    def _record_sources(self, v, tracer, graph, recorder):
        """Where each graph input comes from at call time, and the captured-tensor guards."""
        by_value = {value: t for t, _, value, _ in tracer.lifted.values()}
        hp = recorder.hp_index
        grad_owner = {}
        for t, saved, value, arr in tracer.lifted.values():
            g = saved.get("grad")
            if isinstance(g, Tensor) and id(g) in tracer.lifted:
                grad_owner[id(g)] = t
        v.sources = []
        for gv in graph.inputs:
            t = by_value[gv]
            pos = tracer.arg_pos.get(id(t))
            if gv.kind == "input" and pos is not None:
                v.sources.append(("arg", pos))
            elif id(t) in hp:
                v.sources.append(("hp", (hp[id(t)], t._data.dtype)))   # read from param_groups
            elif id(t) in grad_owner:
                v.sources.append(("grad", grad_owner[id(t)]))   # read p.grad at call time
            else:
                v.sources.append(("lifted", t))
        # captured tensors keep their shape and dtype.  .grad: None when traced -> must be None
        # (else eager would accumulate); set and read -> must be set; set, unread -> either
        read = set(graph.inputs)
        v.lifted = []
        for t, saved, value, arr in tracer.lifted.values():
            if id(t) in grad_owner or id(t) in hp:
                continue
            g = saved.get("grad")
            wants_grad = saved.get("_requires_grad", False)
            if g is None:
                flag = False if wants_grad and id(t) not in tracer.grad_reset else None
            else:
                flag = True if tracer.lifted[id(g)][2] in read else None
            if value in read or flag is not None:
                v.lifted.append((t, arr.dtype, arr.shape, flag))

    def _symbolic_sigs(self, sigs, graph, v):
        """Variant signature: the graph's input dims (symbols where the program is symbolic)."""
        import sympy
        out = list(sigs)
        syms = set()
        for gv, src in zip(graph.inputs, v.sources):
            if src[0] == "arg" and isinstance(src[1], int):
                s = sigs[src[1]]
                dims = tuple(d if isinstance(d, int) else (d.name if isinstance(d, sympy.Symbol)
                                                           else _Expr(d))
                             for d in gv.meta.shape)
                out[src[1]] = ("T", s[1], dims, s[3])
                for d in gv.meta.shape:
                    if not isinstance(d, int):
                        syms |= d.free_symbols
        v.symbol_guards = list(graph.guards)
        v.symbol_free = syms
        return out

    def _graph_break(self, v, sigs, err):
        msg = str(err)
        if self.fullgraph:
            raise CompileError(f"ember.compile(fullgraph=True): graph break in {self.__name__}: "
                               f"{msg}") from None
        v.arg_sigs = list(sigs)
        v.eager = msg
        self.stats["graph_breaks"].append(msg)
        _GLOBAL["graph_breaks"] += 1
        if msg not in self.reported_breaks:
            self.reported_breaks.add(msg)
            if config.log_graph_breaks:
                warnings.warn(f"ember.compile: graph break in {self.__name__} (this signature runs "
                              f"eagerly): {msg}", GraphBreakWarning, stacklevel=4)
        return _BROKE

    def _build(self, v, graph):
        from ..codegen import cache
        from ..ir.printer import print_graph
        v.graph = graph
        if self.backend == "interpret":
            from ..ir.interpret import Interpreter
            v.module = _InterpretedModule(Interpreter(graph))
            return
        if self.backend == "triton":  # Triton kernels (the interpreter on CPU tensors)
            from ..codegen.triton.compile_backend import TritonModule
            v.module = TritonModule(graph)
            return
        from ..codegen.numpy_backend import CompiledModule, generate
        t0 = time.perf_counter()
        text = print_graph(graph, source_lines=False)
        key = cache.key_of(text, repr(graph.hints))
        src = cache.load(key)
        v.cache_hit = src is not None
        if src is None:
            from ..passes import run_pipeline
            try:
                res = run_pipeline(graph, keep_stages=config.keep_stages or None)
            except Exception as e:
                raise CompileError(f"ember.compile: internal error while compiling "
                                   f"{self.__name__}: {e}") from e
            v.pipeline = res
            v.graph = res.graph
            v.timings = dict(res.timings)
            t1 = time.perf_counter()
            src = generate(res.graph)
            v.timings["codegen"] = time.perf_counter() - t1
            cache.store(key, src)
        v.source_code = src
        v.module = CompiledModule(src, filename=f"<ember {graph.name} {key[:8]}>")
        v.timings["total_build"] = time.perf_counter() - t0

    # --- running ----------------------------------------------------------------------------------
    def _run(self, v, flat, args, kwargs):
        if getattr(v, "bwd_module", None) is not None:
            return self._run_differentiable(v, flat)
        if v.events:
            # scheduler steps (Python numbers only) replayed before the program, in traced order,
            # so each optimizer step reads the lr it would read eagerly
            hp = replay(v.events) if v.ran else v.hp_first
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
        mod = v.module
        if mod.n_seeds:
            from .creation import default_generator
            seeds = [default_generator.next_seed() for _ in range(mod.n_seeds)]
        else:
            seeds = ()
        outs = mod.run(arrays, seeds)
        for t in v.bump:
            t._bump_version()
        k = v.n_user_outputs
        wrapped = []
        for o in outs[:k]:
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
                if not g.flags.owndata or not g.flags.writeable:
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
            t._data = arr if arr.flags.owndata and arr.flags.writeable else arr.copy()
        if v.ran and not v.events:   # the trace already ran the first call's Python side effects
            for sched, a, kw in v.replay:
                sched.step(*a, **kw)
        v.ran = True
        from ..ir.trace import unflatten
        return unflatten(v.out_spec, wrapped)

    def _run_differentiable(self, v, flat):
        """Forward through the compiled forward program inside an autograd Function whose backward
        runs the program the autodiff pass derived (it recomputes the forward values it needs)."""
        from ..ir.trace import unflatten
        from .autograd import Function
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
                ctx.arrays = [np.array(a, copy=True) for a in arrays]   # values at call time
                outs = v.module.run(arrays, ())
                for t in v.bump:
                    t._bump_version()
                return tuple(_new(o.copy() if not o.flags.owndata or not o.flags.writeable
                                  else o) for o in outs[:k_out])

            @staticmethod
            def backward(ctx, *grads):
                gs = [g._data if g is not None else np.zeros(m.shape, m.dtype.np)
                      for g, m in zip(grads, [o.meta for o in v.graph.outputs])]
                res = v.bwd_module.run(ctx.arrays + [np.ascontiguousarray(g) for g in gs], ())
                out = [None] * len(ctx.arrays)
                for pos, r in zip(v.wrt_pos, res):
                    out[pos] = _new(np.array(r, copy=True))
                return tuple(out)
        outs = CompiledGraph.apply(*tensors)
        return unflatten(v.out_spec, list(outs))

    # --- introspection ----------------------------------------------------------------------------
    def explain(self):
        """A text report: variants, their guards, recompile reasons, graph breaks, timings."""
        lines = [f"ember.compile({self.__name__}): {len(self.variants)} variant(s), "
                 f"{self.stats['calls']} calls, {self.stats['cache_hits']} cache hits"]
        for i, v in enumerate(self.variants):
            if v.eager is not None:
                lines.append(f"  variant {i}: eager ({v.eager})")
                continue
            sig = ", ".join(_describe(s) for s in v.arg_sigs)
            lines.append(f"  variant {i}: ({sig}) grad_enabled={v.grad_enabled} "
                         f"{len(v.graph.nodes) if v.graph else 0} nodes")
            if v.symbol_guards:
                lines.append(f"    symbolic guards: {[str(g) for g in v.symbol_guards]}")
            if v.timings:
                lines.append("    " + ", ".join(f"{k} {1e3 * t:.2f} ms" for k, t in v.timings.items()))
        for r in self.stats["recompiles"]:
            lines.append(f"  recompiled: {r['reason']} (at {r['site']})")
        for b in self.stats["graph_breaks"]:
            lines.append(f"  graph break: {b}")
        return "\n".join(lines)

    def code(self, variant=-1):
        """The generated NumPy module of a variant."""
        return self.variants[variant].source_code

    def program(self, variant=-1):
        """The traced graph of a variant as a saveable ember.jit Program (state = current values
        of the captured tensors)."""
        from ..ir.program import Program
        v = self.variants[variant]
        g = v.pipeline.graph if v.pipeline is not None else v.graph
        state = {}
        for gv, (kind, x) in zip(g.inputs, v.sources):
            if kind == "lifted":
                state[gv.target if gv.kind in ("param", "buffer") else gv.name] = x
            elif kind == "hp":   # a hyper-parameter input: its current value in param_groups
                ev = [e for e in v.events if e[0] == "hp"][x[0]]
                state[gv.name] = _new(hp_array(ev[1][ev[2]], x[1]))
        return Program(g, state)


class _Expr:
    """A symbolic-expression dim in a variant signature (matched by evaluating it)."""
    __slots__ = ("e",)

    def __init__(self, e):
        self.e = e

    def __repr__(self):
        return str(self.e)


def _shape_str(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _graph_name(fn):
    if _is_module(fn):
        return type(fn).__name__
    n = getattr(fn, "__name__", "forward")
    return "forward" if n == "<lambda>" else n


_BROKE = object()
_RETRY = object()


class _InterpretedModule:
    def __init__(self, interp):
        self.interp = interp
        self.n_seeds = len(interp.random_steps)

    def run(self, arrays, seeds=()):
        outs, muts = self.interp.run(arrays, list(seeds) if seeds else None)
        where = dict(zip(self.interp.graph.inputs, arrays))
        for t, new in muts.items():
            np.copyto(where[t], new, casting="unsafe")
        return outs


# --- tracing support ----------------------------------------------------------------------------
def _tracer_class():
    from ..ir.trace import Tracer
    return Tracer


class _CompileTracer:
    """Built lazily (ember.ir imports the frontend): see _make_tracer."""

    def __new__(cls):
        return _make_tracer()


_TRACER_CLS = None


def _make_tracer():
    global _TRACER_CLS
    if _TRACER_CLS is None:
        Tracer = _tracer_class()

        class CompileTracer(Tracer):
            """The IR tracer plus what a training step needs: an existing ``.grad`` of a captured
            tensor is captured too (so gradients accumulate like eager), and the final ``.grad``
            of every captured tensor becomes a program output."""

            def __init__(self):
                super().__init__()
                self.arg_pos = {}
                self.had_grad = {}
                self.grad_plan_cache = []
                self.saw_backward = False
                self.grad_reset = set()    # id(t): .grad set to None before any backward

            def lift(self, t, kind="const", name=None, target=None, dynamic_dims=()):
                if id(t) in self.lifted:
                    return self.lifted[id(t)][2]
                old_grad = t.__dict__.get("grad")
                value = super().lift(t, kind, name, target, dynamic_dims)
                self.had_grad[id(t)] = old_grad is not None
                if old_grad is not None and isinstance(old_grad, Tensor) and \
                        old_grad._value is None:
                    self.lift(old_grad, "const", f"{self.graph.inputs[-1].name}_grad")
                    t.__dict__["grad"] = old_grad
                return value

            def collect_grads(self):
                """[(tensor, kind, payload)] for captured tensors that require grad: kind "new"
                (payload: the traced grad value, made an output), "none" or "keep"."""
                plan = []
                for t, saved, value, arr in list(self.lifted.values()):
                    if not saved.get("_requires_grad", False):
                        continue
                    g = t.__dict__.get("grad")
                    orig = saved.get("grad")
                    if g is None:
                        if orig is not None or self.saw_backward:
                            plan.append((t, "none", None))
                    elif g is orig and g._value is self.lifted.get(id(g), (0, 0, None))[2]:
                        continue   # untouched
                    elif g is orig:
                        plan.append((t, "keep", g))   # written in place: a mutation of g
                    else:
                        plan.append((t, "new", self.output_value(g)))
                self.grad_plan_cache = plan
                return plan

        _TRACER_CLS = CompileTracer
    return _TRACER_CLS()


class _SchedulerRecorder(StepRecorder):
    """StepRecorder (compile_hparams.py) plus a mark when backward() runs inside the step."""

    def __enter__(self):
        super().__enter__()
        self._patch_backward()
        self._patch_zero_grad()
        return self

    def _patch_zero_grad(self):
        """zero_grad(set_to_none=True) before any backward: the program does not depend on
        whether those .grad were set when it was called (no guard on them, no recompile)."""
        from ..nn.modules.module import Module
        from ..optim.optimizer import Optimizer

        def make(orig, params_of):
            def zero_grad(obj, set_to_none=True):
                tr = STATE.tracer
                if tr is not None and set_to_none and not tr.saw_backward:
                    tr.grad_reset.update(id(p) for p in params_of(obj))
                return orig(obj, set_to_none)
            return zero_grad
        for cls, params_of in ((Optimizer, lambda o: [p for g in o.param_groups
                                                      for p in g["params"]]),
                               (Module, lambda m: list(m.parameters()))):
            orig = vars(cls)["zero_grad"]
            cls.zero_grad = make(orig, params_of)
            self.patched.append((cls, "zero_grad", orig))

    def _patch_backward(self):
        from . import autograd
        orig = autograd.run_backward

        def run_backward(*a, **kw):
            if STATE.tracer is not None:
                STATE.tracer.saw_backward = True
            return orig(*a, **kw)
        autograd.run_backward = run_backward
        self._orig_backward = orig

    def restore(self):
        super().restore()
        if getattr(self, "_orig_backward", None) is not None:
            from . import autograd
            autograd.run_backward = self._orig_backward
            self._orig_backward = None
