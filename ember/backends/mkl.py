"""torch.backends.mkl: ember does not link MKL itself."""


def is_available():
    return False
