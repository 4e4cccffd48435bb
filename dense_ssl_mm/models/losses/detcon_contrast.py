"""DetCon's contrastive detection loss (Hénaff et al., ICCV 2021, eq. 2-3): pooled segment
features of two views, the same segment of the same image in the other view the positive.

For view a against view b, with ``p`` the L2-normalised online predictions of view a's K
sampled segments (``(N, K, D)``), ``t_b``/``t_a`` the normalised target projections of the
global batch (``(B, K, D)``, all ranks), temperature tau:

    logits  = [p . t_b / tau,  p . t_a / tau]                       (N, K, 2 B K)
    positive: same image, same segment id, view b (several if an id was drawn twice);
    the same image's same id in view a itself is removed from the candidates (-1e9);
    row loss = - sum_j y_j log softmax(logits)_j,  y = positives / their number,
    row weight = [the row has a positive] / (times its id was drawn in view a),

``L = mean over rows (a -> b) + mean over rows (b -> a)``. DetConB: ``p`` from the online
predictor, ``t`` from the momentum target's projector; DetConS: both from the one network's
projector (SimCLR form).
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather, get_rank, get_world_size
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number
from .base import Objective

_EXCLUDED = 1e9


def gather_batch(x: Tensor) -> Tensor:
    """``x`` of every rank concatenated in rank order (this rank's own tensor kept, so its
    gradient flows; the others' arrive without one)."""
    if get_world_size() == 1:
        return x
    parts = all_gather(x.detach().contiguous())
    parts[get_rank()] = x
    return torch.cat(parts)


def detcon_one_way(pred: Tensor, target_other: Tensor, target_same: Tensor, ids: Tensor,
                   ids_other: Tensor, temperature: float) -> Tensor:
    """The mean row loss of view a's predictions (docstring above).

    Args:
        pred: ``(N, K, D)`` view a's predictions (this rank's images).
        target_other: ``(B, K, D)`` view b's targets of the global batch.
        target_same: ``(B, K, D)`` view a's targets of the global batch.
        ids: ``(N, K)`` view a's sampled segment ids.
        ids_other: ``(N, K)`` view b's sampled ids (same images).
        temperature: tau.
    """
    n, k, _ = pred.shape
    offset = get_rank() * n if target_other.shape[0] != n else 0
    p = F.normalize(pred, dim=-1)
    logits_other = torch.einsum('nkd,bjd->nkbj', p, F.normalize(target_other, dim=-1))
    logits_same = torch.einsum('nkd,bjd->nkbj', p, F.normalize(target_same, dim=-1))
    own = torch.zeros(n, 1, target_other.shape[0], 1, dtype=pred.dtype, device=pred.device)
    own[torch.arange(n), 0, offset + torch.arange(n, device=pred.device), 0] = 1
    same_other = (ids[:, :, None] == ids_other[:, None, :]).to(pred.dtype)[:, :, None]
    same_self = (ids[:, :, None] == ids[:, None, :]).to(pred.dtype)[:, :, None]
    labels = own * same_other  # [N, K, B, K]
    logits_same = logits_same / temperature - _EXCLUDED * own * same_self
    logits = torch.cat([logits_other / temperature, logits_same], 2).flatten(2)
    labels = torch.cat([labels, torch.zeros_like(labels)], 2).flatten(2)
    positives = labels.sum(-1)  # [N, K]
    labels = labels / positives.clamp(min=1)[..., None]
    weights = (positives > 0).to(pred.dtype) / same_self.sum((2, 3))
    return (-weights * (labels * F.log_softmax(logits, -1)).sum(-1)).mean()


@MODELS.register_module()
class DetConLoss(Objective):
    """:func:`detcon_one_way` in both directions, summed.

    Called as ``loss(preds, targets, ids)``: two views' online predictions, their targets
    (DetConS: the same projections) and sampled segment ids.

    Args:
        temperature: tau (0.1).
        loss_weight: Multiplier of the loss.
        name: Names the term ``loss_<name>`` (``'detcon'``).
    """

    name = 'detcon'

    def __init__(self, temperature: float = 0.1, loss_weight: float = 1.0,
                 name: Optional[str] = None) -> None:
        super().__init__(loss_weight, name)
        self.temperature = check_number('DetConLoss', 'temperature', temperature, 0,
                                        low_open=True)

    def compute(self, query: Sequence[Tensor], key: Sequence[Tensor],
                match: Sequence[Tensor], negatives: None = None) -> Tensor:
        """Two views' ``(N, K, D)`` predictions (``query``) and targets (``key``) and their
        ``(N, K)`` sampled segment ids (``match``)."""
        preds, targets, ids = query, key, match
        if len(preds) != 2 or len(targets) != 2 or len(ids) != 2:
            raise ValueError(f'DetConLoss compares two views, got {len(preds)} predictions, '
                             f'{len(targets)} targets and {len(ids)} id sets')
        everyone = [gather_batch(t) for t in targets]
        return sum(detcon_one_way(preds[a], everyone[1 - a], everyone[a], ids[a], ids[1 - a],
                                  self.temperature) for a in (0, 1))
