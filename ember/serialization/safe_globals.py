"""torch.serialization's allow-list for ``weights_only`` loading: ``add_safe_globals``,
``get_safe_globals``, ``clear_safe_globals`` and the ``safe_globals`` context manager.

An entry is an object (a class or function, matched by its module path: ember's own classes also
by their PyTorch path, so ``[ember.nn.MultiheadAttention]`` allows
``torch.nn.modules.activation.MultiheadAttention``) or an ``(object, "module.name")`` pair."""
from __future__ import annotations

__all__ = ["add_safe_globals", "get_safe_globals", "clear_safe_globals", "safe_globals"]

_allowed: list = []


def _check(entries):
    if not isinstance(entries, (list, tuple)):
        raise TypeError(f"safe_globals must be a list of objects or (object, str) tuples, got "
                        f"{type(entries).__name__}")
    for e in entries:
        if isinstance(e, tuple) and not (len(e) == 2 and isinstance(e[1], str)):
            raise ValueError(f"a safe global given as a tuple must be (object, 'module.name'), "
                             f"got {e!r}")
    return list(entries)


def add_safe_globals(safe_globals):
    _allowed.extend(_check(safe_globals))


def get_safe_globals():
    return list(_allowed)


def clear_safe_globals():
    _allowed.clear()


class safe_globals:
    """``with safe_globals([MyClass]): ember.load(f)``: allowed only inside the block."""

    def __init__(self, safe_globals):
        self.entries = _check(safe_globals)

    def __enter__(self):
        self.saved = list(_allowed)
        _allowed.extend(self.entries)

    def __exit__(self, *exc):
        _allowed[:] = self.saved


def _names(obj):
    from .pickle_writer import torch_global_name
    qual = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    if qual is None:
        return set()
    names = {f"{getattr(obj, '__module__', None)}.{qual}"}
    try:
        module, name = torch_global_name(obj, qual)
        names.add(f"{module}.{name}")
    except Exception:   # not findable by module path: only its own name counts
        pass
    return names


def lookup(module, name):
    """The allowed object named ``module.name``, or None."""
    full = f"{module}.{name}"
    for e in _allowed:
        obj, given = e if isinstance(e, tuple) else (e, None)
        if (given == full) if given is not None else full in _names(obj):
            return obj
    return None


def allowed_types():
    return tuple(e[0] if isinstance(e, tuple) else e for e in _allowed
                 if isinstance(e[0] if isinstance(e, tuple) else e, type))
