"""PixPro's pixel-to-propagation consistency (Xie et al., CVPR 2021, eq. 4)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from ..matchers import CellMask
from .base import Objective


def pixpro_consistency_loss(pred: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """PixPro's loss for one direction, mean over images.

    ``l = -2 * sum_ij mask_ij cos(pred_i, target_j) / (sum_ij mask_ij + 1e-6)`` per image: an
    image with no positive pair contributes 0.

    Args:
        pred: ``(N, C, H1, W1)`` propagated online features of view a.
        target: ``(N, C, H2, W2)`` target features of view b.
        mask: ``(N, H1*W1, H2*W2)`` positive pairs.
    """
    p = F.normalize(pred.flatten(2), dim=1)  # [N, C, HW1]
    t = F.normalize(target.flatten(2), dim=1)  # [N, C, HW2]
    sim = torch.bmm(p.transpose(1, 2), t)  # [N, HW1, HW2]
    mask = mask.to(sim.dtype)
    per_image = (sim * mask).sum((1, 2)) / (mask.sum((1, 2)) + 1e-6)
    return -2 * per_image.mean()


@MODELS.register_module()
class PixProConsistencyLoss(Objective):
    """:func:`pixpro_consistency_loss` over a :class:`CellMask` (positives only, no
    negatives, no temperature). Its floor is -2 per direction.

    Args:
        loss_weight: Multiplier of the loss.
        name: Names the term ``loss_<name>`` (``'pixpro'``).
    """

    name = 'pixpro'

    def compute(self, query: Tensor, key: Tensor, match: CellMask,
                negatives: Optional[Tensor] = None) -> Tensor:
        """``query`` view a's ``(N, C, Ha, Wa)`` map, ``key`` view b's ``(N, C, Hb, Wb)``."""
        return pixpro_consistency_loss(query, key, match.mask)
