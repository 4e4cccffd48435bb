"""Pack paired views and their geometry for the data preprocessor."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import BaseDataElement

from dense_ssl_mm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackPairedViews(BaseTransform):
    """Stack the two views into a uint8 tensor and put the geometry in a data sample.

    Required keys: ``views``, ``view_boxes``, ``view_flips``.
    Returns ``dict(inputs, data_samples)``: ``inputs`` is uint8 ``(2, 3, H, W)`` (channel order
    as loaded, BGR by default); ``data_samples`` is a ``BaseDataElement`` with data fields
    ``view_boxes`` (float32 ``(2, 4)``) and ``view_flips`` (bool ``(2,)``) and meta fields
    ``img_path`` and ``ori_shape``.
    """

    def transform(self, results: dict) -> dict:
        shapes = {v.shape for v in results['views']}
        if len(shapes) != 1:
            raise ValueError(f'the two views must have one shape to be batched, got {shapes}')
        views = np.stack([v if v.ndim == 3 else v[..., None] for v in results['views']])
        inputs = torch.from_numpy(np.ascontiguousarray(views.transpose(0, 3, 1, 2)))
        sample = BaseDataElement(metainfo=dict(
            img_path=results.get('img_path'), ori_shape=results.get('ori_shape')))
        sample.view_boxes = torch.from_numpy(np.asarray(results['view_boxes'], np.float32))
        sample.view_flips = torch.from_numpy(np.asarray(results['view_flips'], bool))
        return dict(inputs=inputs, data_samples=sample)
