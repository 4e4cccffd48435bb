"""Batched random draws from a ``torch.Generator`` on any device."""
from typing import Optional

import torch
from torch import Tensor


def uniform(low: float, high: float, shape, generator: Optional[torch.Generator],
            device: torch.device) -> Tensor:
    """``U(low, high)`` of ``shape`` from ``generator`` on ``device`` (``low + (high - low) *
    rand``: one ``torch.rand`` call, no host sync)."""
    return low + (high - low) * torch.rand(shape, generator=generator, device=device)
