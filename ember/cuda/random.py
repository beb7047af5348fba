"""CUDA generator seeding.  Eager random ops take an explicit seed (ember.ops.source); a CUDA
tensor's random op draws its seed from the device's generator state kept here.  Without CUDA,
seeding is accepted and does nothing, like a CPU-only PyTorch."""
from __future__ import annotations

import random as _random

# device index -> [initial seed, offset of the next draw]: the state lives with the frontend's
# random ops (a CUDA random op draws its seed there); this module is its user-facing API
from ..frontend.creation import CUDA_SEEDS as _seeds, cuda_next_seed as next_seed, \
    _cuda_seed_state as _state  # noqa: F401


def _devices():
    from . import device_count
    return range(device_count())


def manual_seed(seed):
    from ..runtime import cuda as _rt
    seed = int(seed) & ((1 << 64) - 1)
    _seeds[_rt.current_device()] = [seed, 0]


def manual_seed_all(seed):
    seed = int(seed) & ((1 << 64) - 1)
    for i in _devices():
        _seeds[i] = [seed, 0]


def seed():
    manual_seed(_random.getrandbits(63))


def seed_all():
    manual_seed_all(_random.getrandbits(63))


def initial_seed():
    from . import current_device
    return _state(current_device())[0]


def get_rng_state(device="cuda"):
    from . import _index
    import numpy as np
    st = _state(_index(None if device == "cuda" else device))
    from ..frontend.creation import tensor
    return tensor(np.array(st, dtype=np.uint64).view(np.uint8))


def set_rng_state(new_state, device="cuda"):
    from . import _index
    import numpy as np
    arr = np.asarray(new_state._data, dtype=np.uint8).view(np.uint64)
    _seeds[_index(None if device == "cuda" else device)] = [int(arr[0]), int(arr[1])]
