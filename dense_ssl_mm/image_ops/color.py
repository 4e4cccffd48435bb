"""Colour jitter (brightness, contrast, saturation, hue) and the luma it uses, written once.

The ops are PIL's ``ImageEnhance`` (what torchvision's ``ColorJitter`` applies to PIL images,
and mmcv's ``adjust_*``): each blends the image with a partner, ``f * x + (1 - f) * partner``,
clipped to ``[0, 255]``:

- brightness: black;
- contrast: the rounded mean of the image's luma (one grey for the whole image);
- saturation: the image's luma (per pixel);
- hue: a rotation of the hue by ``f`` turns in float HSV (as torchvision).

Luma is ITU-R 601, :data:`LUMA_RGB` (PIL's ``convert('L')``, torchvision's
``rgb_to_grayscale``, OpenCV's ``BGR2GRAY``); :data:`LUMA_BGR` is the same weights in mmcv's
channel order. Factors are drawn in torchvision's ranges (:func:`jitter_ranges`).

Two back ends of the same ops:

- numpy, one ``(H, W, 3)`` uint8 BGR image (the CPU transforms): :func:`jitter_image`,
  :func:`adjust_hue_image`;
- torch, batched ``(M, 3, h, w)`` float in ``[0, 255]``, per-view factors as ``(M,)`` tensors
  (the device views and the evaluation): :func:`adjust_brightness`, :func:`adjust_contrast`,
  :func:`adjust_saturation`, :func:`adjust_hue`, :func:`color_jitter`.
"""
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

from dense_ssl_mm.utils.draws import uniform

#: ITU-R 601 luma weights of (R, G, B).
LUMA_RGB = (0.299, 0.587, 0.114)
#: The same weights in BGR order.
LUMA_BGR = LUMA_RGB[::-1]
#: Op indices of the jitter, in torchvision's order.
BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)


def jitter_ranges(strengths: Sequence[float]) -> List[Tuple[float, float]]:
    """torchvision's factor ranges for jitter strengths ``(brightness, contrast, saturation
    [, hue])``: ``(max(0, 1 - v), 1 + v)`` for the first three, ``(-v, v)`` for hue."""
    return [(-v, v) if op == HUE else (max(0., 1 - v), 1 + v) for op, v in enumerate(strengths)]


# ---------------------------------------------------------------- numpy, one uint8 BGR image

_LUMA_BGR_ROW = np.float32([LUMA_BGR])  # (1, 3): cv2.transform's matrix


def _luma_image(x: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float32 BGR -> ``(H, W)`` luma (one SIMD pass of OpenCV)."""
    return cv2.transform(x, _LUMA_BGR_ROW)


def _hue_float(x: np.ndarray, factor: float) -> np.ndarray:
    """Hue rotation of a float32 BGR image in [0, 255] (float HSV, as torchvision)."""
    hsv = cv2.cvtColor(x * (1 / 255), cv2.COLOR_BGR2HSV)  # hue in degrees
    hue = hsv[..., 0]
    hue += factor * 360.0
    np.mod(hue, 360.0, out=hue)
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)
    out *= 255
    return out


def adjust_hue_image(img: np.ndarray, factor: float) -> np.ndarray:
    """Rotate the hue of a BGR uint8 image by ``factor`` turns (``-0.5 <= factor <= 0.5``).

    Computed in float HSV (as torchvision does), so a zero shift returns the image unchanged
    up to one grey level. (``mmcv.adjust_hue`` overflows on negative factors under numpy 2.)
    """
    out = _hue_float(img.astype(np.float32), factor)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def jitter_image(img: np.ndarray, order: Sequence[int],
                 factors: Sequence[Optional[float]]) -> np.ndarray:
    """Brightness, contrast, saturation and hue of a BGR uint8 ``(H, W, 3)`` image, in
    ``order`` (op indices 0-3), with ``factors`` (None skips an op), computed in float32
    from one conversion to one rounding, each op clipped to [0, 255].

    Without the uint8 truncation between ops that chaining mmcv's ops has: 1.8x faster, and
    within one grey level of it on average.
    """
    x = img.astype(np.float32)
    for op in order:
        f = factors[op]
        if f is None:
            continue
        if op == BRIGHTNESS:
            x *= f
        elif op == CONTRAST:
            mean = float(np.round(_luma_image(x).mean()))
            x *= f
            x += (1 - f) * mean
        elif op == SATURATION:
            grey = cv2.cvtColor(_luma_image(x), cv2.COLOR_GRAY2BGR)
            x = cv2.addWeighted(x, f, grey, 1 - f, 0)
        else:
            x = _hue_float(x, f)
        np.clip(x, 0, 255, out=x)
    return np.rint(x).astype(np.uint8)


# ---------------------------------------------------------------- torch, batched float views

def luma(x: Tensor, weights: Optional[Sequence[float]] = None, bgr: bool = True) -> Tensor:
    """``(M, 3, h, w)`` -> ``(M, 1, h, w)`` weighted sum of the channels.

    Args:
        x: Views, channels in BGR order (``bgr``) or RGB.
        weights: Per-channel weights in ``x``'s order (default: :data:`LUMA_BGR` or
            :data:`LUMA_RGB`); Python floats, so no host-to-device copy (no sync) per call.
    """
    w = weights or (LUMA_BGR if bgr else LUMA_RGB)
    return x[:, 0:1] * w[0] + x[:, 1:2] * w[1] + x[:, 2:3] * w[2]


def blend(x: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    """``factor * x + (1 - factor) * other``, clipped to [0, 255]; ``factor`` ``(M,)``."""
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1 - f) * other).clamp(0, 255)


def adjust_brightness(x: Tensor, factor: Tensor, bgr: bool = True) -> Tensor:
    """Blend with black (``bgr`` is accepted for a uniform signature; unused)."""
    return blend(x, torch.zeros_like(x), factor)


def adjust_contrast(x: Tensor, factor: Tensor, bgr: bool = True) -> Tensor:
    """Blend with the image's mean grey (the rounded mean of its luma)."""
    mean = torch.round(luma(x, bgr=bgr).mean((1, 2, 3), keepdim=True))
    return blend(x, mean.expand_as(x), factor)


