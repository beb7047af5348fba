"""The Optimizer base class: parameter groups, per-parameter state, zero_grad, hooks and
state_dict()/load_state_dict() in PyTorch's format.

Every optimizer's math is written twice on purpose:

* a *tensor path* in ember Tensor ops (``p.add_``, ``exp_avg.lerp_`` ...).  It is what runs while a
  training step is being traced (``STATE.tracer is not None``), so the updates become graph nodes,
  and it is what ``foreach=False`` selects in eager mode;
* a *NumPy fast path* (the default in eager mode, ``foreach=None``/``True``) that updates the
  parameter and state arrays in place with ``out=`` ufuncs and then bumps the version counters.

Both paths follow PyTorch's single-tensor algorithms operation by operation; tests check that they
agree with each other and with PyTorch.
"""
from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from itertools import chain

import numpy as np

from ..frontend.autograd import enable_grad, set_grad_enabled
from ..frontend.capture import Capturable
from ..frontend.dispatch import STATE
from ..frontend.tensor import Tensor


class _RequiredParameter:
    """Singleton marking a hyper-parameter that every param group must give (e.g. SGD's lr)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class _Handle:
    """What register_*_hook returns: ``handle.remove()`` unregisters the hook."""
    _next_id = 0

    def __init__(self, hooks):
        self._hooks = hooks
        self.id = _Handle._next_id
        _Handle._next_id += 1

    def remove(self):
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_global_step_pre_hooks: "OrderedDict[int, object]" = OrderedDict()
_global_step_post_hooks: "OrderedDict[int, object]" = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """A hook ``hook(optimizer, args, kwargs)`` run before every optimizer's step."""
    handle = _Handle(_global_step_pre_hooks)
    _global_step_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    handle = _Handle(_global_step_post_hooks)
    _global_step_post_hooks[handle.id] = hook
    return handle


def _typename(obj):
    if isinstance(obj, Tensor):
        return "ember." + type(obj).__name__
    module = type(obj).__module__
    name = type(obj).__qualname__
    return name if module in ("builtins", None) else f"{module}.{name}"


def use_fast_path(group):
    """True when the NumPy fast path may run: eager mode, not differentiable, foreach not False,
    and every parameter a CPU tensor (CUDA parameters update through tensor ops, which run on
    their device)."""
    return (STATE.tracer is None and not group.get("differentiable", False)
            and group.get("foreach", None) is not False
            and not any(getattr(p._data, "device_type", None) == "cuda"
                        for p in group["params"]))


def is_capturable(group):
    """Bias corrections and step counts stay tensors (no .item()) while tracing or if asked."""
    return bool(group.get("capturable", False)) or STATE.tracer is not None


def step_value(step_t, capturable):
    """PyTorch's _get_value: the step as a Python float, or the tensor itself when capturable."""
    return step_t if capturable else step_t.item()


def scalar(x):
    """A hyper-parameter given as a 0-d tensor (lr=ember.tensor(0.01)) read as a Python number."""
    if isinstance(x, Tensor) and STATE.tracer is None:
        return x.item()
    return x


def bump(*tensors):
    """Mark tensors written through their NumPy arrays as modified (autograd's version check)."""
    for t in tensors:
        t._bump_version()


def new_step():
    """The per-parameter step counter, a float32 0-d tensor like PyTorch's ``state['step']``."""
    from ..frontend.creation import tensor
    from .. import dtypes as dt
    return tensor(0.0, dtype=dt.float32)


def zeros_state(p):
    """A zero state tensor with p's shape, dtype and device (a fresh, contiguous array)."""
    from ..frontend.device_ops import on_device_of
    return on_device_of(np.zeros(p._data.shape, p._data.dtype), p)


def zero_buffers(p, *names):
    """A fresh state entry of zeros for each name, in the order given."""
    return {name: zeros_state(p) for name in names}


_CHECK_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def check_non_negative(**hyper):
    """PyTorch's ValueError for the first hyper-parameter (in the order given) that is not >= 0.
    Written `not 0.0 <= x` so NaN is rejected too, as in PyTorch."""
    for name, value in hyper.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_CHECK_LABELS.get(name, name + ' value')}: {value}")


def check_betas(lr, eps, betas, weight_decay):
    """The Adam family's checks, in PyTorch's order."""
    check_non_negative(lr=lr, eps=eps)
    for i in (0, 1):
        if not 0.0 <= betas[i] < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {betas[i]}")
    check_non_negative(weight_decay=weight_decay)


def adam_moments_(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, weight_decay, decoupled):
    """The Adam family's weight decay (decoupled onto the param, or L2 into the gradient) and
    first/second moment updates, on Tensors in place.  Returns the gradient with any L2 term."""
    if weight_decay != 0:
        if decoupled:
            param.mul_(1 - lr * weight_decay)
        else:
            grad = grad.add(param, alpha=weight_decay)
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    return grad


