"""RoIAlign of views' feature maps over the regions they share with other views (NeCo)."""
import torch
from torch import Tensor
from torchvision.ops import roi_align

from dense_ssl_mm.geometry.correspondence import shared_region_boxes


def align_shared_regions(maps: Tensor, boxes: Tensor, flips: Tensor, others: Tensor,
                         out_size: int = 7, sampling_ratio: int = -1) -> Tensor:
    """Pool each view's map over the region it shares with each of K other views.

    RoIAlign (``aligned=True``; torchvision's, bilinear, ``sampling_ratio`` points per bin
    side, -1: ``ceil(bin size)`` as NeCo's default) of the map over the boxes of
    :func:`~.correspondence.shared_region_boxes`; where a view is flipped its output is
    mirrored back, so bin ``(i, j)`` of every view covers the same part of the original
    image: the shared region split into ``out_size x out_size`` bins, left to right.

    Args:
        maps: ``(N, C, H, W)`` feature maps of one view of N images.
        boxes: ``(N, 4)`` crop boxes of the view (original-image pixels).
        flips: ``(N,)`` its flip flags.
        others: ``(N, K, 4)`` crop boxes of the views it is aligned with.
        out_size: Bins per side (NeCo: 7).
        sampling_ratio: Sample points per bin side.

    Returns:
        ``(N, K, C, out_size, out_size)`` pooled features, float32 or wider (the boxes and
        the pooling are computed in float32 also for bf16 maps).
    """
    n, c, height, width = maps.shape
    k = others.shape[1]
    dtype = torch.promote_types(maps.dtype, torch.float32)  # boxes in bf16 would move bins
    regions = shared_region_boxes(boxes.to(dtype), flips, (height, width),
                                  others.to(dtype))  # [N, K, 4]
    index = torch.arange(n, device=maps.device, dtype=dtype)
    rois = torch.cat((index.view(n, 1, 1).expand(n, k, 1), regions), -1).reshape(n * k, 5)
    pooled = roi_align(maps.to(dtype), rois, (out_size, out_size), spatial_scale=1.0,
                       sampling_ratio=sampling_ratio, aligned=True)
    pooled = pooled.view(n, k, c, out_size, out_size)
    mirror = flips.view(n, 1, 1, 1, 1)
    return torch.where(mirror, pooled.flip(-1), pooled)
