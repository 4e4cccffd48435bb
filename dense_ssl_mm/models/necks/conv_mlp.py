"""1x1-convolution MLP: the dense projector (and the instance projector/predictor)."""
from typing import Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number


@MODELS.register_module()
class ConvMLPNeck(BaseModule):
    """``conv1x1 -> norm -> act`` repeated ``num_layers - 1`` times, then a last ``conv1x1``.

    With the defaults this is PixPro's projector ``2048 -> 4096 -> 256`` applied to every cell;
    with ``norm_cfg=None`` and ``with_avg_pool=True`` it is MoCo v2's (and DenseCL's global)
    ``2048 -> 2048 -> 128`` MLP on the pooled map, output ``(N, 128, 1, 1)``; with
    ``norm_cfg=None`` and GELU it is NeCo's per-patch head ``D -> 2048 -> 2048 -> 256``.

    Args:
        in_channels: Input channels (2048 for a ResNet-50 C5).
        hid_channels: Hidden channels.
        out_channels: Output channels.
        num_layers: Number of convolutions (>= 1).
        norm_cfg: Norm layer of the hidden layers (``SyncBN`` in the GPU configs), or None.
        in_index: Which backbone output to use when given a tuple of maps.
        with_avg_pool: Average-pool the input to ``1 x 1`` first (a global projector).
        act_cfg: Activation of the hidden layers (ReLU; NeCo: GELU).
        bias_last: A bias in the last convolution (VICRegL's expanders have none).
    """

    def __init__(self, in_channels: int = 2048, hid_channels: int = 4096,
                 out_channels: int = 256, num_layers: int = 2,
                 norm_cfg: Optional[dict] = dict(type='BN'), in_index: int = -1,
                 with_avg_pool: bool = False, bias_last: bool = True,
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        for name, value in dict(in_channels=in_channels, hid_channels=hid_channels,
                                out_channels=out_channels, num_layers=num_layers).items():
            check_number('ConvMLPNeck', name, value, 1, integer=True)
        layers = []
        channels = in_channels
        for _ in range(num_layers - 1):
            layers.append(nn.Conv2d(channels, hid_channels, 1))
            if norm_cfg is not None:
                layers.append(build_norm_layer(norm_cfg, hid_channels)[1])
            layers.append(build_activation_layer(act_cfg))
            channels = hid_channels
        layers.append(nn.Conv2d(channels, out_channels, 1, bias=bias_last))
        self.mlp = nn.Sequential(*layers)
        self.in_index = in_index
        self.with_avg_pool = with_avg_pool

    def forward(self, x: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Map ``(N, C_in, H, W)`` (or the ``in_index`` map of a tuple) to ``(N, C_out, H, W)``."""
        if isinstance(x, (tuple, list)):
            x = x[self.in_index]
        if self.with_avg_pool:
            x = x.mean((2, 3), keepdim=True)  # [N, C_in, 1, 1]
        return self.mlp(x)


__all__ = ['ConvMLPNeck']
