"""Random resized crop that records its crop box in original-image pixels."""
from typing import Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from dense_ssl_mm.geometry.crop_boxes import Box, NumpyDraws, draw_crop_box
from dense_ssl_mm.image_ops.resize import resize_like_pil
from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.utils.errors import BadInputError, BadInputTypeError
from dense_ssl_mm.utils.validation import check_number

#: numpy's global generator, which the dataloader workers seed.
_GLOBAL_DRAWS = NumpyDraws()


@TRANSFORMS.register_module()
class RandomResizedCropWithBox(BaseTransform):
    """torchvision's RandomResizedCrop, recording the crop box for dense correspondence.

    The crop's area is a fraction ``scale`` of the image and its aspect ratio lies in
    ``ratio`` (log-uniform); after ``max_attempts`` failures it falls back to a central crop
    with the ratio clamped into range. The crop is resized to ``size``.

    Called with ``overlap=(box, min_area)`` or a list of such pairs (by
    :class:`MultiViewTransform`, for views that must overlap earlier ones), candidates whose
    intersection with a ``box`` is smaller than its ``min_area`` pixels are rejected too, and
    the fallback after ``max_attempts`` is the boxes' intersection (one box: the box itself;
    full overlap, always valid).

    Required keys: ``img``.
    Modified keys: ``img``, ``img_shape``.
    Added keys: ``crop_box`` (np.float32 ``[x1, y1, x2, y2]`` in pixels of the image this
    transform received, x2/y2 exclusive), ``crop_fallback`` (bool).

    Args:
        size: Output (h, w), or one int for a square.
        scale: Range of the crop's area as a fraction of the image area.
        ratio: Range of the crop's aspect ratio (width / height).
        max_attempts: Samples tried before the fallback.
        interpolation: mmcv interpolation name (``'bilinear'`` by default).
        antialias: With ``'bilinear'``: use PIL's bilinear filter, which widens its support
            when it shrinks (antialiasing), as torchvision's RandomResizedCrop on PIL images
            and the PixPro reference do; computed by torch's uint8 kernel, which gives PIL's
            values within one grey level (default). False: OpenCV's bilinear, which does not
            antialias but is faster (about 0.2 against 0.6-1.2 ms per view on this CPU).
    """

    def __init__(self,
                 size: Union[int, Sequence[int]],
                 scale: Tuple[float, float] = (0.08, 1.0),
                 ratio: Tuple[float, float] = (3. / 4., 4. / 3.),
                 max_attempts: int = 10,
                 interpolation: str = 'bilinear',
                 antialias: bool = True) -> None:
        owner = 'RandomResizedCropWithBox'
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if len(self.size) != 2:
            raise BadInputError(f'{owner}: size must be an int or (h, w), got {size!r}')
        for k, side in enumerate(self.size):
            check_number(owner, f'size[{k}]', side, 1, integer=True)
        for name, pair, high in (('scale', scale, 1), ('ratio', ratio, None)):
            if isinstance(pair, str) or len(pair) != 2:
                raise BadInputTypeError(f'{owner}: {name} must be a pair (min, max), got {pair!r}')
            for k in (0, 1):
                check_number(owner, f'{name}[{k}]', pair[k], 0, high, low_open=True)
        if not scale[0] <= scale[1]:
            raise BadInputError(f'{owner}: scale must satisfy 0 < min <= max <= 1, got {scale}')
        if not ratio[0] <= ratio[1]:
            raise BadInputError(f'{owner}: ratio must satisfy 0 < min <= max, got {ratio}')
        self.scale, self.ratio = tuple(scale), tuple(ratio)
        self.max_attempts = check_number(owner, 'max_attempts', max_attempts, 1, integer=True)
        self.interpolation = interpolation
        self.antialias = bool(antialias)

    def sample_box(self, height: int, width: int,
                   overlap: Optional[Union[Tuple[Box, float],
                                           Sequence[Tuple[Box, float]]]] = None
                   ) -> Tuple[Box, bool]:
        """Draw a crop box (x1, y1, x2, y2) in integer pixels; also say if it is a fallback.

        ``overlap``: one ``(box, min_area)`` or a list of them; a candidate must share at
        least ``min_area`` pixels with every ``box``. The fallback after ``max_attempts``
        is the intersection of the boxes when it meets every minimum (one box: the box
        itself), else the first box. Drawn by
        :func:`~dense_ssl_mm.geometry.crop_boxes.draw_crop_box` from numpy's global generator.
        """
        return draw_crop_box(height, width, self.scale, self.ratio, _GLOBAL_DRAWS,
                             self.max_attempts, overlap)

    def transform(self, results: dict,
                  overlap: Optional[Union[Tuple[Box, float],
                                          Sequence[Tuple[Box, float]]]] = None) -> dict:
        """Crop and resize ``results['img']``; ``overlap``: as :meth:`sample_box`."""
        img = results['img']
        height, width = img.shape[:2]
        box, fallback = self.sample_box(height, width, overlap)
        x1, y1, x2, y2 = (int(v) for v in box)
        crop = img[y1:y2, x1:x2]
        if self.antialias and self.interpolation == 'bilinear' and crop.dtype == np.uint8:
            results['img'] = resize_like_pil(crop, self.size)
        else:
            results['img'] = mmcv.imresize(
                crop, (self.size[1], self.size[0]), interpolation=self.interpolation)
        results['img_shape'] = results['img'].shape[:2]
        results['crop_box'] = np.array(box, dtype=np.float32)
        results['crop_fallback'] = fallback
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, scale={self.scale}, '
                f'ratio={self.ratio}, interpolation={self.interpolation!r}, '
                f'antialias={self.antialias})')
