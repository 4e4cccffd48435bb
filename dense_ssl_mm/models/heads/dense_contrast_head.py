"""One head for every method: a matcher says which cells correspond, a loss scores them."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS, TASK_UTILS
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.utils.validation import check_choice, check_number
from ..matchers import Direction, MatchContext, Matches


@MODELS.register_module()
class DenseContrastHead(BaseModule):
    """``loss = loss_weight * sum over view pairs (a, b) of loss(query[a], key[b], match)``.

    The matcher (``TASK_UTILS``: :class:`GeometricPositives`, :class:`MatchedPixelPairs`,
    :class:`FeatureArgmax`, :class:`WholeImage`) turns the views' geometry (and, for DenseCL,
    matching features) into matches per direction; the loss (``MODELS``:
    :class:`PixProConsistencyLoss`, :class:`PixContrastLoss`, :class:`QueueInfoNCELoss`)
    turns the two views' maps and the matches into a number. Neither holds weights or a queue.

    ============  =====================  ========================  =========
    method        matcher                loss                      pairs
    ============  =====================  ========================  =========
    PixPro        GeometricPositives     PixProConsistencyLoss     symmetric
    PixContrast   GeometricPositives     PixContrastLoss           symmetric
    VADeR         MatchedPixelPairs      QueueInfoNCELoss (0.07)   symmetric
    DenseCL       FeatureArgmax          QueueInfoNCELoss (0.2)    one_way
    MoCo v2       WholeImage (1x1 maps)  QueueInfoNCELoss (0.2)    one_way
    ============  =====================  ========================  =========

    The view pairs are the method's configuration (``pairs``), resolved against the views of
    each batch: with V views in size groups (e.g. 2 global + 6 local),

    ===================  ========================================================
    ``'symmetric'``      (0, 1) and (1, 0): two-view PixPro, VADeR (the default)
    ``'one_way'``        (0, 1) only: MoCo, DenseCL (query view 1, key view 2)
    ``'all'``            every ordered pair of different views
    ``'global_to_all'``  query a view of the first size group, key any other view
    ``'all_to_global'``  query any view, key another view of the first size group
    ``'same_view'``      (v, v) for every view: student and teacher of one image
    ``'adjacent'``       (v, v + 1) for consecutive views
    ===================  ========================================================

    or an explicit list of ``(query view, key view)`` pairs; a pair of a view with itself is
    legal (the identity geometry: :class:`GeometricPositives` matches every cell to itself).

    Args:
        matcher: Matcher config.
        loss: Loss module config; its ``name`` names the output ``loss_<name>``.
        pairs: A rule above or a list of pairs.
        loss_weight: Multiplier of the loss.
        loss_name: Key of the loss in the output (default ``loss_<loss.name>``).
        reduction: ``'sum'`` over pairs (PixPro and VADeR sum their two directions) or
            ``'mean'`` (multi-crop methods, whose pair count grows with the views).
    """

    def __init__(self, matcher: dict = dict(type='GeometricPositives'),
                 loss: dict = dict(type='PixProConsistencyLoss'),
                 pairs: Union[str, Sequence[Direction]] = 'symmetric', loss_weight: float = 1.0,
                 loss_name: Optional[str] = None, reduction: str = 'sum',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.matcher = TASK_UTILS.build(matcher)
        self.loss_module = MODELS.build(loss)
        self.loss_weight = check_number('DenseContrastHead', 'loss_weight', loss_weight, 0)
        if isinstance(pairs, str):
            check_choice('DenseContrastHead', 'pairs', pairs, PAIR_RULES)
        else:
            pairs = tuple((int(a), int(b)) for a, b in pairs)
            if not pairs or any(min(a, b) < 0 for a, b in pairs):
                raise ValueError(f'DenseContrastHead: pairs must be non-empty (query, key) '
                                 f'view indices >= 0, got {pairs}')
        self.pairs = pairs
        self.reduction = check_choice('DenseContrastHead', 'reduction', reduction,
                                      ('sum', 'mean'))
        self.loss_name = loss_name or f'loss_{self.loss_module.name}'
        if 'loss' not in self.loss_name:
            raise ValueError(f"loss_name must contain 'loss' (mmengine sums only those keys), "
                             f'got {self.loss_name!r}')

    def view_pairs(self, groups: Sequence[int]) -> Tuple[Direction, ...]:
        """The ``(query, key)`` pairs for views in size groups ``groups`` (e.g. ``(2, 6)``)."""
        return resolve_pairs(self.pairs, groups)

    def match(self, query: Sequence[Optional[Tensor]], key: Sequence[Optional[Tensor]],
              geometry: ViewData, features: Optional[Sequence[Tensor]] = None,
              generator: Optional[torch.Generator] = None) -> Matches:
        """The matcher's matches, one per view pair (:class:`Matches` names the pairs)."""
        def sizes(maps):
            return tuple(None if m is None else tuple(m.shape[-2:]) for m in maps)

        groups = geometry.metainfo.get('view_groups', (geometry.num_views, ))
        pairs = self.view_pairs(groups)
        ctx = MatchContext(geometry, pairs, sizes(query), sizes(key), features, generator)
        return Matches(pairs, self.matcher(ctx))

    def loss(self, query: Sequence[Optional[Tensor]], key: Sequence[Optional[Tensor]],
             geometry: ViewData, features: Optional[Sequence[Tensor]] = None,
             negatives: Optional[Tensor] = None, generator: Optional[torch.Generator] = None,
             matches: Optional[Matches] = None) -> Dict[str, Tensor]:
        """The loss of V views' maps over the head's view pairs.

        Args:
            query: V ``(N, C, H, W)`` online maps (PixPro: after the PPM); a view that is
                never a query may be None.
            key: V ``(N, C, H, W)`` target maps (no gradient); a view that is never a key may
                be None.
            geometry: Batched :class:`ViewData` (``boxes`` ``(V, N, 4)``, ``flips``
                ``(V, N)``, ``image_sizes`` ``(N, 2)``).
            features: V maps the matcher compares (:class:`FeatureArgmax`).
            negatives: ``(K, C)`` the queue, for :class:`QueueInfoNCELoss`; a snapshot is
                taken, so the caller may update the queue in place afterwards.
            generator: Drives a sampling matcher.
            matches: What :meth:`match` returned (to reuse it, e.g. for a queue).

        Returns:
            ``{loss_name: loss}`` and what the matcher's ``statistics`` logs (``pos_ratio``
            of :class:`GeometricPositives`, ``valid_pairs`` of :class:`MatchedPixelPairs`).
        """
        if matches is None:
            matches = self.match(query, key, geometry, features, generator)
        if negatives is not None:
            negatives = negatives.detach().clone()
        loss = sum(self.loss_module(query[a], key[b], m, negatives)
                   for (a, b), m in zip(matches.pairs, matches.matches))
        if self.reduction == 'mean':
            loss = loss / len(matches.pairs)
        statistics = getattr(self.matcher, 'statistics', None)
        return {self.loss_name: self.loss_weight * loss,
                **(statistics(matches.matches) if statistics else {})}


