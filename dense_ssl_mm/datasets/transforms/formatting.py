"""Pack V views and their per-view data for the data preprocessor."""
from itertools import groupby

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.utils.errors import BadInputError


@TRANSFORMS.register_module()
class PackViews(BaseTransform):
    """Stack the views into uint8 tensors (one per size group) and every ``view_<name>`` key
    into one :class:`ViewData`.

    Required keys: ``views``, ``view_boxes``, ``view_flips``.
    Optional keys: any other ``view_<name>`` with a leading axis of V (one entry per view),
    packed as the data field ``<name>``: a new per-view datum needs no change here.
    Returns ``dict(inputs, data_samples)``: ``inputs`` is uint8 ``(V, 3, H, W)`` when every
    view has one size, else a list with one ``(V_g, 3, H_g, W_g)`` stack per run of
    equal-sized views (channel order as loaded, BGR by default); ``data_samples`` is a
    :class:`ViewData` with ``boxes`` (float32 ``(V, 4)``), ``flips`` (bool ``(V,)``), the
    other per-view fields, and meta fields ``img_path`` and ``ori_shape``.
    """

    def transform(self, results: dict) -> dict:
        views = [v if v.ndim == 3 else v[..., None] for v in results['views']]
        groups = [np.stack(list(g)) for _, g in groupby(views, key=lambda v: v.shape)]
        sizes = [g.shape[1:3] for g in groups]
        if len(set(sizes)) != len(sizes):
            raise BadInputError(f'views of one size must be adjacent to be stacked, got sizes '
                                f'{[v.shape[:2] for v in views]} in view order')
        stacks = [torch.from_numpy(np.ascontiguousarray(g.transpose(0, 3, 1, 2))) for g in groups]
        inputs = stacks[0] if len(stacks) == 1 else stacks
        num_views = len(views)
        sample = ViewData(metainfo=dict(
            img_path=results.get('img_path'), ori_shape=results.get('ori_shape')))
        for key, value in results.items():
            if not key.startswith('view_') or key == 'views':
                continue
            value = np.asarray(value)
            if value.shape[:1] != (num_views, ):
                raise ValueError(f'{key} must hold one entry per view (leading axis '
                                 f'{num_views}), got shape {value.shape}')
            if value.dtype == np.float64:
                value = value.astype(np.float32)
            sample.set_field(torch.from_numpy(np.ascontiguousarray(value)), key[len('view_'):])
        return dict(inputs=inputs, data_samples=sample.check())
