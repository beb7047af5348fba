"""torch.backends.mkldnn: ember has no oneDNN; ``enabled`` is recorded."""
import contextlib

enabled = True


def is_available():
    return False


@contextlib.contextmanager
def flags(enabled=False, deterministic=False):
    g = globals()
    saved = g["enabled"]
    g["enabled"] = enabled
    try:
        yield
    finally:
        g["enabled"] = saved
