"""Run one OpInfo of PyTorch's ``op_db`` against ember.

For each dtype the entry supports (float32 and float64, plus int64/bool where listed; every
integer dtype with EMBER_CONFORMANCE=full) the entry's CPU samples are built by PyTorch with a
fixed seed, copied into ember with identical values, and run through:

* the function (``torch.X`` -> ``ember.X``, ``torch.nn.functional.X`` -> ``ember.nn.functional.X``;
  an entry whose op is a lambda over Tensor methods runs that lambda on ember tensors);
* the method variant (``x.X(...)``) and the in-place variant (``x.X_(...)``, on a copy);
* the vjp: ember's autograd and torch's with the same random cotangent.

An op whose torch output changes with the seed is random: it is compared on shape, dtype and the
mean/std of its values, not elementwise.  The entry passes when every run agrees.
"""
from __future__ import annotations

import functools
import itertools
import os
import warnings

import numpy as np
import torch

import ember
from .convert import (FORWARD_TOL, GRAD_TOL, Unsupported, by_unique_name, compare, flatten,
                      same_torch, to_ember)

FULL = os.environ.get("EMBER_CONFORMANCE", "") == "full"
# the sampled run (CI): 3 samples in float32 (with gradients), 1 in each other dtype
SAMPLES_PER_DTYPE = None if FULL else 3
OTHER_DTYPE_SAMPLES = None if FULL else 1

_NOT_CORE = ("linalg.", "fft.", "special.", "masked.", "signal.", "sparse.", "torch.", "_refs.")


def entry_name(op):
    return op.name + ("." + op.variant_test_name if op.variant_test_name else "")


def is_core(op):
    """The issue's "core": torch.*, Tensor methods and nn.functional entries that take floats."""
    return not op.name.startswith(_NOT_CORE) and torch.float32 in op.dtypes


def test_dtypes(op):
    have = op.supported_dtypes("cpu")
    wanted = [torch.float32, torch.float64, torch.int64, torch.bool]
    if FULL:
        wanted += [torch.int32, torch.int16, torch.int8, torch.uint8]
    if not any(d.is_floating_point for d in have):
        # an op without float support: its complex dtypes (if any) stand in for floats
        wanted += [torch.complex64, torch.complex128]
    return [d for d in wanted if d in have]


def pick(samples, k):
    """A stable, evenly spread subset of at most k samples (all with k None)."""
    n = len(samples)
    if k is None or n <= k:
        return samples
    if k == 1:
        return samples[:1]
    idx = sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})
    return [samples[i] for i in idx]


def _resolve_path(root, path):
    obj = root
    for part in path.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


class Missing(Exception):
    pass


def ember_function(op):
    """The ember callable standing for op's function variant, or raises Missing."""
    name = op.name
    fn_name = getattr(op.op, "__name__", "")
    if fn_name == "<lambda>":
        return _on_ember(op.op)
    if name.startswith("__") and name.endswith("__"):
        return lambda x, *a, **k: getattr(x, name)(*a, **k)
    fn = _resolve_path(ember, name)
    if fn is None:
        raise Missing(f"ember.{name} is missing")
    return fn


def _ember_wrapper_set_seed(op, *args, **kwargs):
    ember.manual_seed(42)
    return op(*args, **kwargs)


def _on_ember(fn):
    """The entry's lambda with `torch` in its globals meaning ember: `lambda x: x.float()` runs on
    ember tensors as it is, `lambda x: torch.bernoulli(x)` calls ember.bernoulli."""
    import types
    swap = {torch: ember, torch.nn: _resolve_path(ember, "nn"),
            torch.nn.functional: _resolve_path(ember, "nn.functional")}
    glb = {}
    for k, v in fn.__globals__.items():
        try:
            glb[k] = swap.get(v, v)
        except TypeError:  # unhashable
            glb[k] = v
    glb["wrapper_set_seed"] = _ember_wrapper_set_seed
    return types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)


def _call(fn, sample_args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*sample_args, **kwargs)


def _err(e):
    msg = str(e).split("\n")[0]
    return f"{type(e).__name__}: {msg[:160]}"


