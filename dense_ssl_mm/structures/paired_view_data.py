"""The geometry of two views of one image (or of a batch), as one mmengine data element."""
from typing import Optional, Sequence

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor


class PairedViewData(BaseDataElement):
    """Per-view data of a pair of views: the geometry and any other per-view datum.

    Per image (what :class:`PackPairedViews` makes), every data field has a leading view axis
    of length 2: ``boxes`` float32 ``(2, 4)`` crop boxes ``(x1, y1, x2, y2)`` in original-image
    pixels (x2, y2 exclusive), ``flips`` bool ``(2,)``, and whatever else a transform recorded
    as ``view_<name>`` (``fallbacks`` ``(2,)``, a DetCon mask ``(2, H, W)``, ...). Meta fields:
    ``img_path``, ``ori_shape``.

    Batched (what :meth:`stack` and the data preprocessor make): each field gains the image
    axis after the view axis, ``boxes`` ``(2, N, 4)``, ``flips`` ``(2, N)``, and the original
    sizes become the data field ``image_sizes`` float ``(N, 2)`` (height, width).

    A new per-view datum needs no change here, in the packing or in the preprocessor: the
    transform that makes it writes ``view_<name>`` and the module that uses it reads ``<name>``.
    """

    def check(self) -> 'PairedViewData':
        """Raise a ValueError unless ``boxes``/``flips`` have the shapes above; return self."""
        boxes, flips = self.get('boxes'), self.get('flips')
        if boxes is None or flips is None:
            raise ValueError(f'PairedViewData needs boxes and flips, has {sorted(self.keys())}')
        if boxes.shape[0] != 2 or boxes.shape[-1] != 4:
            raise ValueError(f'boxes must have shape (2, [N,] 4), got {tuple(boxes.shape)}')
        if flips.dtype != torch.bool or flips.shape != boxes.shape[:-1]:
            raise ValueError(f'flips must be bool of shape {tuple(boxes.shape[:-1])}, got '
                             f'{flips.dtype} {tuple(flips.shape)}')
        return self

    @classmethod
    def from_tensors(cls, boxes: Tensor, flips: Tensor,
                     image_sizes: Optional[Tensor] = None, **fields: Tensor) -> 'PairedViewData':
        """A batched element from ``(2, N, 4)`` boxes, ``(2, N)`` flips and more fields."""
        data = cls(boxes=boxes, flips=flips)
        if image_sizes is not None:
            data.image_sizes = image_sizes
        for name, value in fields.items():
            data.set_field(value, name)
        return data.check()

    @classmethod
    def stack(cls, samples: Sequence['PairedViewData']) -> 'PairedViewData':
        """Batch per-image elements: every data field stacked on a new axis 1 (after the
        view axis); ``ori_shape`` of the meta fields -> ``image_sizes`` ``(N, 2)``.

        Raises:
            ValueError: if the samples do not all carry the same data fields.
        """
        if not samples:
            raise ValueError('cannot stack an empty list of PairedViewData')
        keys = [sorted(s.keys()) for s in samples]
        if any(k != keys[0] for k in keys):
            raise ValueError(f'the samples carry different fields: {keys[0]} and '
                             f'{next(k for k in keys if k != keys[0])}')
        batch = cls()
        for key in keys[0]:
            value = torch.stack([s.get(key) for s in samples], 1)  # [2, N, ...]
            setattr(batch, key, value)
        shapes = [s.metainfo.get('ori_shape') for s in samples]
        if all(shape is not None for shape in shapes):
            batch.image_sizes = torch.tensor([tuple(shape[:2]) for shape in shapes],
                                             dtype=torch.float32)
        batch.set_metainfo(dict(img_paths=[s.metainfo.get('img_path') for s in samples]))
        return batch.check()
