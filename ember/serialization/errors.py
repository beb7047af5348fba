"""The error types ember.load raises for files it cannot read."""
from __future__ import annotations


class CheckpointError(RuntimeError):
    """A file is not a checkpoint ember can read: truncated, corrupted, foreign or too new."""


class WeightsOnlyError(CheckpointError):
    """A checkpoint needs code to load (a whole module, a class not allow-listed) and
    ``weights_only=True`` forbids that (PyTorch's "Weights only load failed")."""


def describe(source):
    """How error messages name what is being loaded: the path, or the file object's type."""
    import os
    if isinstance(source, (str, bytes, os.PathLike)):
        return repr(os.fsdecode(source))
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return repr(name)
    return f"<{type(source).__name__}>"
