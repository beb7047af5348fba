"""ember.amp: automatic mixed precision (torch.amp): ``autocast`` and ``GradScaler``."""
from .autocast_mode import (autocast, is_autocast_enabled, is_autocast_available,  # noqa: F401
                            get_autocast_dtype, is_autocast_cache_enabled, clear_autocast_cache,
                            custom_fwd, custom_bwd)
from .grad_scaler import GradScaler, OptState  # noqa: F401
