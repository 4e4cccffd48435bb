"""Batched view augmentations on the device that only the device views use: each op takes
per-view parameters as tensors.

Views are float ``(M, 3, h, w)`` in ``[0, 255]``, channels in the loaded order (BGR by
default); every op keeps that range and order. The CPU transforms they mirror
(``datasets/transforms/``) round to uint8 after every op; these keep floats, so results
differ from the CPU ones by rounding (about one grey level), not in distribution. The crop
box draw, the crop-and-resize and the colour jitter shared with the CPU transforms and the
evaluation are in :mod:`dense_ssl_mm.geometry.crop_boxes`, :mod:`dense_ssl_mm.image_ops`.
"""
import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.image_ops.color import LUMA_BGR, luma


def gaussian_blur(x: Tensor, sigma: Tensor, max_sigma: Optional[float] = None) -> Tensor:
    """Per-view Gaussian blur, separable, reflect-101 borders, each kernel cut at cv2's
    size for uint8 images (``round(6 sigma + 1) | 1`` taps) and renormalised.

    The shared kernel is as wide as the widest view's needs: from ``max_sigma`` when given
    (an upper bound of ``sigma`` known on the host, e.g. the config's sigma range: no sync;
    the extra taps weigh 0), else from ``sigma.max()`` (one device-to-host sync).
    """
    m, c, h, w = x.shape
    if max_sigma is not None:
        radius = max(1, math.ceil(3 * max_sigma + 0.5))  # >= every view's own half width
    else:
        radius = int(torch.clamp(torch.round(3 * sigma.max() + 0.5), min=1))  # a sync
    radius = min(radius, h - 1, w - 1)
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)  # [K]
    own = torch.div(torch.round(6 * sigma + 1).long() | 1, 2, rounding_mode='floor')  # [M]
    kernel = torch.exp(-0.5 * (taps / sigma[:, None]) ** 2)
    kernel = kernel * (taps.abs() <= own[:, None]).to(x.dtype)
    kernel = kernel / kernel.sum(1, keepdim=True)  # [M, K]
    weight = kernel.repeat_interleave(c, 0)  # [M*C, K]
    y = F.pad(x.reshape(1, m * c, h, w), (radius, radius, radius, radius), mode='reflect')
    y = F.conv2d(y, weight.view(m * c, 1, 1, -1), groups=m * c)
    y = F.conv2d(y, weight.view(m * c, 1, -1, 1), groups=m * c)
    return y.view(m, c, h, w)


def solarize(x: Tensor, threshold: float) -> Tensor:
    return torch.where(x >= threshold, 255 - x, x)


def where_views(mask: Tensor, new: Tensor, old: Tensor) -> Tensor:
    """Per view: ``new`` where ``mask`` ``(M,)``, else ``old``."""
    return torch.where(mask.view(-1, 1, 1, 1), new, old)


def grayscale(x: Tensor, apply: Tensor, weights: Optional[Sequence[float]] = None) -> Tensor:
    return where_views(apply, luma(x, weights or LUMA_BGR).expand_as(x), x)
