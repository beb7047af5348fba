"""torch.backends.opt_einsum: ember's einsum does its own contraction ordering (NumPy's)."""
enabled = True
strategy = "auto"


def is_available():
    return False


def get_opt_einsum():
    return None
