"""The linear probe of frozen dense features: one 1 x 1 conv whose class scores are upsampled
bilinearly to the label maps, trained with cross-entropy (255 ignored).

Every protocol that reads features out linearly uses this module; the protocols differ only
in their recipe (optimiser, schedule, resolution, data), which they name.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..metrics.miou import IGNORE


class LinearProbe(nn.Module):
    """A 1 x 1 conv from ``C`` feature channels to ``K`` class scores.

    Args:
        in_channels: ``C``.
        num_classes: ``K``.
        seed: Seed of the initialisation (its own generator: the global RNG is untouched).
        init_std: None: PyTorch's default initialisation of a conv (uniform in
            ``+-1 / sqrt(C)``, weight and bias); a number: weights from ``N(0, init_std^2)``,
            bias 0.
    """

    def __init__(self, in_channels: int, num_classes: int, seed: int = 0,
                 init_std: Optional[float] = None) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, num_classes, 1)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            if init_std is None:
                bound = 1 / math.sqrt(in_channels)
                self.conv.weight.copy_(torch.empty(self.conv.weight.shape).uniform_(
                    -bound, bound, generator=gen))
                self.conv.bias.copy_(torch.empty(num_classes).uniform_(-bound, bound,
                                                                       generator=gen))
            else:
                self.conv.weight.copy_(torch.randn(self.conv.weight.shape, generator=gen)
                                       * init_std)
                self.conv.bias.zero_()

    def forward(self, feats: Tensor, size: Sequence[int]) -> Tensor:
        """``(N, C, h, w)`` features -> ``(N, K, H, W)`` scores at ``size = (H, W)``."""
        return F.interpolate(self.conv(feats), size=tuple(size), mode='bilinear',
                             align_corners=False)

    def loss(self, feats: Tensor, target: Tensor) -> Tensor:
        """Cross-entropy of the scores at the ``(N, H, W)`` target's size (255 ignored)."""
        return F.cross_entropy(self(feats, target.shape[-2:]), target.long(),
                               ignore_index=IGNORE)

    @torch.no_grad()
    def predict(self, feats: Tensor, size: Sequence[int]) -> Tensor:
        """``(N, H, W)`` predicted classes at ``size``."""
        return self(feats, size).argmax(1)


def probe_step(probe: LinearProbe, optimizer: torch.optim.Optimizer, feats: Tensor,
               target: Tensor) -> Tensor:
    """One optimiser step of ``probe`` on frozen ``(N, C, h, w)`` features against
    ``(N, H, W)`` targets; the (detached) loss before the step."""
    with torch.enable_grad():
        loss = probe.loss(feats.detach(), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.detach()