def adjust_saturation(x: Tensor, factor: Tensor, bgr: bool = True) -> Tensor:
    """Blend with the image's luma."""
    return blend(x, luma(x, bgr=bgr).expand_as(x), factor)


def adjust_hue(x: Tensor, shift: Tensor, bgr: bool = True) -> Tensor:
    """Rotate the hue by ``shift`` ``(M,)`` turns (float HSV, as :func:`adjust_hue_image`)."""
    rgb = (x.flip(1) if bgr else x) / 255
    r, g, b = rgb.unbind(1)
    value, _ = rgb.max(1)
    low, _ = rgb.min(1)
    chroma = value - low
    safe = torch.where(chroma > 0, chroma, torch.ones_like(chroma))
    hue = torch.where(value == r, ((g - b) / safe) % 6,
                      torch.where(value == g, (b - r) / safe + 2, (r - g) / safe + 4))
    hue = torch.where(chroma > 0, hue, torch.zeros_like(hue)) / 6  # turns in [0, 1)
    hue = (hue + shift.view(-1, 1, 1)) % 1.0
    sat = torch.where(value > 0, chroma / torch.where(value > 0, value, torch.ones_like(value)),
                      torch.zeros_like(value))
    offsets = torch.arange(5., 0., -2., device=x.device, dtype=x.dtype)  # 5, 3, 1 (R, G, B)
    k = (offsets.view(1, 3, 1, 1) + hue[:, None] * 6) % 6  # HSV -> RGB, channel by channel
    rgb = value[:, None] - (value * sat)[:, None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1)
    out = rgb * 255
    return out.flip(1) if bgr else out


#: The torch ops by index (:data:`BRIGHTNESS` ... :data:`HUE`).
ADJUST = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)


def _where_views(mask: Tensor, new: Tensor, old: Tensor) -> Tensor:
    return torch.where(mask.view(-1, 1, 1, 1), new, old)


def color_jitter(x: Tensor, strengths: Sequence[float], prob: float,
                 generator: Optional[torch.Generator], bgr: bool = True,
                 drawn: Optional[Tuple[Tensor, Tensor, Tensor]] = None) -> Tensor:
    """The random jitter of a batch: factors in :func:`jitter_ranges`, the four ops in a random
    order per view, the whole jitter applied with probability ``prob`` per view, an op of
    zero strength skipped (as the CPU ``ColorJitter``). Each step applies the op a view has at
    that position.

    Args:
        x: ``(M, 3, h, w)`` float views in [0, 255].
        strengths: ``(brightness, contrast, saturation, hue)``.
        prob: Probability of jittering a view at all.
        generator: Source of the draws, on ``x``'s device.
        bgr: Channel order of ``x``.
        drawn: ``(apply (M,), order (M, 4), factors (4, M))`` instead of drawing them (tests).
    """
    m, device = x.shape[0], x.device
    if drawn is None:
        apply = torch.rand(m, generator=generator, device=device) < prob
        order = torch.rand(m, 4, generator=generator, device=device).argsort(1)  # [M, 4]
        factors = torch.stack([uniform(low, high, (m, ), generator, device)
                               for low, high in jitter_ranges(strengths)])
    else:
        apply, order, factors = drawn
    for step in range(4):
        op = order[:, step]  # [M] the op each view applies at this step
        use = apply
        for j, strength in enumerate(strengths):
            if strength <= 0:
                use = use & (op != j)
        # brightness, contrast and saturation are one blend with another partner each:
        # black, the rounded mean grey, the grey image
        grey = luma(x, bgr=bgr)  # [M, 1, h, w]
        partner = torch.where((op == BRIGHTNESS).view(-1, 1, 1, 1), torch.zeros_like(grey),
                              torch.where((op == CONTRAST).view(-1, 1, 1, 1),
                                          torch.round(grey.mean((1, 2, 3), keepdim=True)),
                                          grey))
        factor = factors.gather(0, op[None])[0]  # [M]
        x = _where_views(use & (op < HUE), blend(x, partner.expand_as(x), factor), x)
        if strengths[HUE] > 0:
            x = _where_views(use & (op == HUE), adjust_hue(x, factors[HUE], bgr), x)
    return x


__all__ = [
    'ADJUST', 'BRIGHTNESS', 'CONTRAST', 'HUE', 'LUMA_BGR', 'LUMA_RGB', 'SATURATION',
    'adjust_brightness', 'adjust_contrast', 'adjust_hue', 'adjust_hue_image',
    'adjust_saturation', 'blend', 'color_jitter', 'jitter_image', 'jitter_ranges', 'luma'
]
