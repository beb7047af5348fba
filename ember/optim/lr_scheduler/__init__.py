"""Learning-rate schedulers with PyTorch's exact lr sequences.

Each scheduler follows PyTorch's *chainable* form (the new lr is computed from the group's current
lr, so schedulers compose) and, where PyTorch has one, its closed form for ``step(epoch)``.  The
floating-point operations are done in the same order as PyTorch's, so the sequences are equal, not
merely close.

The package's parts: ``base`` (LRScheduler and the shared helpers), ``step`` (factor-per-step
schedulers), ``cosine``, ``cyclic`` (OneCycleLR, CyclicLR), ``plateau`` (ReduceLROnPlateau) and
``composite`` (SequentialLR, ChainedScheduler).  Every scheduler class is re-exported here and
reports this package as its ``__module__``, so pickles name ``ember.optim.lr_scheduler.<Class>``
as they did when this was one module.
"""
from __future__ import annotations

from .base import EPOCH_DEPRECATION_WARNING, LRScheduler, _LRScheduler
from .composite import ChainedScheduler, SequentialLR, _ComposedScheduler
from .cosine import CosineAnnealingLR, CosineAnnealingWarmRestarts
from .cyclic import CyclicLR, OneCycleLR
from .plateau import ReduceLROnPlateau
from .step import (ConstantLR, ExponentialLR, LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR,
                   PolynomialLR, StepLR, _LambdaStateMixin)

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR",
           "LinearLR", "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler",
           "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
           "PolynomialLR"]

for _cls in (LRScheduler, _LambdaStateMixin, _ComposedScheduler, LambdaLR, MultiplicativeLR,
             StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR,
             CosineAnnealingLR, CosineAnnealingWarmRestarts, SequentialLR, ChainedScheduler,
             ReduceLROnPlateau, CyclicLR, OneCycleLR):
    _cls.__module__ = __name__
del _cls
