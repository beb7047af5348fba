"""Helpers shared by the CUDA frontend tests."""
from ember.runtime import cuda as rt


def two_gpus():
    """Whether a second CUDA device exists (the fake runtime has two; a real machine may not):
    tests of moves between devices and of their mismatch error run only then."""
    return rt.runtime().device_count() > 1
