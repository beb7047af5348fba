"""ember.utils: torch.utils counterparts."""
from . import data  # noqa: F401
