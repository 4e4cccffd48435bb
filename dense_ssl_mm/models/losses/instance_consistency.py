"""BYOL's instance consistency (Grill et al., NeurIPS 2020, eq. 2), PixPro's optional
instance branch (Xie et al., CVPR 2021, sec. 3.4).

For one view pair (a, b), with ``p_a`` the online predictions of view a and ``z_b`` the
target projections of view b, both ``(N, C)``::

    l(a, b) = -2 * mean_n cos(p_a[n], z_b[n])

(BYOL's ``2 - 2 cos`` without the constant). A head with ``pairs='symmetric'`` sums
``l(0, 1) + l(1, 0)``; the floor is -4.
"""
from typing import Optional

import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from .base import Objective


def instance_consistency_loss(pred: Tensor, target: Tensor) -> Tensor:
    """``-2 * mean cos(pred, target)`` over the ``(N, C)`` rows."""
    return -2 * (F.normalize(pred, dim=1) * F.normalize(target, dim=1)).sum(1).mean()


@MODELS.register_module()
class InstanceConsistencyLoss(Objective):
    """:func:`instance_consistency_loss` of one view pair; ``match`` is unused (row n of
    ``query`` corresponds to row n of ``key``: the same image).

    Args:
        loss_weight: Multiplier of the loss (not published; 1.0 in our instance config).
        name: Names the term ``loss_<name>`` (``'instance'``).
    """

    name = 'instance'

    def compute(self, query: Tensor, key: Tensor, match: None = None,
                negatives: Optional[Tensor] = None) -> Tensor:
        """``query``: view a's ``(N, C)`` predictions; ``key``: view b's ``(N, C)`` targets."""
        return instance_consistency_loss(query, key)
