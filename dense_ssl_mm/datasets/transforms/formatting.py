"""Pack paired views and their per-view data for the data preprocessor."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.structures import PairedViewData


@TRANSFORMS.register_module()
class PackPairedViews(BaseTransform):
    """Stack the two views into a uint8 tensor and every ``view_<name>`` key into one
    :class:`PairedViewData`.

    Required keys: ``views``, ``view_boxes``, ``view_flips``.
    Optional keys: any other ``view_<name>`` with a leading axis of 2 (one entry per view),
    packed as the data field ``<name>``: a new per-view datum needs no change here.
    Returns ``dict(inputs, data_samples)``: ``inputs`` is uint8 ``(2, 3, H, W)`` (channel order
    as loaded, BGR by default); ``data_samples`` is a :class:`PairedViewData` with ``boxes``
    (float32 ``(2, 4)``), ``flips`` (bool ``(2,)``), the other per-view fields, and meta fields
    ``img_path`` and ``ori_shape``.
    """

    def transform(self, results: dict) -> dict:
        shapes = {v.shape for v in results['views']}
        if len(shapes) != 1:
            raise ValueError(f'the two views must have one shape to be batched, got {shapes}')
        views = np.stack([v if v.ndim == 3 else v[..., None] for v in results['views']])
        inputs = torch.from_numpy(np.ascontiguousarray(views.transpose(0, 3, 1, 2)))
        sample = PairedViewData(metainfo=dict(
            img_path=results.get('img_path'), ori_shape=results.get('ori_shape')))
        for key, value in results.items():
            if not key.startswith('view_') or key == 'views':
                continue
            value = np.asarray(value)
            if value.shape[:1] != (2, ):
                raise ValueError(f'{key} must hold one entry per view (leading axis 2), got '
                                 f'shape {value.shape}')
            if value.dtype == np.float64:
                value = value.astype(np.float32)
            sample.set_field(torch.from_numpy(np.ascontiguousarray(value)), key[len('view_'):])
        return dict(inputs=inputs, data_samples=sample.check())
