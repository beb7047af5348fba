"""ember.autocast / ember.amp.autocast: a context manager and decorator that runs the ops of the
policy (ember.frontend.autocast) in lower precision or float32, like torch.autocast."""
from __future__ import annotations

import functools
import warnings

from .. import dtypes as dt
from ..frontend.autocast import AMP, DEFAULT_DTYPE, SUPPORTED_DTYPES


class autocast:
    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        device_type = device_type.split(":")[0]
        if device_type not in AMP.enabled:
            raise RuntimeError(f"User specified an unsupported autocast device_type "
                               f"'{device_type}'")
        self.device = device_type
        self.fast_dtype = dt.BY_NAME[DEFAULT_DTYPE[device_type]] if dtype is None \
            else dt.to_dtype(dtype)
        self._enabled = bool(enabled)
        self._cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        if self._enabled and self.fast_dtype.name not in SUPPORTED_DTYPES[device_type]:
            kind = "CPU" if device_type == "cpu" else "CUDA"
            warnings.warn(f"In {kind} autocast, but the target dtype is not supported. "
                          f"Disabling autocast.\n{kind} Autocast only supports dtypes of "
                          f"{', '.join('torch.' + n for n in SUPPORTED_DTYPES[device_type])} "
                          f"currently.")
            self._enabled = False
        if self._enabled and device_type == "cuda":
            from ..runtime import cuda as _rt
            if not _rt.is_available():
                warnings.warn("User provided device_type of 'cuda', but CUDA is not available. "
                              "Disabling")
                self._enabled = False

    def __enter__(self):
        self._prev = (AMP.enabled[self.device], AMP.dtype[self.device], AMP.cache_enabled)
        AMP.enabled[self.device] = self._enabled
        AMP.dtype[self.device] = self.fast_dtype
        AMP.cache_enabled = self._cache_enabled
        AMP.depth += 1
        AMP.refresh()
        return self

    def __exit__(self, *exc):
        AMP.enabled[self.device], AMP.dtype[self.device], AMP.cache_enabled = self._prev
        AMP.depth -= 1
        if AMP.depth == 0:
            AMP.cache.clear()       # cast weights are dropped when leaving the outermost region
        AMP.refresh()
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def decorate_autocast(*args, **kwargs):
            with _copy(self):     # a fresh context per call: the decorator may be re-entered
                return func(*args, **kwargs)
        return decorate_autocast


def _copy(ac):
    new = autocast.__new__(autocast)
    new.__dict__.update({k: v for k, v in ac.__dict__.items() if k != "_prev"})
    return new


def is_autocast_enabled(device_type=None):
    return AMP.enabled["cuda" if device_type is None else device_type]


def is_autocast_available(device_type):
    return device_type in AMP.enabled


def get_autocast_dtype(device_type):
    d = AMP.dtype[device_type]
    return d if d is not None else dt.BY_NAME[DEFAULT_DTYPE[device_type]]


def is_autocast_cache_enabled():
    return AMP.cache_enabled


def clear_autocast_cache():
    AMP.cache.clear()


def _cast(value, device_type, dtype):
    from ..frontend.tensor import Tensor
    from ..frontend.autocast import tensor_device_type
    if isinstance(value, Tensor):
        d = value.dtype
        if d.is_floating_point and d.name != "float64" and tensor_device_type(value) == device_type:
            return value.to(dtype)
        return value
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, dict):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, device_type, dtype) for v in value)
    return value


def custom_fwd(fwd=None, *, device_type, cast_inputs=None):
    """torch.amp.custom_fwd: decorate a custom Function's forward.  With ``cast_inputs``, inside
    an autocast region the forward runs with autocast off and its floating inputs cast to that
    dtype; without, it runs under the surrounding autocast state, which backward reuses."""
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        ctx = args[0]
        ctx._dtype = get_autocast_dtype(device_type)
        if cast_inputs is None:
            ctx._fwd_used_autocast = is_autocast_enabled(device_type)
            return fwd(*args, **kwargs)
        ctx._fwd_used_autocast = False
        if is_autocast_enabled(device_type):
            with autocast(device_type, enabled=False):
                return fwd(*_cast(args, device_type, cast_inputs),
                           **_cast(kwargs, device_type, cast_inputs))
        return fwd(*args, **kwargs)
    return decorate_fwd


def custom_bwd(bwd=None, *, device_type):
    """torch.amp.custom_bwd: run a custom Function's backward under the autocast state its
    forward saw."""
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        ctx = args[0]
        with autocast(device_type, enabled=ctx._fwd_used_autocast, dtype=ctx._dtype):
            return bwd(*args, **kwargs)
    return decorate_bwd
