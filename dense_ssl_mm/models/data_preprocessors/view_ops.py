"""Batched view augmentations on the device: each op takes per-view parameters as tensors.

Views are float ``(M, 3, h, w)`` in ``[0, 255]``, channels in the loaded order (BGR by
default); every op keeps that range and order. The CPU transforms they mirror
(``datasets/transforms/``) round to uint8 after every op; these keep floats, so results
differ from the CPU ones by rounding (about one grey level), not in distribution.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

LUMA_BGR = (0.114, 0.587, 0.299)  # ITU-R 601, what cv2's BGR2GRAY uses


def uniform(low: float, high: float, shape, generator: torch.Generator,
            device: torch.device) -> Tensor:
    return low + (high - low) * torch.rand(shape, generator=generator, device=device)


def sample_crop_boxes(sizes: Tensor, scale: Tuple[float, float], ratio: Tuple[float, float],
                      attempts: int, generator: torch.Generator,
                      overlap: Optional[Tuple[Tensor, Union[float, Tensor]]] = None
                      ) -> Tuple[Tensor, Tensor]:
    """torchvision's RandomResizedCrop draw for every image at once (as
    :class:`RandomResizedCropWithBox`): ``attempts`` candidates per image, the first that
    fits is kept, else the central crop with the ratio clamped.

    Args:
        sizes: ``(M, 2)`` image ``(H, W)``, float.
        overlap: ``(boxes (M, 4), min_area)`` (a number or ``(M, 1)``): candidates must share
            at least ``min_area`` pixels with these boxes, and the fallback is the box itself
            (as the CPU crop does for :class:`MultiViewTransform`'s ``min_overlap_area``).
    Returns:
        ``(M, 4)`` integer-valued boxes ``(x1, y1, x2, y2)`` and ``(M,)`` fallback flags.
    """
    m, device = sizes.shape[0], sizes.device
    height, width = sizes[:, :1], sizes[:, 1:]  # [M, 1]
    area = height * width * uniform(scale[0], scale[1], (m, attempts), generator, device)
    aspect = torch.exp(uniform(math.log(ratio[0]), math.log(ratio[1]), (m, attempts),
                               generator, device))
    w = torch.round(torch.sqrt(area * aspect))
    h = torch.round(torch.sqrt(area / aspect))
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)  # [M, attempts]
    u = torch.rand(m, attempts, 2, generator=generator, device=device)
    x = torch.floor(u[..., 0] * (width - w + 1))  # randint(0, W - w) inclusive
    y = torch.floor(u[..., 1] * (height - h + 1))
    if overlap is not None:
        other, min_area = overlap
        shared_w = torch.minimum(x + w, other[:, 2:3]) - torch.maximum(x, other[:, 0:1])
        shared_h = torch.minimum(y + h, other[:, 3:4]) - torch.maximum(y, other[:, 1:2])
        fits &= shared_w.clamp(min=0) * shared_h.clamp(min=0) >= min_area
    first = fits.float().argmax(1, keepdim=True)  # index of the first fitting candidate
    pick = lambda t: t.gather(1, first)[:, 0]  # noqa: E731
    found = fits.any(1)
    # central fallback, ratio clamped into range
    in_ratio = width[:, 0] / height[:, 0]
    fw = torch.where(in_ratio > ratio[1], torch.round(height[:, 0] * ratio[1]), width[:, 0])
    fh = torch.where(in_ratio < ratio[0], torch.round(width[:, 0] / ratio[0]), height[:, 0])
    fx, fy = torch.div(width[:, 0] - fw, 2, rounding_mode='floor'), \
        torch.div(height[:, 0] - fh, 2, rounding_mode='floor')
    x1 = torch.where(found, pick(x), fx)
    y1 = torch.where(found, pick(y), fy)
    x2 = x1 + torch.where(found, pick(w), fw)
    y2 = y1 + torch.where(found, pick(h), fh)
    boxes = torch.stack([x1, y1, x2, y2], 1)
    if overlap is not None:
        boxes = torch.where(found[:, None], boxes, overlap[0].to(boxes.dtype))
    return boxes, ~found


def supersample_bound(padded_size: Tuple[int, int], out: Tuple[int, int],
                      max_supersample: int = 4) -> int:
    """The supersampling factor that covers any crop of a padded ``(Hmax, Wmax)`` batch
    resized to ``out``: ``ceil`` of the largest possible shrink, at most ``max_supersample``.
    Known on the host from shapes alone, so choosing it costs no device sync."""
    shrink = max(padded_size[0] / out[0], padded_size[1] / out[1])
    return int(min(max_supersample, max(1, math.ceil(shrink))))


def crop_resize(images: Tensor, sizes: Tensor, boxes: Tensor, out: Tuple[int, int],
                max_supersample: int = 4, supersample: Optional[int] = None) -> Tensor:
    """Crop ``boxes`` out of padded images and resize them to ``out``, batched.

    Bilinear sampling at the output pixel centres (as ``F.interpolate(align_corners=False)``
    on the crop); when a crop shrinks, every output pixel averages ``r x r`` bilinear samples
    spread over its footprint: antialiasing, like PIL's filter widening. ``r`` is
    ``supersample`` when given (the view maker passes :func:`supersample_bound`, free of
    syncs), else the largest shrink factor of these boxes rounded up, at most
    ``max_supersample`` (one device-to-host sync). Samples are clamped to each image's own
    pixels, so the zero padding of smaller images is never read.

    Args:
        images: ``(N, C, Hmax, Wmax)`` float, image ``i`` in its top-left ``sizes[i]``.
        sizes: ``(N, 2)`` ``(H, W)`` of the images.
        boxes: ``(N, 4)`` one crop box per image, in pixels (x2, y2 exclusive).
        out: ``(h, w)`` output size.
        max_supersample: Cap of the data-dependent ``r``.
        supersample: A fixed ``r`` (no sync).
    """
    h, w = out
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    r = supersample
    if r is None:
        shrink = torch.maximum(bw / w, bh / h).max()
        r = int(min(max_supersample, max(1, math.ceil(float(shrink)))))  # a sync
    device = images.device
    fy = (torch.arange(h * r, device=device, dtype=images.dtype) + 0.5) / (h * r)  # [h*r]
    fx = (torch.arange(w * r, device=device, dtype=images.dtype) + 0.5) / (w * r)
    ys = boxes[:, 1:2] + fy * bh[:, None] - 0.5  # [M, h*r] pixel-centre coordinates
    xs = boxes[:, 0:1] + fx * bw[:, None] - 0.5
    img_size = sizes.to(images.dtype)  # [N, 2]
    ys = torch.minimum(ys.clamp(min=0), img_size[:, :1] - 1)
    xs = torch.minimum(xs.clamp(min=0), img_size[:, 1:] - 1)
    hmax, wmax = images.shape[-2:]
    gy = (2 * ys + 1) / hmax - 1  # grid_sample coordinates, align_corners=False
    gx = (2 * xs + 1) / wmax - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), -1)
    views = F.grid_sample(images, grid, mode='bilinear', padding_mode='border',
                          align_corners=False)  # [N, C, h*r, w*r]
    return F.avg_pool2d(views, r) if r > 1 else views


def luma(x: Tensor, weights: Sequence[float] = LUMA_BGR) -> Tensor:
    """``(M, 3, h, w)`` -> ``(M, 1, h, w)`` weighted sum of the channels (Python-float
    weights: no host-to-device copy, hence no sync, per call)."""
    return x[:, 0:1] * weights[0] + x[:, 1:2] * weights[1] + x[:, 2:3] * weights[2]


def blend(x: Tensor, other: Tensor, factor: Tensor) -> Tensor:
    """``factor * x + (1 - factor) * other``, clipped to [0, 255] (mmcv's blend)."""
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1 - f) * other).clamp(0, 255)


