"""Every view of every image made on the device, from the CPU pipeline's own settings."""
from itertools import accumulate, groupby
from typing import Optional, Sequence, Tuple

import torch
from mmengine.dist import get_rank
from torch import Tensor

from dense_ssl_mm.datasets.transforms.view_spec import (BlurSpec, GrayscaleSpec, JitterSpec,
                                                        PhotometricSpec, SolarizeSpec, ViewSpec)
from dense_ssl_mm.geometry.crop_boxes import draw_crop_boxes
from dense_ssl_mm.image_ops.color import color_jitter
from dense_ssl_mm.image_ops.resize import crop_resize, supersample_bound
from dense_ssl_mm.utils.draws import uniform
from .view_ops import gaussian_blur, grayscale, solarize, where_views


class DeviceViewMaker:
    """Make V >= 1 views per image (each from its own CPU view pipeline), batched on the
    images' device; views of one size are stacked, one stack per size group.

    Same parameter distributions as the CPU pipeline it was made from (crop area / ratio
    draw with its attempts and fallback, flip, colour jitter in a random order per view,
    grayscale, blur with a per-view sigma, solarize, in the pipeline's order); geometry in
    original-image pixels as :class:`MultiViewTransform` records it.

    Args:
        view_pipelines: The CPU view pipelines (lists of transform configs), one per view.
        min_overlap_area: As :class:`MultiViewTransform`'s: every later view's crop shares
            at least this many pixels with the first (VADeR), else it is the first view's box.
        seed: Seed of the generator; None draws one from torch's global generator at the
            first batch (seeded by mmengine's ``randomness.seed``). Each rank adds its rank,
            so ranks draw different views.
    """

    def __init__(self, view_pipelines: Sequence[Sequence[dict]],
                 min_overlap_area: Optional[float] = None, seed: Optional[int] = None):
        if len(view_pipelines) < 1:
            raise ValueError('device views need at least one view pipeline, got none')
        self.views = [ViewSpec.from_pipeline(p) for p in view_pipelines]
        for k, view in enumerate(self.views):
            if not view.crop.antialias:
                raise ValueError(f'device views resize with antialiasing; view pipeline {k} '
                                 'has RandomResizedCropWithBox(antialias=False)')
        sizes = [v.crop.size for v in self.views]
        self.groups = [len(list(g)) for _, g in groupby(sizes)]  # runs of equal sizes
        if len(self.groups) != len(set(sizes)):
            raise ValueError(f'views of one size must be adjacent to be stacked, got sizes '
                             f'{sizes} in view order')
        self.min_overlap_area = min_overlap_area
        self.seed = seed
        self.generator: Optional[torch.Generator] = None

    def _generator(self, device: torch.device) -> torch.Generator:
        if self.generator is None or self.generator.device != device:
            seed = self.seed if self.seed is not None else int(
                torch.randint(0, 2**62, (1, )).item())
            self.generator = torch.Generator(device=device)
            self.generator.manual_seed(seed + 7919 * get_rank())
        return self.generator

    def _photometric(self, x: Tensor, ops: Sequence[PhotometricSpec],
                     gen: torch.Generator) -> Tensor:
        m, device = x.shape[0], x.device
        for op in ops:
            if isinstance(op, JitterSpec):
                x = color_jitter(x, list(op.strengths), op.prob, gen)
                continue
            apply = torch.rand(m, generator=gen, device=device) < op.prob
            if isinstance(op, GrayscaleSpec):
                x = grayscale(x, apply, op.weights)
            elif isinstance(op, BlurSpec):
                low, high = op.sigma_range
                sigma = uniform(low, high, (m, ), gen, device)
                x = where_views(apply, gaussian_blur(x, sigma, max_sigma=high), x)
            elif isinstance(op, SolarizeSpec):
                x = where_views(apply, solarize(x, op.threshold), x)
        return x

    def __call__(self, images: Tensor, sizes: Tensor, scales: Tensor) -> Tuple[Tensor, ...]:
        """Views of a padded batch.

        Args:
            images: ``(N, 3, Hmax, Wmax)`` float in [0, 255], image ``i`` top-left.
            sizes: ``(N, 2)`` their ``(H, W)`` (as loaded, maybe shrunk).
            scales: ``(N, 2)`` ``(sy, sx)``, loaded size / original size per axis.

        Returns:
            views (:data:`~dense_ssl_mm.structures.Views`: ``(V, N, 3, h, w)`` float in
            [0, 255], or one such stack per size group in view order); boxes ``(V, N, 4)``
            in original pixels, flips bool ``(V, N)``, fallbacks
            bool ``(V, N)``.
        """
        gen = self._generator(images.device)
        n = images.shape[0]
        views, boxes, flips, fallbacks = [], [], [], []
        first_box = None  # view 1's box in the pixels of the image as loaded
        for k, view in enumerate(self.views):
            crop = view.crop
            supersample = supersample_bound(tuple(images.shape[-2:]), crop.size)  # no sync
            overlap = None
            if k > 0 and self.min_overlap_area is not None:  # the area in those pixels too
                overlap = (first_box, self.min_overlap_area * scales.prod(1, keepdim=True))
            box, fallback = draw_crop_boxes(sizes.to(images.dtype), crop.scale, crop.ratio,
                                            crop.max_attempts, gen, overlap)
            first_box = box if first_box is None else first_box
            x = crop_resize(images, sizes, box, crop.size, supersample=supersample)
            flip = torch.rand(n, generator=gen, device=images.device) < view.flip
            x = where_views(flip, x.flip(-1), x)
            views.append(self._photometric(x, view.ops, gen))
            boxes.append(box / scales[:, [1, 0, 1, 0]].to(box.dtype))
            flips.append(flip)
            fallbacks.append(fallback)
        ends = list(accumulate(self.groups))
        stacks = [torch.stack(views[end - size:end]) for size, end in zip(self.groups, ends)]
        return (stacks[0] if len(stacks) == 1 else stacks, torch.stack(boxes), torch.stack(flips),
                torch.stack(fallbacks))
