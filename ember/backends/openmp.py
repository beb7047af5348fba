"""torch.backends.openmp: ember's CPU kernels use Numba's threading layer, not OpenMP."""


def is_available():
    return False
