"""Signatures and guards of ``ember.compile`` (compiler/compile.py): what a cached variant is
keyed on (argument signatures, module/optimizer/autocast state, captured tensors, symbolic sizes),
the lookup that checks them, and why a call did not fit (a recompile reason)."""
from __future__ import annotations

import functools
import types

import numpy as np

from ..frontend.capture import Capturable
from ..frontend.tensor import Tensor

_SCALARS = (bool, int, float, str, type(None))


def _kind(obj):
    """The capture-protocol kind of obj ("module", "optimizer", "scheduler"), else None."""
    return obj._capture_kind if isinstance(obj, Capturable) else None


def _is_module(obj):
    return _kind(obj) == "module"


def _arg_sig(a):
    if isinstance(a, Tensor):
        d = a._data
        # the data class tells CPU (ndarray) from CUDA (DeviceArray) tensors
        return ("T", d.dtype, d.shape, a._requires_grad, d.__class__)
    if isinstance(a, _SCALARS):
        return ("S", type(a), a)
    if isinstance(a, (tuple, list)):
        return ("L", type(a), tuple(_arg_sig(x) for x in a))
    return ("O", id(a))


def _describe(sig):
    kind = sig[0]
    if kind == "T":
        where = " device=cuda" if sig[4] is not np.ndarray else ""
        return f"tensor {sig[1]}[{','.join(map(str, sig[2]))}] requires_grad={sig[3]}{where}"
    if kind == "S":
        return repr(sig[2])
    if kind == "L":
        return f"{sig[1].__name__} of {len(sig[2])}"
    return f"object id {sig[1]}"


def _reached_objects(fn):
    """Modules, optimizers and schedulers the function reaches through its globals, closure,
    bound self (and one level of that self's attributes): their flags are guarded."""
    seen, out = set(), []

    def add(o, depth):
        if id(o) in seen:
            return
        seen.add(id(o))
        if isinstance(o, Capturable):
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
        for label, val, key in o._capture_guards():
            vals.append(val)
            labels.append(f"{type(o).__name__}.{label}")
            keys.append(key)
    from ..frontend.autocast import AMP   # casts are traced in: a program holds for one autocast state
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
        self.lifted = []         # [(tensor, dtype, shape, has_grad, data class)]
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
        self.segments = None     # a SegmentPlan when it runs in segments around graph breaks
        self.draws = None        # per run: the generators seeds are drawn from, in eager's order
        self.seed_pos = []       # which of those draws seed the program's random nodes
        self.ran = False
        self.escapes = []
        self.symbol_guards = []
        self.source_code = None
        self.timings = {}
        self.device = None       # the CUDA device index of a program on CUDA tensors


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
        if want[1] != got[1] or want[3] != got[3] or want[4] is not got[4] or \
                len(want[2]) != len(got[2]):
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
    from ..frontend.trace import user_frame
    f = user_frame(2)
    return f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"


class _Expr:
    """A symbolic-expression dim in a variant signature (matched by evaluating it)."""
    __slots__ = ("e",)

    def __init__(self, e):
        self.e = e

    def __repr__(self):
        return str(self.e)


def _shape_str(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


def _device_name(data_class):
    return "cpu" if data_class is np.ndarray else "cuda"


def lifted_name(v, t, arg_names=()):
    """How a guard message names a captured tensor of variant v: its parameter/buffer name, the
    argument it is, or its graph input name."""
    for k, a in getattr(v, "_arg_tensors", {}).items():
        if a is t and k < len(arg_names):
            return f"argument {arg_names[k]!r}"
    for obj in getattr(v, "objs", ()):   # a module's parameter captured through its optimizer
        if _is_module(obj):
            for qual, p in obj.named_parameters():
                if p is t:
                    return f"parameter {type(obj).__name__}.{qual}"
    if v.graph is not None:
        for gv, (kind, x) in zip(v.graph.inputs, v.sources):
            if kind == "lifted" and x is t:
                return f"{gv.kind} {gv.target or gv.name!r}"
    return "a captured tensor"


def _lifted_mismatch(v, arg_names=()):
    """Why a captured tensor of variant v fails its guard (dtype, shape, whether .grad is set),
    or None when all pass."""
    for t, dtype, shape, has_grad, data_class in v.lifted:
        d = t._data
        if d.__class__ is not data_class:
            if d.__class__.__name__ == "TracedData":
                return f"{lifted_name(v, t, arg_names)} is being traced elsewhere"
            return (f"{lifted_name(v, t, arg_names)} moved to another device "
                    f"({_device_name(data_class)} -> {_device_name(d.__class__)})")
        if d.dtype != dtype or d.shape != shape:
            return (f"{lifted_name(v, t, arg_names)} changed ({dtype}[{_shape_str(shape)}] -> "
                    f"{d.dtype}[{_shape_str(d.shape)}])")
        if has_grad is not None and (t.grad is not None) != has_grad:
            return (f"{lifted_name(v, t, arg_names)}: .grad is "
                    f"{'set' if t.grad is not None else 'None'} (it was "
                    f"{'set' if has_grad else 'None'} when compiled)")
    return None


class GuardChecks:
    """CompiledFunction's guard side: the variant lookup, why-recompile, dynamic dims."""

    def find_variant(self, sigs, state, grad):
        """(variant, symbol bindings) of the cached program whose guards these arguments pass,
        or None.  The one lookup: calls and memory_plan() must agree on it."""
        for v in self.variants:
            env = {}
            if v.grad_enabled == grad and len(v.arg_sigs) == len(sigs) and \
                    v.state_vals == _guarded(state, v.hp_keys) and \
                    all(_sig_matches(w, g, env) for w, g in zip(v.arg_sigs, sigs)) and \
                    _lifted_mismatch(v) is None and self._symbols_ok(v, env):
                return v, env
        return None

    def _symbols_ok(self, v, env):
        if not v.symbol_guards:
            return True
        subs = {s: env[s.name] for s in v.symbol_free if s.name in env}
        return all(bool(g.subs(subs)) for g in v.symbol_guards)

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
                    if w[4] is not g[4]:
                        return (f"argument {what!r}: device changed "
                                f"({_device_name(w[4])} -> {_device_name(g[4])})")
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
        return _lifted_mismatch(v, names) or self._failed_symbol_guard(v, sigs, names) or \
            "a symbolic size broke a guard of the compiled program"

    def _failed_symbol_guard(self, v, sigs, names):
        """The symbolic guard of v these arguments break, with the sizes bound to its symbols
        (and where each size comes from), or None."""
        env, where = {}, {}
        for k, (w, g) in enumerate(zip(v.arg_sigs, sigs)):
            _sig_matches(w, g, env)
            if w[0] == "T":
                for d, dim in enumerate(w[2]):
                    if isinstance(dim, str):
                        where.setdefault(dim, f"{names[k]!r} dim {d}")
        subs = {s: env[s.name] for s in v.symbol_free if s.name in env}
        for g in v.symbol_guards:
            if not bool(g.subs(subs)):
                sizes = ", ".join(f"{s}={subs[s]} ({where.get(s.name, '?')})"
                                  for s in sorted(g.free_symbols, key=str) if s in subs)
                return f"the symbolic guard `{g}` failed with {sizes}"
        return None

    def _arg_names(self, n):
        from ..jit.program import _input_names
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

