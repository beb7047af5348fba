"""channel_shuffle (pixel_shuffle/pixel_unshuffle live in sampling.py)."""
from __future__ import annotations

__all__ = ["channel_shuffle", "native_channel_shuffle"]


def channel_shuffle(input, groups):
    """(N, g*k, *) -> channels regrouped as k groups of g (ShuffleNet's interleave)."""
    if input.ndim < 3:
        raise RuntimeError(f"channel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with sizes {list(input.shape)}")
    if groups <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    n, c = input.shape[0], input.shape[1]
    if c % groups:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels "
                           f"and {groups} groups.")
    rest = tuple(input.shape[2:])
    x = input.reshape((n, groups, c // groups) + rest).transpose(1, 2)
    return x.reshape((n, c) + rest)


native_channel_shuffle = channel_shuffle
