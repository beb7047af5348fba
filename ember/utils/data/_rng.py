"""The random numbers data loading needs, drawn from an ember.Generator (or ember's default one).

Everything goes through the generator's public ember functions, so ``ember.manual_seed`` or a
seeded ``generator=`` makes shuffling, splitting and worker seeds reproducible.
"""
from __future__ import annotations


def _ember():
    import ember
    return ember


def randperm(n: int, generator=None) -> list:
    return _ember().randperm(n, generator=generator).tolist()


def randint(high: int, size: int, generator=None) -> list:
    return _ember().randint(0, high, (size,), generator=generator).tolist()


def multinomial(weights, num_samples: int, replacement: bool, generator=None) -> list:
    return _ember().multinomial(weights, num_samples, replacement, generator=generator).tolist()


def seed(generator=None) -> int:
    """A fresh 63-bit seed (PyTorch draws ``empty((), int64).random_(generator)``)."""
    ember = _ember()
    g = generator if generator is not None else ember.default_generator
    return int(g.next_seed())
