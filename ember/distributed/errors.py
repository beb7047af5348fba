"""The exceptions of ember.distributed (torch.distributed's names)."""


class DistError(RuntimeError):
    """Base class of distributed errors (torch.distributed.DistError)."""


class DistBackendError(DistError):
    """The communication backend failed: a peer died, or an operation passed its timeout."""


class DistNetworkError(DistError):
    """The job could not be set up (no launcher, a world size that does not match)."""
