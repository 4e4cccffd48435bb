"""One head for every method: a matcher says which cells correspond, a loss scores them."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS, TASK_UTILS
from dense_ssl_mm.structures import PairedViewData
from dense_ssl_mm.utils.validation import check_number


@MODELS.register_module()
class DenseContrastHead(BaseModule):
    """``loss = loss_weight * sum over directions (a, b) of loss(query[a], key[b], match)``.

    The matcher (``TASK_UTILS``: :class:`GeometricPositives`, :class:`MatchedPixelPairs`,
    :class:`FeatureArgmax`, :class:`WholeImage`) turns the views' geometry (and, for DenseCL,
    matching features) into matches per direction; the loss (``MODELS``:
    :class:`PixProConsistencyLoss`, :class:`PixContrastLoss`, :class:`QueueInfoNCELoss`)
    turns the two views' maps and the matches into a number. Neither holds weights or a queue.

    ============  =====================  ========================  =========
    method        matcher                loss                      symmetric
    ============  =====================  ========================  =========
    PixPro        GeometricPositives     PixProConsistencyLoss     yes
    PixContrast   GeometricPositives     PixContrastLoss           yes
    VADeR         MatchedPixelPairs      QueueInfoNCELoss (0.07)   yes
    DenseCL       FeatureArgmax          QueueInfoNCELoss (0.2)    no
    MoCo v2       WholeImage (1x1 maps)  QueueInfoNCELoss (0.2)    no
    ============  =====================  ========================  =========

    Args:
        matcher: Matcher config.
        loss: Loss module config; its ``name`` names the output ``loss_<name>``.
        symmetric: Both directions 1 -> 2 and 2 -> 1 (summed, as PixPro and VADeR), or only
            query view 1 -> key view 2 (MoCo, DenseCL).
        loss_weight: Multiplier of the loss.
        loss_name: Key of the loss in the output (default ``loss_<loss.name>``).
    """

    def __init__(self, matcher: dict = dict(type='GeometricPositives'),
                 loss: dict = dict(type='PixProConsistencyLoss'), symmetric: bool = True,
                 loss_weight: float = 1.0, loss_name: Optional[str] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.matcher = TASK_UTILS.build(matcher)
        self.loss_module = MODELS.build(loss)
        self.loss_weight = check_number('DenseContrastHead', 'loss_weight', loss_weight, 0)
        self.directions = ((0, 1), (1, 0)) if symmetric else ((0, 1), )
        self.loss_name = loss_name or f'loss_{self.loss_module.name}'
        if 'loss' not in self.loss_name:
            raise ValueError(f"loss_name must contain 'loss' (mmengine sums only those keys), "
                             f'got {self.loss_name!r}')

    def match(self, query: Sequence[Tensor], key: Sequence[Tensor], geometry: PairedViewData,
              features: Optional[Sequence[Tensor]] = None,
              generator: Optional[torch.Generator] = None) -> List:
        """The matcher's matches, one per direction of :attr:`directions`."""
        def sizes(maps):
            return [None if m is None else tuple(m.shape[-2:]) for m in maps]

        return self.matcher(geometry, self.directions, sizes(query), sizes(key), features,
                            generator)

    def loss(self, query: Sequence[Tensor], key: Sequence[Tensor], geometry: PairedViewData,
             features: Optional[Sequence[Tensor]] = None, negatives: Optional[Tensor] = None,
             generator: Optional[torch.Generator] = None,
             matches: Optional[List] = None) -> Dict[str, Tensor]:
        """The loss of two views' maps.

        Args:
            query: Two ``(N, C, H, W)`` online maps (PixPro: after the PPM); a one-way head
                reads only the first (the other may be None).
            key: Two ``(N, C, H, W)`` target maps (no gradient); one-way: only the second.
            geometry: Batched :class:`PairedViewData` (``boxes`` ``(2, N, 4)``, ``flips``
                ``(2, N)``, ``image_sizes`` ``(N, 2)``).
            features: Two maps the matcher compares (:class:`FeatureArgmax`).
            negatives: ``(K, C)`` the queue, for :class:`QueueInfoNCELoss`; a snapshot is
                taken, so the caller may update the queue in place afterwards.
            generator: Drives a sampling matcher.
            matches: Matches already made by :meth:`match` (to reuse them, e.g. for a queue).

        Returns:
            ``{loss_name: loss}`` and what the matcher's ``statistics`` logs (``pos_ratio``
            of :class:`GeometricPositives`, ``valid_pairs`` of :class:`MatchedPixelPairs`).
        """
        if matches is None:
            matches = self.match(query, key, geometry, features, generator)
        if negatives is not None:
            negatives = negatives.detach().clone()
        loss = sum(self.loss_module(query[a], key[b], m, negatives)
                   for (a, b), m in zip(self.directions, matches))
        statistics = getattr(self.matcher, 'statistics', None)
        return {self.loss_name: self.loss_weight * loss,
                **(statistics(matches) if statistics else {})}
