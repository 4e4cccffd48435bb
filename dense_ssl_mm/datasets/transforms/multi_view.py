"""V >= 1 augmented views of one image, each with its crop box and flip flag."""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.utils.errors import BadInputError, BadInputKeyError
from dense_ssl_mm.utils.validation import check_number
from .crop import RandomResizedCropWithBox

#: Type names of the transforms that make the views (what config walkers look for).
VIEW_TRANSFORMS = ('MultiViewTransform', 'PairedViewTransform')


@TRANSFORMS.register_module()
class MultiViewTransform(BaseTransform):
    """Make V >= 1 views of ``results['img']``, each through its own pipeline.

    One view: a method whose teacher and student see the same image (distillation). Two
    views (PixPro, MoCo): two pipelines (:class:`PairedViewTransform`). Multi-crop (VICRegL's
    ConvNeXt recipe, 2 x 224 + 6 x 96): ``[global1, global2] + [local] * 6``; views of one
    output size must be adjacent (they are stacked per size group, in view order).

    Each view pipeline must contain one crop transform that writes ``crop_box`` (such as
    :class:`RandomResizedCropWithBox`) and may contain mmcv's ``RandomFlip`` with
    ``direction='horizontal'``; photometric transforms may follow in any order. The geometry
    convention (see ``geometry/correspondence.py``): the box is in pixels of the loaded
    image, ``(x1, y1, x2, y2)`` with x2/y2 exclusive, never flipped; the flip is a separate flag.

    Overlap rules: the first ``overlap_anchors`` views are anchors. With ``min_overlap_area``
    (pixels) or ``min_overlap_fraction`` (of the loaded image's area) set, every view after
    the first is drawn so that it shares at least that much with each earlier anchor: view
    ``k`` with anchors ``0 .. min(k, overlap_anchors) - 1``. This transform calls the view's
    :class:`RandomResizedCropWithBox` with ``overlap=[(anchor box, minimum), ...]``, which
    rejects other candidates and, after its ``max_attempts`` tries, falls back to the
    anchors' intersection (one anchor: its box), recorded in ``view_fallbacks``. MoCo-style
    overlap: ``min_overlap_area=32``; NeCo: ``overlap_anchors=2``,
    ``min_overlap_fraction=[0, 0.02, 0.01, 0.01, 0.01, 0.01]`` (the two global crops share
    2 % of the image, each local crop 1 % with each global one).

    Required keys: ``img``.
    Added keys: ``views`` (list of V HxWx3 uint8 arrays), ``view_boxes`` (np.float32
    ``(V, 4)``), ``view_flips`` (bool ``(V,)``), ``view_fallbacks`` (bool ``(V,)``).

    Args:
        view_pipelines: V >= 1 lists of transform configs, one per view.
        min_overlap_area: Minimum shared area with each anchor in pixels, or None for
            independent crops (PixPro).
        min_overlap_fraction: Minimum shared area with each anchor as a fraction of the
            image's area: one number for every view, or one per view (the first's unused),
            or None.
        overlap_anchors: How many leading views are anchors (1: the first view only).
    """

    def __init__(self, view_pipelines: Sequence[List[dict]],
                 min_overlap_area: Optional[float] = None,
                 min_overlap_fraction: Optional[Union[float, Sequence[float]]] = None,
                 overlap_anchors: int = 1) -> None:
        owner = 'MultiViewTransform'
        if len(view_pipelines) < 1:
            raise BadInputError('MultiViewTransform needs >= 1 view pipeline, got none')
        if min_overlap_area is not None:
            check_number(owner, 'min_overlap_area', min_overlap_area, 0)
        if min_overlap_fraction is not None:
            if isinstance(min_overlap_fraction, (int, float)):
                min_overlap_fraction = [min_overlap_fraction] * len(view_pipelines)
            if len(min_overlap_fraction) != len(view_pipelines):
                raise BadInputError(f'{owner}: min_overlap_fraction has '
                                    f'{len(min_overlap_fraction)} entries for '
                                    f'{len(view_pipelines)} view pipelines')
            for k, f in enumerate(min_overlap_fraction):
                check_number(owner, f'min_overlap_fraction[{k}]', f, 0, 1)
            min_overlap_fraction = tuple(float(f) for f in min_overlap_fraction)
        self.min_overlap_fraction = min_overlap_fraction
        self.overlap_anchors = check_number(owner, 'overlap_anchors', overlap_anchors, 1,
                                            len(view_pipelines), integer=True)
        # Built through our registry so no default scope is needed (mmcv's are found too).
        self.pipelines = [Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t for t in p])
                          for p in view_pipelines]
        self.min_overlap_area = min_overlap_area
        if self.constrained:
            for k, pipeline in enumerate(self.pipelines[1:], 1):
                if not any(isinstance(t, RandomResizedCropWithBox) for t in pipeline.transforms):
                    raise BadInputError(f'MultiViewTransform(min_overlap_area=...) needs a '
                                        f'RandomResizedCropWithBox in view pipeline {k}')

    @property
    def constrained(self) -> bool:
        """Whether views after the first must overlap the anchors."""
        return self.min_overlap_area is not None or self.min_overlap_fraction is not None

    def overlap_constraints(self, k: int, boxes: List[np.ndarray],
                            image_area: float) -> Optional[List[Tuple[tuple, float]]]:
        """``[(anchor box, minimum area), ...]`` for view ``k`` given the earlier boxes."""
        if k == 0 or not self.constrained:
            return None
        minimum = max(self.min_overlap_area or 0.0,
                      (self.min_overlap_fraction or (0.0, ) * (k + 1))[k] * image_area)
        return [(tuple(boxes[a]), minimum) for a in range(min(k, self.overlap_anchors))]

    @staticmethod
    def run_view(pipeline: Compose, view: dict, overlap=None) -> Optional[dict]:
        """Run one view pipeline; its crop gets ``overlap`` as an argument (not in the dict)."""
        for t in pipeline.transforms:
            if overlap is not None and isinstance(t, RandomResizedCropWithBox):
                view = t.transform(view, overlap=overlap)
            else:
                view = t(view)
            if view is None:
                return None
        return view

    def transform(self, results: dict) -> dict:
        views, boxes, flips, fallbacks = [], [], [], []
        for k, pipeline in enumerate(self.pipelines):
            view = dict(results)
            view.pop('crop_box', None)
            height, width = results['img'].shape[:2]
            view = self.run_view(pipeline, view,
                                 self.overlap_constraints(k, boxes, height * width))
            if view is None:
                raise RuntimeError(f'view pipeline {k} returned None')
            if 'crop_box' not in view:
                raise BadInputKeyError(f'view pipeline {k} wrote no crop_box: it needs a crop '
                                       'transform that records geometry, e.g. '
                                       'RandomResizedCropWithBox')
            direction = view.get('flip_direction') if view.get('flip', False) else None
            if direction not in (None, 'horizontal'):
                raise BadInputError(f'view pipeline {k} flipped {direction!r}; only horizontal '
                                    'flips are supported by the correspondence code')
            views.append(view['img'])
            boxes.append(view['crop_box'])
            flips.append(direction == 'horizontal')
            fallbacks.append(bool(view.get('crop_fallback', False)))
        results['views'] = views
        results['view_boxes'] = np.stack(boxes).astype(np.float32)
        results['view_flips'] = np.array(flips, dtype=bool)
        results['view_fallbacks'] = np.array(fallbacks, dtype=bool)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(view_pipelines={self.pipelines}, '
                f'min_overlap_area={self.min_overlap_area}, '
                f'min_overlap_fraction={self.min_overlap_fraction}, '
                f'overlap_anchors={self.overlap_anchors})')


@TRANSFORMS.register_module()
class PairedViewTransform(MultiViewTransform):
    """The two-view case of :class:`MultiViewTransform` (PixPro, PixContrast, VADeR, DenseCL,
    MoCo v2, DetCon, VICRegL): exactly two view pipelines, the first view the overlap anchor.

    Args:
        view_pipelines: Two lists of transform configs (view 1, view 2).
        min_overlap_area: Minimum area in pixels the second view shares with the first.
        min_overlap_fraction: The same as a fraction of the image's area.
    """

    def __init__(self, view_pipelines: Sequence[List[dict]],
                 min_overlap_area: Optional[float] = None,
                 min_overlap_fraction: Optional[float] = None) -> None:
        if len(view_pipelines) != 2:
            raise BadInputError(f'PairedViewTransform needs exactly 2 view pipelines, got '
                                f'{len(view_pipelines)}; use MultiViewTransform for other counts')
        super().__init__(view_pipelines, min_overlap_area, min_overlap_fraction)
