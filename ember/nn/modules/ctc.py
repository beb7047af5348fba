"""nn.CTCLoss over F.ctc_loss."""
from __future__ import annotations

from ..functional.ctc import ctc_loss
from .module import Module

__all__ = ["CTCLoss"]


class CTCLoss(Module):
    __constants__ = ["blank", "reduction"]

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__()
        self.blank = blank
        self.reduction = reduction
        self.zero_infinity = zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                        self.reduction, self.zero_infinity)
