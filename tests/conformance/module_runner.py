"""Run one ModuleInfo of PyTorch's ``module_db`` against ember.

For each of the entry's CPU module inputs (float32 and float64; a stable subset by default, all
with EMBER_CONFORMANCE=full) the module is built in both libraries from the same constructor
arguments, ember's gets torch's state (parameters and buffers) copied in, both run forward in
training mode on identical inputs, and the outputs, the input gradients and the parameter
gradients (same random cotangent) are compared.  A module whose torch output changes with the seed
(dropout...) is compared on shape and distribution only.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

import ember
from .convert import (FORWARD_TOL, GRAD_TOL, Unsupported, by_unique_name, compare, flatten,
                      same_torch, to_ember)
from .op_runner import FULL, _err, _random_stats_agree, pick

SAMPLES_PER_DTYPE = None if FULL else 3


def ember_module_class(info):
    name = info.module_cls.__name__
    cls = getattr(ember.nn, name, None)
    if cls is None:
        raise LookupError(f"ember.nn.{name} is missing")
    return cls


def _state_to_ember(module):
    out = {}
    for k, v in module.state_dict().items():
        out[k] = to_ember(v.detach(), {}) if isinstance(v, torch.Tensor) else v
    return out


def _run_input(info, cls_e, mi, dtype, rng, training=True):
    c_args, c_kwargs = mi.constructor_input.args, mi.constructor_input.kwargs
    f_args, f_kwargs = mi.forward_input.args, mi.forward_input.kwargs
    try:
        torch.manual_seed(0)
        m_t = info.module_cls(*c_args, **c_kwargs).to(dtype)
        m_t.train(training)
        torch.manual_seed(1)
        t_out = m_t(*f_args, **f_kwargs)
        torch.manual_seed(2)
        t_again = m_t(*f_args, **f_kwargs)
    except Exception:
        return "skip"
    random = not same_torch(t_again, t_out)
    leaves = {}
    try:
        e_cargs = to_ember(c_args, {})
        e_ckwargs = to_ember(c_kwargs, {})
        e_fargs = to_ember(f_args, leaves)
        e_fkwargs = to_ember(f_kwargs, leaves)
    except Unsupported as ex:
        return f"unsupported argument: {ex}"
    try:
        m_e = cls_e(*e_cargs, **e_ckwargs).to(ember.float64 if dtype is torch.float64
                                               else ember.float32)
        m_e.train(training)
        m_e.load_state_dict(_state_to_ember(m_t))
    except Exception as ex:
        return "construct: " + _err(ex)
    try:
        e_out = m_e(*e_fargs, **e_fkwargs)
    except Exception as ex:
        return "forward: " + _err(ex)
    tol = FORWARD_TOL.get(dtype, (1e-4, 1e-5))
    reason = _random_stats_agree(e_out, t_out) if random else compare(e_out, t_out, tol)
    if reason or random:
        return reason
    return _check_grads(m_t, m_e, t_out, e_out, leaves, dtype, rng)


def _check_grads(m_t, m_e, t_out, e_out, leaves, dtype, rng):
    t_params = dict(m_t.named_parameters())
    e_params = dict(m_e.named_parameters())
    if sorted(t_params) != sorted(e_params):
        return f"parameters {sorted(e_params)}, torch {sorted(t_params)}"
    names = [n for n in t_params if t_params[n].requires_grad]
    t_in = [t for t, _ in leaves.values() if t.requires_grad] + [t_params[n] for n in names]
    e_in = [e for t, e in leaves.values() if t.requires_grad] + [e_params[n] for n in names]
    t_outs, e_outs, t_cots, e_cots = [], [], [], []
    for t, e in zip(flatten(t_out), flatten(e_out)):
        if isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point:
            if not isinstance(e, ember.Tensor) or not e.requires_grad:
                return "grad: ember's output does not require grad (torch's does)"
            cot = rng.standard_normal(tuple(t.shape))
            t_outs.append(t)
            e_outs.append(e)
            t_cots.append(torch.tensor(cot, dtype=t.dtype))
            e_cots.append(ember.tensor(cot, dtype=e.dtype))
    if not t_outs or not t_in:
        return None
    t_grads = torch.autograd.grad(t_outs, t_in, t_cots, allow_unused=True)
    try:
        e_grads = ember.autograd.grad(e_outs, e_in, e_cots, allow_unused=True)
    except Exception as ex:
        return "grad raised " + _err(ex)
    t_grads = [g if g is not None else torch.zeros_like(t) for g, t in zip(t_grads, t_in)]
    e_grads = [g if g is not None else ember.zeros(tuple(e.shape), dtype=e.dtype)
               for g, e in zip(e_grads, e_in)]
    return compare(e_grads, t_grads, GRAD_TOL.get(dtype, (1e-3, 1e-4)), "grad", check_dtype=False)


def run_entry(info, samples_per_dtype=SAMPLES_PER_DTYPE):
    try:
        cls_e = ember_module_class(info)
    except LookupError as ex:
        return False, str(ex)
    rng = np.random.default_rng(0)
    ran = 0
    for dtype in (torch.float32, torch.float64):
        if dtype not in info.supported_dtypes("cpu"):
            continue
        torch.manual_seed(0)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                inputs = info.module_inputs_func(info, device="cpu", dtype=dtype,
                                                 requires_grad=True, training=True)
        except Exception:
            continue
        for mi in pick(inputs, samples_per_dtype):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    reason = _run_input(info, cls_e, mi, dtype, rng)
            except Exception as ex:
                reason = "harness: " + _err(ex)
            if reason == "skip":
                continue
            ran += 1
            if reason:
                desc = f" ({mi.desc})" if mi.desc else ""
                return False, f"{str(dtype).split('.')[-1]}{desc}: {reason}"
    if not ran:
        return False, "no module input torch itself runs on the CPU"
    return True, None


def all_entries():
    from torch.testing._internal.common_modules import module_db
    return by_unique_name(module_db, lambda info: info.name)
