"""The CPU half of the device-side view pipeline: decode (done by LoadImageFromFile), bound
the size, pack. The views themselves are made by the data preprocessor on the device."""
from typing import Optional

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from dense_ssl_mm.image_ops.resize import resize_like_pil
from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.utils.validation import check_number


@TRANSFORMS.register_module()
class PackImageForDeviceViews(BaseTransform):
    """Shrink the image so its short side is at most ``max_short_side`` (antialiased, as the
    crop resizes; never enlarged) and pack it for :class:`ViewDataPreprocessor` with
    ``device_views``.

    Required keys: ``img``. Optional: ``ori_shape``, ``img_path``.
    Returns ``dict(inputs, data_samples)``: ``inputs`` uint8 ``(3, H, W)``; ``data_samples`` a
    :class:`ViewData` with meta fields ``img_path``, ``ori_shape`` and ``scale``
    (``(sy, sx)``, packed size / original size per axis), and no geometry yet.

    Args:
        max_short_side: Bound of the short side in pixels, or None to keep the size.
    """

    def __init__(self, max_short_side: Optional[int] = 512) -> None:
        if max_short_side is not None:
            check_number('PackImageForDeviceViews', 'max_short_side', max_short_side, 1,
                         integer=True)
        self.max_short_side = max_short_side

    def transform(self, results: dict) -> dict:
        img = results['img']
        height, width = img.shape[:2]
        ori_shape = tuple(results.get('ori_shape') or (height, width))
        if self.max_short_side is not None and min(height, width) > self.max_short_side:
            factor = self.max_short_side / min(height, width)
            img = resize_like_pil(img, (max(1, round(height * factor)),
                                        max(1, round(width * factor))))
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, 2)
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        scale = (img.shape[0] / ori_shape[0], img.shape[1] / ori_shape[1])  # per axis
        sample = ViewData(metainfo=dict(img_path=results.get('img_path'),
                                        ori_shape=ori_shape, scale=scale))
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(max_short_side={self.max_short_side})'