def _random_stats_agree(e_out, t_out):
    """Distribution check for random ops: shapes/dtypes equal, mean and std of float values close."""
    reason = compare(e_out, t_out, (np.inf, np.inf), "random output")
    if reason:
        return reason
    for e, t in zip(flatten(e_out), flatten(t_out)):
        if not isinstance(t, torch.Tensor) or t.numel() < 16:
            continue
        a = np.asarray(e.detach()._data, np.float64).ravel()
        b = t.detach().double().numpy().ravel()
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            continue
        if not (_moments_agree(a, b) or _quartiles_agree(a, b)):
            return (f"random output: mean/std {a.mean():.4g}/{a.std():.4g}, torch "
                    f"{b.mean():.4g}/{b.std():.4g}; median {np.median(a):.4g}, torch "
                    f"{np.median(b):.4g}")
    return None


def _moments_agree(a, b):
    sd = max(b.std(), a.std(), 1e-12)
    return (abs(a.mean() - b.mean()) <= 6 * sd / np.sqrt(len(b)) + 0.05 * sd + 1e-6
            and 0.5 * b.std() - 1e-6 <= a.std() <= 2 * b.std() + 1e-6)


def _quartiles_agree(a, b):
    """Robust to heavy tails (Cauchy): the quartiles agree within half the interquartile range."""
    qa, qb = np.percentile(a, [25, 50, 75]), np.percentile(b, [25, 50, 75])
    spread = max(qb[2] - qb[0], 1e-6 * (np.ptp(b) + 1e-12))
    return bool(np.all(np.abs(qa - qb) <= 0.5 * spread))


def _grad_pairs(leaves):
    return [(t, e) for t, e in leaves.values() if t.requires_grad]


def _check_grad(op, sample, t_out, e_out, leaves, dtype, rng):
    pairs = _grad_pairs(leaves)
    if not pairs:
        return None
    proc = sample.output_process_fn_grad
    t_res = flatten(proc(t_out))
    try:
        e_res = flatten(proc(e_out))
    except Exception:
        e_res = flatten(e_out)
    if len(e_res) != len(t_res):
        return f"grad: {len(e_res)} outputs after processing, torch {len(t_res)}"
    t_outs, e_outs, t_cots, e_cots, picked = [], [], [], [], []
    for pos, (t, e) in enumerate(zip(t_res, e_res)):
        if not (isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point):
            continue
        picked.append(pos)
        cot = rng.standard_normal(tuple(t.shape))
        t_outs.append(t)
        e_outs.append(e)
        t_cots.append(torch.tensor(cot, dtype=t.dtype))
        e_cots.append(ember.tensor(cot, dtype=e.dtype))
    if not t_outs:
        return None
    t_in = [t for t, _ in pairs]
    e_in = [e for _, e in pairs]
    try:
        t_grads = torch.autograd.grad(t_outs, t_in, t_cots, allow_unused=True)
    except Exception:  # torch has no derivative here either ("not implemented"): nothing to match
        return None
    if any(not isinstance(e, ember.Tensor) or not e.requires_grad for e in e_outs):
        return "grad: ember's output does not require grad (torch's does)"
    try:
        e_grads = ember.autograd.grad(e_outs, e_in, e_cots, allow_unused=True)
    except Exception as ex:
        return "grad raised " + _err(ex)
    t_grads = [g if g is not None else torch.zeros_like(t) for g, t in zip(t_grads, t_in)]
    e_grads = [g if g is not None else ember.zeros(tuple(e.shape), dtype=e.dtype)
               for g, e in zip(e_grads, e_in)]
    reason = compare(e_grads, t_grads, GRAD_TOL.get(dtype, (1e-3, 1e-4)), "grad",
                     check_dtype=False)
    if reason and dtype is torch.float32 and "values differ" in reason:
        def f64_grads():
            up = {}
            args = _upcast((sample.input, *sample.args), up)
            out = flatten(proc(_call(op, args, _upcast(sample.kwargs, up))))
            outs = [out[i] for i in picked]
            ins = [up[id(t)] for t in t_in]
            cots = [c.double() for c in t_cots]
            gs = torch.autograd.grad(outs, ins, cots, allow_unused=True)
            return [g if g is not None else torch.zeros_like(t) for g, t in zip(gs, ins)]
        if _closer_than_torch(e_grads, t_grads, f64_grads):
            return None
    return reason


