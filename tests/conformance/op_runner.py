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
from .convert import FORWARD_TOL, GRAD_TOL, Unsupported, compare, flatten, same_torch, to_ember

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
        sd = max(b.std(), a.std(), 1e-12)
        if abs(a.mean() - b.mean()) > 6 * sd / np.sqrt(len(b)) + 0.05 * sd + 1e-6:
            return f"random output: mean {a.mean():.4g}, torch {b.mean():.4g}"
        if not (0.5 * b.std() - 1e-6 <= a.std() <= 2 * b.std() + 1e-6):
            return f"random output: std {a.std():.4g}, torch {b.std():.4g}"
    return None


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
    t_outs, e_outs, t_cots, e_cots = [], [], [], []
    for t, e in zip(t_res, e_res):
        if not (isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point):
            continue
        if not isinstance(e, ember.Tensor) or not e.requires_grad:
            return "grad: ember's output does not require grad (torch's does)"
        cot = rng.standard_normal(tuple(t.shape))
        t_outs.append(t)
        e_outs.append(e)
        t_cots.append(torch.tensor(cot, dtype=t.dtype))
        e_cots.append(ember.tensor(cot, dtype=e.dtype))
    if not t_outs:
        return None
    t_in = [t for t, _ in pairs]
    e_in = [e for _, e in pairs]
    t_grads = torch.autograd.grad(t_outs, t_in, t_cots, allow_unused=True)
    try:
        e_grads = ember.autograd.grad(e_outs, e_in, e_cots, allow_unused=True)
    except Exception as ex:
        return "grad raised " + _err(ex)
    t_grads = [g if g is not None else torch.zeros_like(t) for g, t in zip(t_grads, t_in)]
    e_grads = [g if g is not None else ember.zeros(tuple(e.shape), dtype=e.dtype)
               for g, e in zip(e_grads, e_in)]
    return compare(e_grads, t_grads, GRAD_TOL.get(dtype, (1e-3, 1e-4)), "grad", check_dtype=False)


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
    if op.inplace_variant is not None and not sample.broadcasts_input and not random:
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


def _check_inplace(op, sample, dtype, tol):
    name = op.inplace_variant.__name__
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
        if name == "<lambda>":
            method = functools.partial(_on_ember(op.inplace_variant), ex)
        else:
            method = getattr(ex, name, None)
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
    out = {}
    for op in op_db:
        name = entry_name(op)
        k = 2
        while name in out:  # a few entries share a name (two `normal` variants...)
            name = f"{entry_name(op)}#{k}"
            k += 1
        out[name] = op
    return out
