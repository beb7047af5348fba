"""torch.backends.mha: the MultiheadAttention fast-path switch (ember has one path)."""
_fastpath = {"enabled": True}


def get_fastpath_enabled():
    return _fastpath["enabled"]


def set_fastpath_enabled(value):
    _fastpath["enabled"] = bool(value)
