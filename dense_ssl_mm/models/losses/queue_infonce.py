"""InfoNCE of matched pairs against a queue of negatives (MoCo, VADeR, DenseCL)."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number
from ..matchers import PointPairs, gather_pairs
from .base import Objective


def queue_infonce_loss(query: Tensor, key: Tensor, valid: Tensor, negatives: Tensor,
                       temperature: float) -> Tensor:
    """``-log(exp(c(q, k+)) / (exp(c(q, k+)) + sum_k- exp(c(q, k-))))``, averaged over the
    valid pairs (0 if none), with ``c`` the cosine similarity divided by ``temperature``.

    This is MoCo's loss (He et al., CVPR 2020, eq. 1), VADeR's (Pinheiro et al., NeurIPS
    2020, eq. 2) and both of DenseCL's (Wang et al., CVPR 2021, eq. 1 and 2).

    Args:
        query: ``(M, C)`` online features. key: ``(M, C)`` matched target features.
        valid: ``(M,)`` bool. negatives: ``(K, C)`` unit vectors (the queue).
    """
    q = F.normalize(query, dim=1)
    k = F.normalize(key, dim=1)
    pos = (q * k).sum(1, keepdim=True)  # [M, 1]
    neg = q @ negatives.t()  # [M, K]
    logits = torch.cat([pos, neg], 1) / temperature
    per_pair = torch.logsumexp(logits, 1) - logits[:, 0]
    valid = valid.to(per_pair.dtype)
    return (per_pair * valid).sum() / valid.sum().clamp(min=1)


@MODELS.register_module()
class QueueInfoNCELoss(Objective):
    """:func:`queue_infonce_loss` over :class:`PointPairs`. The queue is not this module's:
    the algorithm that fills it passes its current contents as ``negatives``.

    Args:
        temperature: tau (0.2 for MoCo v2 and DenseCL, 0.07 for VADeR).
        loss_weight: Multiplier of the loss (DenseCL: lambda and 1 - lambda).
        name: Names the term ``loss_<name>`` (``'infonce'``; the configs name theirs
            ``moco``, ``vader``, ``global`` and ``dense``).
    """

    name = 'infonce'

    def __init__(self, temperature: float = 0.2, loss_weight: float = 1.0,
                 name: Optional[str] = None) -> None:
        super().__init__(loss_weight, name)
        self.temperature = check_number('QueueInfoNCELoss', 'temperature', temperature, 0,
                                        low_open=True)

    def compute(self, query: Tensor, key: Tensor, match: PointPairs,
                negatives: Optional[Tensor] = None) -> Tensor:
        """Maps ``(N, C, Ha, Wa)`` / ``(N, C, Hb, Wb)``, the pairs, the ``(K, C)`` queue."""
        if negatives is None:
            raise ValueError('QueueInfoNCELoss needs the queue of negatives (negatives=...)')
        q, k, valid = gather_pairs(query, key, match)
        return queue_infonce_loss(q, k, valid, negatives, self.temperature)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, {super().extra_repr()}'