class Optimizer(Capturable):
    """Base class of all optimizers (``torch.optim.Optimizer``)."""

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()

        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # step() of every subclass is wrapped so hooks run around it (PyTorch does the same)
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _with_hooks(cls.__dict__["step"])

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group.keys()):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # --- param groups --------------------------------------------------------------------------
    def add_param_group(self, param_group):
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please "
                            "use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for p in param_group["params"]:
            if isinstance(p, tuple):
                names.append(p[0])
                tensors.append(p[1])
            else:
                tensors.append(p)
        param_group["params"] = tensors
        if names:
            if len(names) != len(tensors):
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")
            param_group["param_names"] = names

        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(p))
            if not self.defaults.get("differentiable", None) and not (p.is_leaf or p.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required optimization "
                                 f"parameter {name}")
            param_group.setdefault(name, default)

        ids = [id(p) for p in tensors]
        if len(ids) != len(set(ids)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)
        seen = set()
        for group in self.param_groups:
            seen.update(id(p) for p in group["params"])
            if ("param_names" in param_group) != ("param_names" in group):
                current = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {current} to the optimizer")
        if not seen.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    # --- gradients -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        if STATE.tracer is not None:   # the capture protocol (frontend/capture.py)
            STATE.tracer.note_zero_grad([p for g in self.param_groups for p in g["params"]],
                                        set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    g = p.grad
                    if g.grad_fn is not None:
                        g.detach_()
                    else:
                        g.requires_grad_(False)
                    g.zero_()

    def step(self, closure=None):
        raise NotImplementedError

    # --- the capture protocol (frontend/capture.py): what ember.compile captures and guards ---
    _capture_kind = "optimizer"

    def _capture_tensors(self):
        return [(None, p, "const") for g in self.param_groups for p in g["params"]
                if isinstance(p, Tensor)]

    def _capture_guards(self):
        out = []
        for gi, group in enumerate(self.param_groups):
            for k, v in group.items():
                if k != "params" and isinstance(v, (bool, int, float, tuple, type(None))):
                    out.append((f"param_groups[{gi}][{k!r}]", v,
                                k if v.__class__ is float else None))
        out.append(("state (number of entries)",
                    sum(len(st) for st in self.state.values()), None))
        return out

    def _params_with_grad(self, group, *buffers, new_state=zero_buffers):
        """(param, state) for each of the group's params that has a gradient.  A param seen for
        the first time gets a step counter and then new_state(param, *buffers): by default a zero
        tensor per buffer name."""
        for p in group["params"]:
            if p.grad is None:
                continue
            state = self.state[p]
            if len(state) == 0:
                state["step"] = new_step()
                state.update(new_state(p, *buffers))
            yield p, state

    def _step_each(self, closure, fast, slow, buffers, hyper, new_state=zero_buffers):
        """step() for optimizers that update one parameter at a time: for each group, the NumPy
        `fast` update where use_fast_path allows (else the Tensor `slow` one) runs as
        update(p, p.grad, state, lr, *hyper(group)) on each param with a gradient, whose state
        starts as new_state(p, *buffers)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            update = fast if use_fast_path(group) else slow
            lr, args = scalar(group["lr"]), hyper(group)
            for p, state in self._params_with_grad(group, *buffers, new_state=new_state):
                update(p, p.grad, state, lr, *args)
        return loss

    def _run_closure(self, closure):
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # --- state dict ----------------------------------------------------------------------------
    def state_dict(self):
        for hook in list(self._optimizer_state_dict_pre_hooks.values()):
            hook(self)
        mapping = {}
        start = 0

        def pack(group):
            nonlocal start
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                mapping.setdefault(id(p), i)
            packed["params"] = [mapping[id(p)] for p in group["params"]]
            start += len(packed["params"])
            return packed

        param_groups = [pack(g) for g in self.param_groups]
        state = {(mapping[id(k)] if isinstance(k, Tensor) else k): v
                 for k, v in self.state.items()}
        result = {"state": state, "param_groups": param_groups}
        for hook in list(self._optimizer_state_dict_post_hooks.values()):
            out = hook(self, result)
            if out is not None:
                result = out
        return result

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        for hook in list(self._optimizer_load_state_dict_pre_hooks.values()):
            out = hook(self, state_dict)
            if out is not None:
                state_dict = out
        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the "
                             "size of optimizer's group")
        id_map = dict(zip(chain.from_iterable(s["params"] for s in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        state = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = {key: _cast_state(param, key, value) for key, value in v.items()}
            else:
                state[k] = v

        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for name, default in self.defaults.items():  # state dicts from older versions
                if default is not required:
                    saved.setdefault(name, default)
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups
        for hook in list(self._optimizer_load_state_dict_post_hooks.values()):
            hook(self)

    # --- hooks ---------------------------------------------------------------------------------
    def _register(self, hooks, hook, prepend=False):
        handle = _Handle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None``."""
        return self._register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)


def _cast_state(param, key, value):
    """Loaded state follows the parameter's dtype (PyTorch's policy); 'step' keeps its own."""
    if key == "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
        from ..frontend.creation import tensor
        from .. import dtypes as dt
        return tensor(float(value), dtype=dt.float32)  # state dicts that stored a Python step
    if isinstance(value, Tensor):
        if key == "step":   # stays on the CPU, as PyTorch's (unless capturable/fused)
            return value.clone()
        # the rest follows the parameter's device (and dtype, for floating parameters)
        if param.is_floating_point():
            value = value.to(device=param.device, dtype=param.dtype)
        else:
            value = value.to(param.device)
        return value.clone()
    if isinstance(value, dict):
        return {k: _cast_state(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_state(param, key, v) for v in value)
    return value


def _with_hooks(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        for hook in chain(list(_global_step_pre_hooks.values()),
                          list(self._optimizer_step_pre_hooks.values())):
            out = hook(self, args, kwargs)
            if out is not None:
                if isinstance(out, tuple) and len(out) == 2:
                    args, kwargs = out
                else:
                    raise RuntimeError(f"{hook} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {out}.")
        self._opt_called = True
        # the math runs without autograd unless the optimizer was built differentiable=True
        with set_grad_enabled(bool(self.defaults.get("differentiable", False))):
            result = step(self, *args, **kwargs)
        for hook in chain(list(self._optimizer_step_post_hooks.values()),
                          list(_global_step_post_hooks.values())):
            hook(self, args, kwargs)
        return result
    wrapper._wrapped_by_hooks = True
    return wrapper
