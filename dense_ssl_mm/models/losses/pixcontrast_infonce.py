"""PixContrast's pixel-level InfoNCE (Xie et al., CVPR 2021, eq. 2)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number
from ..matchers import CellMask
from .base import Objective


def pixcontrast_loss(online: Tensor, target: Tensor, mask: Tensor, temperature: float) -> Tensor:
    """PixContrast's InfoNCE for one direction, mean over cells that have a positive.

    For cell i of view a: ``-log(sum_pos exp(s_ij / tau) / sum_all exp(s_ij / tau))`` with
    ``s`` the cosine similarity to the target cells of view b; the negatives are the cells of
    view b farther than the threshold. Returns 0 (with a graph) when no cell has a positive.
    """
    q = F.normalize(online.flatten(2), dim=1)  # [N, C, HW1]
    k = F.normalize(target.flatten(2), dim=1)  # [N, C, HW2]
    logits = torch.bmm(q.transpose(1, 2), k) / temperature  # [N, HW1, HW2]
    has_pos = mask.any(-1)  # [N, HW1]
    # Rows without a positive would give logsumexp(-inf) and NaN gradients: give them 0s.
    pos_logits = logits.masked_fill(~mask, float('-inf')).masked_fill(~has_pos[..., None], 0.)
    per_cell = torch.logsumexp(logits, -1) - torch.logsumexp(pos_logits, -1)  # [N, HW1]
    per_cell = per_cell.masked_fill(~has_pos, 0.)
    return per_cell.sum() / has_pos.sum().clamp(min=1)


@MODELS.register_module()
class PixContrastLoss(Objective):
    """:func:`pixcontrast_loss` over a :class:`CellMask`: the negatives are the key view's
    cells that are not positives; no queue.

    Args:
        temperature: tau (0.3 in the paper).
        loss_weight: Multiplier of the loss.
        name: Names the term ``loss_<name>`` (``'pixcontrast'``).
    """

    name = 'pixcontrast'

    def __init__(self, temperature: float = 0.3, loss_weight: float = 1.0,
                 name: Optional[str] = None) -> None:
        super().__init__(loss_weight, name)
        self.temperature = check_number('PixContrastLoss', 'temperature', temperature, 0,
                                        low_open=True)

    def compute(self, query: Tensor, key: Tensor, match: CellMask,
                negatives: Optional[Tensor] = None) -> Tensor:
        """``query`` view a's ``(N, C, Ha, Wa)`` map, ``key`` view b's ``(N, C, Hb, Wb)``."""
        return pixcontrast_loss(query, key, match.mask, self.temperature)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, {super().extra_repr()}'
