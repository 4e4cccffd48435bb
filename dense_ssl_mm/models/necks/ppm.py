"""PixPro's pixel propagation module (PPM)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_choice, check_number


@MODELS.register_module()
class PixelPropagationModule(BaseModule):
    """Smooth every cell's feature with the features of the cells similar to it.

    ``y_i = sum_j s(x_i, x_j) * g(x_j)`` with ``s(x_i, x_j) = max(cos(x_i, x_j), clamp) ** gamma``.
    As in the reference code, ``g(x)`` is L2-normalised over channels before propagating; the
    output is not normalised here (the loss normalises it).

    Args:
        channels: Feature channels (the projector's output, 256).
        gamma: Sharpness exponent of the similarity (2 in the paper).
        clamp_value: Lower clamp of the cosine similarity (0 keeps positive ones).
        num_transform_layers: ``g``: 0 = identity, 1 = conv1x1 with bias (default),
            2 = conv1x1-norm-ReLU-conv1x1.
        norm_cfg: Norm of the 2-layer transform.
    """

    def __init__(self, channels: int = 256, gamma: float = 2.0, clamp_value: float = 0.0,
                 num_transform_layers: int = 1, norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        owner = 'PixelPropagationModule'
        check_number(owner, 'channels', channels, 1, integer=True)
        check_number(owner, 'gamma', gamma, 0)
        check_number(owner, 'clamp_value', clamp_value)
        check_choice(owner, 'num_transform_layers', num_transform_layers, (0, 1, 2))
        if num_transform_layers == 0:
            self.transform = nn.Identity()
        elif num_transform_layers == 1:
            self.transform = nn.Conv2d(channels, channels, 1)
        elif num_transform_layers == 2:
            self.transform = nn.Sequential(
                nn.Conv2d(channels, channels, 1), build_norm_layer(norm_cfg, channels)[1],
                nn.ReLU(inplace=True), nn.Conv2d(channels, channels, 1))
        else:
            raise BadInputError(
                f'num_transform_layers must be 0, 1 or 2, got {num_transform_layers}')
        self.gamma = gamma
        self.clamp_value = clamp_value

    def similarity(self, x: Tensor) -> Tensor:
        """``(N, C, H, W)`` -> ``(N, HW, HW)`` clamped, sharpened cosine similarity."""
        x = F.normalize(x.flatten(2), dim=1)  # [N, C, HW]
        sim = torch.bmm(x.transpose(1, 2), x).clamp(min=self.clamp_value)  # [N, HW, HW]
        if self.gamma < 1:
            sim = sim + 1e-6  # keeps the power differentiable at 0, as the reference does
        return sim.pow(self.gamma)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, C, H, W)`` -> propagated ``(N, C, H, W)``."""
        n, c, h, w = x.shape
        value = F.normalize(self.transform(x), dim=1).flatten(2)  # [N, C, HW]
        sim = self.similarity(x)  # [N, HW, HW]
        return torch.bmm(value, sim.transpose(1, 2)).view(n, c, h, w)