#: Named rules for a head's view pairs (see :class:`DenseContrastHead`).
PAIR_RULES = ('symmetric', 'one_way', 'all', 'global_to_all', 'all_to_global', 'same_view',
              'adjacent')


def resolve_pairs(pairs: Union[str, Sequence[Direction]],
                  groups: Sequence[int]) -> Tuple[Direction, ...]:
    """``(query view, key view)`` pairs of a rule (:data:`PAIR_RULES`) or an explicit list,
    for views in size groups ``groups`` (the first group: the global views).

    Raises:
        ValueError: if a pair names a view the batch does not have.
    """
    num_views, num_global = sum(groups), groups[0]
    views = range(num_views)
    if pairs == 'symmetric':
        out = ((0, 1), (1, 0))
    elif pairs == 'one_way':
        out = ((0, 1), )
    elif pairs == 'all':
        out = tuple((a, b) for a in views for b in views if a != b)
    elif pairs == 'global_to_all':
        out = tuple((a, b) for a in range(num_global) for b in views if a != b)
    elif pairs == 'all_to_global':
        out = tuple((a, b) for a in views for b in range(num_global) if a != b)
    elif pairs == 'same_view':
        out = tuple((a, a) for a in views)
    elif pairs == 'adjacent':
        out = tuple((a, a + 1) for a in range(num_views - 1))
    else:
        out = tuple(pairs)
    if not out or max(max(p) for p in out) >= num_views:
        raise ValueError(f'view pairs {pairs!r} need more views than the batch has '
                         f'({num_views}, in size groups {tuple(groups)})')
    return out