def _upcast(obj, seen):
    """torch float32 tensors -> float64 copies (leaves keep requires_grad; `seen` maps ids)."""
    if isinstance(obj, torch.Tensor):
        if id(obj) not in seen:
            t = obj.detach().double() if obj.dtype is torch.float32 else obj.detach().clone()
            seen[id(obj)] = t.requires_grad_(obj.requires_grad) if t.is_floating_point() else t
        return seen[id(obj)]
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_upcast(v, seen) for v in obj)
    if isinstance(obj, dict):
        return {k: _upcast(v, seen) for k, v in obj.items()}
    if obj is torch.float32:
        return torch.float64
    return obj


def _closer_than_torch(e_res, t_res, reference):
    """PyTorch's float32 numerics are not the truth: ember passes where it is at least as close to
    torch's float64 result as torch's float32 result is (plus float32 rounding)."""
    try:
        ref = flatten(reference())
    except Exception:
        return False
    es, ts = flatten(e_res), flatten(t_res)
    if len(ref) != len(es):
        return False
    for e, t, r in zip(es, ts, ref):
        if not isinstance(r, torch.Tensor):
            continue
        if not isinstance(e, ember.Tensor) or not r.is_floating_point():
            return False
        rv = r.detach().double().numpy()
        ev = np.asarray(e.detach()._data, np.float64)
        tv = t.detach().double().numpy()
        if ev.shape != rv.shape:
            return False
        slack = 1e-5 + 1e-5 * np.abs(rv)
        e_err, t_err = np.abs(ev - rv), np.abs(tv - rv)
        ok = (e_err <= t_err + slack) | (np.isnan(ev) & np.isnan(rv))
        if not ok.all():
            return False
    return True


def _run_sample(op, fn, sample, dtype, want_grad, rng):
    """None when ember agrees with torch on this sample, 'skip' when torch itself fails, else a
    reason."""
    args = (sample.input, *sample.args)
    try:
        torch.manual_seed(1)
        t_out = _call(op, args, sample.kwargs)
    except Exception:
        return "skip"
    random = not _is_deterministic(op, args, sample.kwargs, t_out)
    leaves = {}
    try:
        e_args = to_ember(args, leaves)
        e_kwargs = to_ember(sample.kwargs, leaves)
    except Unsupported as ex:
        return f"unsupported argument: {ex}"
    try:
        e_out = _call(fn, e_args, e_kwargs)
    except Exception as ex:
        return _err(ex)
    tol = FORWARD_TOL.get(dtype, (1e-4, 1e-5))
    if "empty" in op.name:  # uninitialized memory: only shapes and dtypes are defined
        return compare(e_out, t_out, (np.inf, np.inf))
    reason = _random_stats_agree(e_out, t_out) if random else compare(e_out, t_out, tol)
    if reason and not random and dtype is torch.float32 and "values differ" in reason:
        def f64_out():
            up = {}
            with torch.no_grad():
                return _call(op, _upcast(args, up), _upcast(sample.kwargs, up))
        if _closer_than_torch(e_out, t_out, f64_out):
            reason = None
    if reason:
        return reason
    if op.method_variant is not None and getattr(op.method_variant, "__name__", None):
        name = op.method_variant.__name__
        if name == "<lambda>":
            method = _on_ember(op.method_variant)
        else:
            def method(x, *a, **k):
                return getattr(x, name)(*a, **k)
        if not name.startswith("__") or name in ("__getitem__",):
            try:
                m_out = _call(method, e_args, e_kwargs)
            except Exception as ex:
                return f"method .{name}: " + _err(ex)
            reason = (_random_stats_agree(m_out, t_out) if random else
                      compare(m_out, t_out, tol, f"method .{name}"))
            if reason:
                return reason
    if op.inplace_variant is not None and not sample.broadcasts_input and not random \
            and _torch_name(op.inplace_variant):
        reason = _check_inplace(op, sample, dtype, tol)
        if reason:
            return reason
    if want_grad and not random:
        try:
            return _check_grad(op, sample, t_out, e_out, leaves, dtype, rng)
        except Exception as ex:  # torch's own grad failed (an output without grad_fn...)
            if "ember" in type(ex).__module__:
                return "grad: " + _err(ex)
            return None
    return None


