"""torch.memory_format and torch.layout values.  ember tensors are always strided and every
memory format gives the same values, so these are accepted (and compared) but change nothing."""
from __future__ import annotations


class memory_format:
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"ember.{self._name}"


class layout:
    def __init__(self, name):
        self._name = name

    def __repr__(self):
        return f"ember.{self._name}"


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
strided = layout("strided")
sparse_coo = layout("sparse_coo")
