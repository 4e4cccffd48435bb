"""PixPro: pixel-to-propagation consistency (Xie et al., CVPR 2021, section 3.3)."""
from typing import Dict, List, Optional, Union

import torch
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views
from dense_ssl_mm.utils.errors import BadInputError
from .momentum import MomentumAlgorithm


@MODELS.register_module()
class PixPro(MomentumAlgorithm):
    """Online ``backbone -> projector -> PPM`` matched to the target ``backbone -> projector``.

    With ``instance_neck``/``instance_predictor``/``instance_head`` the optional instance
    branch (section 3.4) is added: a second projector and a predictor on the backbone map,
    average-pooled, with a BYOL-style loss against the target's instance projection.

    Args:
        backbone: Backbone config.
        neck: Dense projector config.
        ppm: :class:`PixelPropagationModule` config.
        head: :class:`DenseContrastHead` config (``GeometricPositives`` +
            ``PixProConsistencyLoss``).
        instance_neck: Instance projector config, or None for no instance branch.
        instance_predictor: Instance predictor config.
        instance_head: :class:`DenseContrastHead` config without a matcher and with
            :class:`InstanceConsistencyLoss` (``pairs='symmetric'``: both directions).
    """

    def __init__(self, backbone: dict, neck: dict, ppm: dict, head: dict,
                 instance_neck: Optional[dict] = None,
                 instance_predictor: Optional[dict] = None,
                 instance_head: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        self.ppm = MODELS.build(ppm)
        self.head = MODELS.build(head)
        instance = (instance_neck, instance_predictor, instance_head)
        if any(c is not None for c in instance) and not all(c is not None for c in instance):
            raise BadInputError('the instance branch needs instance_neck, instance_predictor and '
                                'instance_head together')
        self.with_instance = instance_neck is not None
        if self.with_instance:
            self.instance_neck = MODELS.build(instance_neck)
            self.instance_predictor = MODELS.build(instance_predictor)
            self.instance_head = MODELS.build(instance_head)
            self.momentum_modules = ('backbone', 'neck', 'instance_neck')
        self.build_targets()

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` V views (two in the paper); ``data_samples`` their batched geometry.

        Each view goes through the networks on its own (BN statistics per view, as the
        official code); the head's ``pairs`` say which views are compared.
        """
        views = split_views(inputs)
        feats = [self.backbone(v)[-1] for v in views]  # V x [N, C5, h, w]
        online = [self.ppm(self.neck(f)) for f in feats]  # V x [N, 256, h, w]
        with torch.no_grad():
            target_feats = [self.target_backbone(v)[-1] for v in views]
            target = [self.target_neck(f) for f in target_feats]
        losses = self.head.loss(online, target, data_samples)
        if self.with_instance:
            pred = [self.instance_predictor(self.instance_neck(f)).mean((2, 3)) for f in feats]
            with torch.no_grad():
                proj = [self.target_instance_neck(f).mean((2, 3)) for f in target_feats]
            # V x [N, 256]: row n of every view is image n, so no matcher
            losses.update(self.instance_head.loss(pred, proj, data_samples))
        return losses
