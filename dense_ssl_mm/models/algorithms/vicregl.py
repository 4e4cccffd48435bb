"""VICRegL: global and local VICReg without a target network (Bardes, Ponce, LeCun,
NeurIPS 2022, "VICRegL: Self-Supervised Learning of Local Visual Features")."""
from typing import Dict, List, Optional, Union

from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views, view_groups
from dense_ssl_mm.utils.errors import BadInputError
from ..heads.dense_contrast_head import resolve_pairs
from .base import DenseAlgorithm


@MODELS.register_module()
class VICRegL(DenseAlgorithm):
    """Every view through one network (no momentum target, no hook):
    ``backbone -> pooled -> neck`` (the 8192-8192-8192 expander) and
    ``backbone -> local_neck`` (512-512-512 on every cell of the last stage).

    ``L = alpha * global + (1 - alpha) * local`` (alpha = 0.75: the losses' ``loss_weight``,
    alpha on the global loss and 1 - alpha on both local ones) with

    - global: :class:`VICRegGlobalLoss` of the pooled embeddings, each global view (the first
      size group) against every other view;
    - local: for the same view pairs, ``feature_head`` (:class:`FeatureNearest`, every cell
      to its L2-nearest cell) plus ``location_head`` (:class:`LocationNearest`, the 20 / 4
      closest positions), both :class:`VICRegLocalLoss`, averaged over the pairs.

    Logged: the global terms ``loss_vicreg_inv``/``_var``/``_cov`` and the local criteria
    ``loss_local_feature``/``loss_local_location``, each already weighted (their sum is the
    loss).

    Args:
        backbone: Backbone config (its last output is the map).
        neck: Global expander config (``ConvMLPNeck(with_avg_pool=True)``).
        local_neck: Local projector config (``ConvMLPNeck`` on every cell).
        global_loss: :class:`VICRegGlobalLoss` config (``loss_weight``: alpha; 0.75, 0.9
            also released).
        feature_head: :class:`DenseContrastHead` config (pairs ``'global_to_all'``;
            ``loss.loss_weight``: 1 - alpha).
        location_head: :class:`DenseContrastHead` config (the same).
        pairs: The view pairs of the global criterion (a rule of :class:`DenseContrastHead`;
            the heads name theirs, the same ``'global_to_all'`` in the configs).
    """

    dense_modules = ('backbone', 'local_neck')

    def __init__(self, backbone: dict, neck: dict, local_neck: dict, global_loss: dict,
                 feature_head: dict, location_head: dict, pairs: str = 'global_to_all',
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        self.local_neck = MODELS.build(local_neck)
        self.global_loss = MODELS.build(global_loss)
        self.feature_head = MODELS.build(feature_head)
        self.location_head = MODELS.build(location_head)
        names = [self.global_loss.name, self.feature_head.loss_module.name,
                 self.location_head.loss_module.name]
        if len(set(names)) < 3:
            raise BadInputError(f'VICRegL: the global and the two local losses need three '
                                f'different names (their loss.name), got {names}')
        resolve_pairs(pairs, (2, ))  # a bad rule fails here, not at the first step
        self.pairs = pairs

    def extract_dense(self, images: Tensor) -> Tensor:
        """The local embeddings ``(N, 512, H/32, W/32)`` of the online (only) network."""
        return self.local_neck(self.backbone(images))

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` V views (2 global [+ local] in size groups); ``data_samples`` their
        batched geometry."""
        feats = [self.backbone(v)[-1] for v in split_views(inputs)]  # V x [N, C, h, w]
        embeddings = [self.neck(f).flatten(1) for f in feats]  # V x [N, D]
        maps = [self.local_neck(f) for f in feats]  # V x [N, 512, h, w]
        pairs = resolve_pairs(self.pairs, view_groups(inputs))
        losses = self.global_loss(embeddings, None, pairs)
        losses.update(self.feature_head.loss(maps, maps, data_samples, features=maps))
        losses.update(self.location_head.loss(maps, maps, data_samples))
        return losses