def _seeds_itself(op):
    """Entries whose op re-seeds torch before each call (OpInfo's wrapper_set_seed) look
    deterministic to a two-seed comparison but are random."""
    for fn in (op.op, op.method_variant, op.inplace_variant):
        code = getattr(fn, "__code__", None)
        if code is not None and "wrapper_set_seed" in code.co_names:
            return True
    return False


def _is_deterministic(op, args, kwargs, t_out):
    if _seeds_itself(op):
        return False
    try:
        torch.manual_seed(2)
        again = _call(op, args, kwargs)
    except Exception:
        return True
    return same_torch(again, t_out)


def _torch_name(fn):
    return getattr(fn.func if isinstance(fn, functools.partial) else fn, "__name__", None)


def _ember_inplace(fn, x):
    """The ember counterpart of an entry's in-place variant, bound to x."""
    if isinstance(fn, functools.partial):  # F.relu with inplace=True, ...
        inner = _resolve_path(ember, "nn.functional." + fn.func.__name__) \
            if "functional" in (fn.func.__module__ or "") else None
        return None if inner is None else functools.partial(inner, x, *fn.args, **fn.keywords)
    if fn.__name__ == "<lambda>":
        return functools.partial(_on_ember(fn), x)
    return getattr(x, fn.__name__, None)


def _check_inplace(op, sample, dtype, tol):
    name = _torch_name(op.inplace_variant)
    with torch.no_grad():
        x = sample.input.detach().clone() if isinstance(sample.input, torch.Tensor) else None
        if x is None:
            return None
        t_args = [a.detach() if isinstance(a, torch.Tensor) else a for a in sample.args]
        try:
            torch.manual_seed(1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_res = op.inplace_variant(x, *t_args, **sample.kwargs)
        except Exception:
            return None  # torch refuses this sample in place (dtype or shape change)
    with ember.no_grad():
        leaves = {}
        try:
            ex = to_ember(sample.input.detach(), {}).detach()
            e_args = to_ember(t_args, leaves)
            e_kwargs = to_ember(sample.kwargs, leaves)
        except Unsupported as exc:
            return f"unsupported argument: {exc}"
        method = _ember_inplace(op.inplace_variant, ex)
        if method is None:
            return f"in-place .{name} is missing"
        try:
            e_res = _call(method, e_args, e_kwargs)
        except Exception as exc:
            return f"in-place .{name}: " + _err(exc)
    if t_res is x and e_res is not ex:
        return f"in-place .{name} does not return its input"
    return compare(ex, x, tol, f"in-place .{name}")


def run_entry(op, samples_per_dtype=SAMPLES_PER_DTYPE):
    """(passed, reason) for one OpInfo."""
    try:
        fn = ember_function(op)
    except Missing as ex:
        return False, str(ex)
    dtypes = test_dtypes(op)
    if not dtypes:
        return False, "no dtype ember can run"
    rng = np.random.default_rng(0)
    ran = 0
    for dtype in dtypes:
        want_grad = (op.supports_autograd and dtype.is_floating_point
                     and dtype in op.supported_backward_dtypes("cpu"))
        k = samples_per_dtype if dtype is torch.float32 or samples_per_dtype is None else \
            OTHER_DTYPE_SAMPLES
        torch.manual_seed(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                gen = op.sample_inputs("cpu", dtype, requires_grad=want_grad)
                # sampled run: the subset comes from the first samples only, since building
                # all of an entry's samples is most of the time for some (max_pool2d: 300+)
                samples = list(gen if k is None else itertools.islice(gen, 4 * k))
        except Exception:
            continue
        for sample in pick(samples, k):
            try:
                reason = _run_sample(op, fn, sample, dtype, want_grad, rng)
            except Exception as ex:  # the harness's own conversion of an odd result
                reason = "harness: " + _err(ex)
            if reason == "skip":
                continue
            ran += 1
            if reason:
                return False, f"{str(dtype).split('.')[-1]}: {reason}"
    if not ran:
        return False, "no sample torch itself runs on the CPU"
    return True, None


def all_entries():
    from torch.testing._internal.common_methods_invocations import op_db
    return by_unique_name(op_db, entry_name)
