"""Process-wide switches PyTorch programs set at start-up: CPU threads, float32 matmul precision
and deterministic algorithms, with PyTorch's names, defaults and argument checks.

ember's CPU kernels are deterministic and compute float32 matmuls in float32 whatever is set, so
the precision and determinism settings are recorded (and read back) without changing results."""
from __future__ import annotations

from .runtime import cpu as _cpu

__all__ = ["set_num_threads", "get_num_threads", "set_num_interop_threads",
           "get_num_interop_threads", "set_float32_matmul_precision",
           "get_float32_matmul_precision", "use_deterministic_algorithms",
           "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
           "set_deterministic_debug_mode", "get_deterministic_debug_mode"]

_state = {"interop_threads": 1, "matmul_precision": "highest", "deterministic": False,
          "warn_only": False}
_PRECISIONS = ("highest", "high", "medium")
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def _int_arg(name, n):
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"{name}(): argument must be int, not {type(n).__name__}")
    if n <= 0:
        raise RuntimeError(f"{name}: Number of threads must be positive, got {n}")
    return n


def set_num_threads(int):  # noqa: A002 - PyTorch's parameter name
    """Threads ember's CPU kernels use (EMBER_NUM_THREADS sets the start value)."""
    _cpu.set_num_threads(_int_arg("set_num_threads", int))


def get_num_threads():
    return _cpu.get_num_threads()


def set_num_interop_threads(int):  # noqa: A002
    _state["interop_threads"] = _int_arg("set_num_interop_threads", int)


def get_num_interop_threads():
    return _state["interop_threads"]


def set_float32_matmul_precision(precision):
    if precision not in _PRECISIONS:
        raise RuntimeError(f"Invalid float32 matmul precision '{precision}'; expected one of "
                           f"{', '.join(_PRECISIONS)}")
    _state["matmul_precision"] = precision


def get_float32_matmul_precision():
    return _state["matmul_precision"]


def use_deterministic_algorithms(mode, *, warn_only=False):
    if not isinstance(mode, bool):
        raise TypeError(f"use_deterministic_algorithms(): argument 'mode' must be bool, not "
                        f"{type(mode).__name__}")
    _state["deterministic"], _state["warn_only"] = mode, bool(warn_only) and mode


def are_deterministic_algorithms_enabled():
    return _state["deterministic"]


def is_deterministic_algorithms_warn_only_enabled():
    return _state["warn_only"]


def set_deterministic_debug_mode(debug_mode):
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError(f"invalid value of debug_mode, expected one of `default`, `warn`, "
                               f"`error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got "
                           f"{debug_mode}")
    use_deterministic_algorithms(debug_mode != 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode():
    if not _state["deterministic"]:
        return 0
    return 1 if _state["warn_only"] else 2
