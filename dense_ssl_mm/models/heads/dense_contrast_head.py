"""The head of the pairwise objectives: a matcher says which cells of two views correspond,
a loss (:class:`Objective`) scores them, summed or averaged over the view pairs."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS, TASK_UTILS
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_choice
from ..losses import Objective
from ..matchers import Direction, MatchContext, Matches


@MODELS.register_module()
class DenseContrastHead(BaseModule):
    """``terms = sum over view pairs (a, b) of loss(query[a], key[b], match(a, b), negatives)``.

    The head of every objective that is a sum over view pairs. The matcher (``TASK_UTILS``:
    :class:`GeometricPositives`, :class:`MatchedPixelPairs`, :class:`FeatureArgmax`,
    :class:`WholeImage`, :class:`LocationNearest`, :class:`FeatureNearest`; or None when row n
    of one view corresponds to row n of the other, as pooled vectors do) turns the views'
    geometry (and, for DenseCL and VICRegL, matching features) into matches per pair; the
    loss (``MODELS``, an :class:`Objective`) turns two views' maps and their matches into
    named, weighted terms. Neither holds weights or a queue. The loss's ``loss_weight`` and
    ``name`` weight and name the terms (``loss_<name>``); the head adds nothing to them.

    ============  =====================  ============================  =========
    method        matcher                loss                          pairs
    ============  =====================  ============================  =========
    PixPro        GeometricPositives     PixProConsistencyLoss         symmetric
    (instance)    None                   InstanceConsistencyLoss       symmetric
    PixContrast   GeometricPositives     PixContrastLoss               symmetric
    VADeR         MatchedPixelPairs      QueueInfoNCELoss (0.07)       symmetric
    DenseCL       FeatureArgmax          QueueInfoNCELoss (0.2)        one_way
    MoCo v2       WholeImage (1x1 maps)  QueueInfoNCELoss (0.2)        one_way
    VICRegL       FeatureNearest,        VICRegLocalLoss               global_to_all
                  LocationNearest
    Distill       GeometricPositives     PixProConsistencyLoss         same_view
    ============  =====================  ============================  =========

    Objectives that score all views at once (DetCon's segments, NeCo's sorted neighbours,
    VICReg's global criterion) call their :class:`Objective` directly with the same
    signature; every method's terms come out of an :class:`Objective`.

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
        matcher: Matcher config, or None (row n of the query corresponds to row n of the key).
        loss: :class:`Objective` config; its ``name`` and ``loss_weight`` name and weight
            the terms.
        pairs: A rule above or a list of pairs.
        reduction: ``'sum'`` over pairs (PixPro and VADeR sum their two directions) or
            ``'mean'`` (multi-crop methods, whose pair count grows with the views).
    """

    def __init__(self, matcher: Optional[dict] = dict(type='GeometricPositives'),
                 loss: dict = dict(type='PixProConsistencyLoss'),
                 pairs: Union[str, Sequence[Direction]] = 'symmetric', reduction: str = 'sum',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.matcher = None if matcher is None else TASK_UTILS.build(matcher)
        self.loss_module = MODELS.build(loss)
        if not isinstance(self.loss_module, Objective):
            raise BadInputError(f'DenseContrastHead: loss must build an Objective (a loss of '
                                f'models/losses), got {type(self.loss_module).__name__}')
        if isinstance(pairs, str):
            check_choice('DenseContrastHead', 'pairs', pairs, PAIR_RULES)
        else:
            pairs = tuple((int(a), int(b)) for a, b in pairs)
            if not pairs or any(min(a, b) < 0 for a, b in pairs):
                raise BadInputError(f'DenseContrastHead: pairs must be non-empty (query, key) '
                                    f'view indices >= 0, got {pairs}')
        self.pairs = pairs
        self.reduction = check_choice('DenseContrastHead', 'reduction', reduction,
                                      ('sum', 'mean'))

    def view_pairs(self, groups: Sequence[int]) -> Tuple[Direction, ...]:
        """The ``(query, key)`` pairs for views in size groups ``groups`` (e.g. ``(2, 6)``)."""
        return resolve_pairs(self.pairs, groups)

    def match(self, query: Sequence[Optional[Tensor]], key: Sequence[Optional[Tensor]],
              geometry: ViewData, features: Optional[Sequence[Tensor]] = None,
              generator: Optional[torch.Generator] = None) -> Matches:
        """The matcher's matches, one per view pair (:class:`Matches` names the pairs); None
        for every pair without a matcher."""
        def sizes(maps):
            return tuple(None if m is None else tuple(m.shape[-2:]) for m in maps)

        groups = geometry.metainfo.get('view_groups', (geometry.num_views, ))
        pairs = self.view_pairs(groups)
        if self.matcher is None:
            return Matches(pairs, tuple(None for _ in pairs))
        ctx = MatchContext(geometry, pairs, sizes(query), sizes(key), features, generator)
        return Matches(pairs, self.matcher(ctx))

    def loss(self, query: Sequence[Optional[Tensor]], key: Sequence[Optional[Tensor]],
             geometry: ViewData, features: Optional[Sequence[Tensor]] = None,
             negatives: Optional[Tensor] = None, generator: Optional[torch.Generator] = None,
             matches: Optional[Matches] = None) -> Dict[str, Tensor]:
        """The loss's terms for V views' maps over the head's view pairs.

        Args:
            query: V ``(N, C, H, W)`` online maps (PixPro: after the PPM) or ``(N, C)``
                vectors; a view that is never a query may be None.
            key: V ``(N, C, H, W)`` target maps (no gradient) or vectors; a view that is
                never a key may be None.
            geometry: Batched :class:`ViewData` (``boxes`` ``(V, N, 4)``, ``flips``
                ``(V, N)``, ``image_sizes`` ``(N, 2)``).
            features: V maps the matcher compares (:class:`FeatureArgmax`).
            negatives: ``(K, C)`` the queue, for :class:`QueueInfoNCELoss`; a snapshot is
                taken, so the caller may update the queue in place afterwards.
            generator: Drives a sampling matcher.
            matches: What :meth:`match` returned (to reuse it, e.g. for a queue).

        Returns:
            The loss's ``loss_<name>`` terms, and what the matcher's ``statistics`` logs
            (``pos_ratio`` of :class:`GeometricPositives`, ``valid_pairs`` of
            :class:`MatchedPixelPairs`).
        """
        if matches is None:
            matches = self.match(query, key, geometry, features, generator)
        if negatives is not None:
            negatives = negatives.detach().clone()
        terms: Dict[str, Tensor] = {}
        for (a, b), m in zip(matches.pairs, matches.matches):
            for name, value in self.loss_module(query[a], key[b], m, negatives).items():
                terms[name] = terms.get(name, 0) + value
        if self.reduction == 'mean':
            terms = {name: value / len(matches.pairs) for name, value in terms.items()}
        statistics = getattr(self.matcher, 'statistics', None)
        return {**terms, **(statistics(matches.matches) if statistics else {})}

    @property
    def loss_name(self) -> str:
        """The key of the loss's one term (``loss_<name>``)."""
        return f'loss_{self.loss_module.name}'


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
        raise BadInputError(f'view pairs {pairs!r} need more views than the batch has '
                            f'({num_views}, in size groups {tuple(groups)})')
    return out
