"""DetCon's segment masks: load (or compute) them per image, then cut every view's mask out
with the view's own recorded geometry."""
import os.path as osp
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.utils.errors import BadInputError, BadInputFileError
from dense_ssl_mm.utils.validation import check_choice, check_number
from ..fh_masks import (FH_PARAMS, check_params, fh_segments, mask_path, mask_root_for,
                        read_mask, write_mask, write_params)


@TRANSFORMS.register_module()
class LoadFHMask(BaseTransform):
    """The image's Felzenszwalb-Huttenlocher segments at full resolution, from the cache of
    ``tools/make_fh_masks.py`` where it has the image, else computed here (slow: a cache
    makes the per-step cost of masks a crop and a nearest resize).

    Required keys: ``img``, ``img_path``.
    Added keys: ``segments`` (int32 ``(H, W)``, ids ``0 .. K-1``).

    Args:
        img_root: The dataset's image root (the cache mirrors the layout below it).
        mask_root: The cache folder (default ``<img_root>_fh_masks``).
        on_missing: When an image has no cached mask: ``'compute'`` (default),
            ``'compute_and_cache'`` (and write it to the cache, atomically: the next epoch
            reads it) or ``'raise'``.
        scale, min_size, sigma: FH parameters (DetCon's 1000, 1000, 0.8); a cache made with
            others is refused.
    """

    def __init__(self, img_root: str, mask_root: Optional[str] = None,
                 on_missing: str = 'compute', scale: float = FH_PARAMS['scale'],
                 min_size: int = FH_PARAMS['min_size'],
                 sigma: float = FH_PARAMS['sigma']) -> None:
        self.img_root = img_root
        self.mask_root = mask_root or mask_root_for(img_root)
        self.on_missing = check_choice('LoadFHMask', 'on_missing', on_missing,
                                       ('compute', 'compute_and_cache', 'raise'))
        self.params = dict(scale=check_number('LoadFHMask', 'scale', scale, 0, low_open=True),
                           min_size=check_number('LoadFHMask', 'min_size', min_size, 1,
                                                 integer=True),
                           sigma=check_number('LoadFHMask', 'sigma', sigma, 0))
        if osp.isdir(self.mask_root):
            check_params(self.mask_root, self.params)

    def transform(self, results: dict) -> dict:
        img = results['img']
        path = mask_path(results['img_path'], self.img_root, self.mask_root)
        if osp.isfile(path):
            segments = read_mask(path)
            if segments.shape != img.shape[:2]:
                raise BadInputError(f'{path}: mask of {segments.shape} for an image of '
                                    f'{img.shape[:2]}')
        elif self.on_missing == 'raise':
            raise BadInputFileError(f'no cached FH mask {path!r} for {results["img_path"]!r}: '
                                    'run tools/make_fh_masks.py')
        else:
            segments = fh_segments(img, **self.params)
            if self.on_missing == 'compute_and_cache':
                write_params(self.mask_root, self.params)
                write_mask(path, segments)
        results['segments'] = segments
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(img_root={self.img_root!r}, '
                f'mask_root={self.mask_root!r}, on_missing={self.on_missing!r}, '
                f'**{self.params})')


def crop_mask(segments: np.ndarray, box: np.ndarray, flip: bool, size) -> np.ndarray:
    """A view's ``(h, w)`` mask: nearest sample of ``segments`` at each output pixel centre
    of ``box`` (original pixels, x2/y2 exclusive), mirrored when the view is flipped."""
    h, w = size
    x1, y1, x2, y2 = (float(v) for v in box)
    xs = x1 + (np.arange(w) + 0.5) * (x2 - x1) / w
    ys = y1 + (np.arange(h) + 0.5) * (y2 - y1) / h
    cols = np.clip(np.floor(xs).astype(np.int64), 0, segments.shape[1] - 1)
    rows = np.clip(np.floor(ys).astype(np.int64), 0, segments.shape[0] - 1)
    if flip:
        cols = cols[::-1]
    return segments[rows[:, None], cols[None, :]]


@TRANSFORMS.register_module()
class MasksToViews(BaseTransform):
    """Every view's segment mask, with the view's own crop box, flip and size (nearest), so
    a pixel of a view and its mask show the same original-image point.

    Place after :class:`MultiViewTransform` (it reads the recorded geometry, nothing else).

    Required keys: ``segments``, ``views``, ``view_boxes``, ``view_flips``.
    Added keys: ``view_masks`` (int32 ``(V, h, w)``; views of one size) — packed as the
    per-view datum ``masks``. Removed keys: ``segments``.
    """

    def transform(self, results: dict) -> dict:
        segments = results.pop('segments')
        sizes = {v.shape[:2] for v in results['views']}
        if len(sizes) != 1:
            raise BadInputError(f'MasksToViews needs views of one size, got {sorted(sizes)}')
        size = sizes.pop()
        results['view_masks'] = np.stack([
            crop_mask(segments, box, bool(flip), size)
            for box, flip in zip(results['view_boxes'], results['view_flips'])])
        return results
