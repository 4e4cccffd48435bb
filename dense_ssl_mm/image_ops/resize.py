"""Antialiased bilinear resizing, written once, for whole images and for crop boxes.

"Antialiased" is PIL's bilinear filter: when it shrinks, the triangle filter widens to the
scale factor, so every source pixel counts (torchvision's ``RandomResizedCrop`` on PIL
images, the PixPro reference). torch's ``F.interpolate(mode='bilinear', antialias=True)``
implements that filter; on uint8 images it returns PIL's values within one grey level (PIL
rounds its fixed-point weights; most pixels are equal).

- :func:`resize_antialiased`: ``(N, C, H, W)`` or ``(C, H, W)`` tensors, any dtype torch
  supports (the evaluation's float images, the CPU transforms' uint8 images);
- :func:`resize_like_pil`: one ``(H, W[, C])`` uint8 numpy image (the CPU transforms);
- :func:`crop_resize`: a batch of crop boxes out of a padded batch of images, on the device,
  antialiased by supersampling (bounded by :func:`supersample_bound`).
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def resize_antialiased(images: Tensor, size: Sequence[int]) -> Tensor:
    """Resize to ``size`` ``(h, w)`` with PIL's bilinear filter (antialiased).

    Args:
        images: ``(N, C, H, W)`` or ``(C, H, W)``.
        size: Output ``(h, w)``.

    Returns:
        The images at ``(h, w)``, same dtype and number of dimensions.
    """
    if images.dim() == 3:
        return resize_antialiased(images[None], size)[0]
    return F.interpolate(images, size=tuple(size), mode='bilinear', align_corners=False,
                         antialias=True)


def crop_resize_with_mask(image: Tensor, mask: Tensor, box: Sequence[float],
                          size: int) -> Tuple[Tensor, Tensor]:
    """One crop of an image and its label mask, resized to ``size x size``: the image
    bilinearly with antialiasing (:func:`resize_antialiased`, clamped to [0, 255]), the mask
    by nearest neighbour (labels are never blended).

    Args:
        image: ``(3, H, W)`` image, values in [0, 255].
        mask: ``(H, W)`` labels.
        box: ``(x1, y1, x2, y2)`` integer pixel box (x2, y2 exclusive).
        size: Side of the output.

    Returns:
        ``(3, size, size)`` float image and ``(size, size)`` float labels.
    """
    left, top, right, bottom = (int(v) for v in box)
    crop = image[None, :, top:bottom, left:right].float()
    out = resize_antialiased(crop, (size, size)).clamp(0, 255)[0]
    label = F.interpolate(mask[None, None, top:bottom, left:right].float(),
                          size=(size, size), mode='nearest')[0, 0]
    return out, label


def resize_like_pil(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """``(H, W[, C])`` uint8 -> ``size`` ``(h, w)`` with PIL's antialiased bilinear filter.

    torch's uint8 kernel (channels-last, as the numpy image lies in memory) returns PIL's
    values within one grey level, about 4x faster than PIL here (0.5 ms for 480 -> 224 px).
    """
    squeeze = img.ndim == 2
    tensor = torch.from_numpy(np.ascontiguousarray(img[..., None] if squeeze else img))
    tensor = tensor.permute(2, 0, 1)[None]  # (1, C, H, W), channels-last in memory
    out = resize_antialiased(tensor, size)[0].permute(1, 2, 0).numpy()
    return np.ascontiguousarray(out[..., 0] if squeeze else out)


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

    Returns:
        ``(N, C, h, w)`` crops.
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


__all__ = ['crop_resize', 'resize_antialiased', 'resize_like_pil', 'supersample_bound']
