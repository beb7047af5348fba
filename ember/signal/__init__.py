"""ember.signal: torch.signal (the window functions)."""
from . import windows  # noqa: F401
