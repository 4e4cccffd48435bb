"""BYOL-style instance consistency loss (PixPro's optional instance branch)."""
from typing import Dict, Sequence

import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number


@MODELS.register_module()
class InstanceConsistencyHead(BaseModule):
    """``-2 * cos(p_a, z'_b)`` averaged over the batch, summed over both directions.

    Args:
        loss_weight: Multiplier of the loss (not published; 1.0 in our instance config).
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = check_number('InstanceConsistencyHead', 'loss_weight', loss_weight, 0)

    def loss(self, pred: Sequence[Tensor], target: Sequence[Tensor]) -> Dict[str, Tensor]:
        """``pred``: two ``(N, C)`` online predictions; ``target``: two ``(N, C)`` projections."""
        total = 0
        for p, z in ((pred[0], target[1]), (pred[1], target[0])):
            total = total - 2 * (F.normalize(p, dim=1) * F.normalize(z, dim=1)).sum(1).mean()
        return dict(loss_instance=self.loss_weight * total)