def adjust_brightness(x: Tensor, factor: Tensor) -> Tensor:
    return blend(x, torch.zeros_like(x), factor)


def adjust_contrast(x: Tensor, factor: Tensor) -> Tensor:
    """Blend with the image's mean grey (mmcv: the rounded mean of its luma)."""
    mean = torch.round(luma(x).mean((1, 2, 3), keepdim=True))
    return blend(x, mean.expand_as(x), factor)


def adjust_saturation(x: Tensor, factor: Tensor) -> Tensor:
    return blend(x, luma(x).expand_as(x), factor)


def adjust_hue(x: Tensor, shift: Tensor, bgr: bool = True) -> Tensor:
    """Rotate the hue by ``shift`` turns (float HSV, as the CPU ``adjust_hue``)."""
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


def color_jitter(x: Tensor, strengths: Sequence[float], prob: float,
                 generator: torch.Generator, bgr: bool = True,
                 drawn: Optional[Tuple[Tensor, Tensor, Tensor]] = None) -> Tensor:
    """Brightness, contrast, saturation and hue with torchvision's factor ranges, in a random
    order per view, the whole jitter applied with probability ``prob`` (as the CPU
    :class:`ColorJitter`). Each step applies the op a view has at that position.

    ``drawn``: ``(apply (M,), order (M, 4), factors (4, M))`` instead of drawing them (tests).
    """
    m, device = x.shape[0], x.device
    brightness, contrast, saturation, hue = strengths
    if drawn is None:
        apply = torch.rand(m, generator=generator, device=device) < prob
        order = torch.rand(m, 4, generator=generator, device=device).argsort(1)  # [M, 4]
        factors = torch.stack([uniform(max(0., 1 - v), 1 + v, (m, ), generator, device)
                               for v in (brightness, contrast, saturation)] +
                              [uniform(-hue, hue, (m, ), generator, device)])
    else:
        apply, order, factors = drawn
    for step in range(4):
        op = order[:, step]  # [M] the op each view applies at this step
        use = apply
        for j, strength in enumerate(strengths):
            if strength <= 0:  # an op of zero strength is skipped
                use = use & (op != j)
        # brightness, contrast and saturation are one blend with another partner each:
        # black, the rounded mean grey, the grey image
        grey = luma(x)  # [M, 1, h, w]
        partner = torch.where((op == 0).view(-1, 1, 1, 1), torch.zeros_like(grey),
                              torch.where((op == 1).view(-1, 1, 1, 1),
                                          torch.round(grey.mean((1, 2, 3), keepdim=True)),
                                          grey))
        factor = factors.gather(0, op[None])[0]  # [M]
        x = where_views(use & (op < 3), blend(x, partner.expand_as(x), factor), x)
        if hue > 0:
            x = where_views(use & (op == 3), adjust_hue(x, factors[3], bgr), x)
    return x


def grayscale(x: Tensor, apply: Tensor, weights: Optional[Sequence[float]] = None) -> Tensor:
    return where_views(apply, luma(x, weights or LUMA_BGR).expand_as(x), x)
