"""The geometry of V >= 1 views of one image (or of a batch), as one mmengine data element,
and the layout of the views themselves (stacked, or one stack per size group)."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.structures import BaseDataElement
from torch import Tensor

#: Views as they reach a model: one ``(V, N, 3, H, W)`` stack when all views share a size,
#: else a list with one ``(V_g, N, 3, H_g, W_g)`` stack per size group, in view order
#: (e.g. 2 x 224 then 6 x 96). Per image (packed), the same without the ``N`` axis.
Views = Union[Tensor, Sequence[Tensor]]


def split_views(views: Views) -> List[Tensor]:
    """The V views one by one (``(N, 3, H, W)`` each, in view order; slices, no copies)."""
    if isinstance(views, Tensor):
        return list(views.unbind(0))
    return [v for group in views for v in group.unbind(0)]


def view_groups(views: Views) -> Tuple[int, ...]:
    """How many views each size group holds, e.g. ``(2, 6)``; ``(V,)`` for one stack."""
    if isinstance(views, Tensor):
        return (views.shape[0], )
    return tuple(group.shape[0] for group in views)


class ViewData(BaseDataElement):
    """Per-view data of V >= 1 views of an image: the geometry and any other per-view datum.

    Per image (what :class:`PackViews` makes), every data field has a leading view axis of
    length V: ``boxes`` float32 ``(V, 4)`` crop boxes ``(x1, y1, x2, y2)`` in original-image
    pixels (x2, y2 exclusive), ``flips`` bool ``(V,)``, and whatever else a transform recorded
    as ``view_<name>`` (``fallbacks`` ``(V,)``, a DetCon mask ``(V, H, W)``, ...). Meta fields:
    ``img_path``, ``ori_shape``.

    Batched (what :meth:`stack` and the data preprocessor make): each field gains the image
    axis after the view axis, ``boxes`` ``(V, N, 4)``, ``flips`` ``(V, N)``, and the original
    sizes become the data field ``image_sizes`` float ``(N, 2)`` (height, width).

    A new per-view datum needs no change here, in the packing or in the preprocessor: the
    transform that makes it writes ``view_<name>`` and the module that uses it reads ``<name>``.
    Views of different sizes share this element (the boxes do not depend on the output size);
    which views form which size group is the views' own layout (:func:`view_groups`).
    """

    @property
    def num_views(self) -> int:
        """V, the number of views."""
        return self.boxes.shape[0]

    def check(self) -> 'ViewData':
        """Raise a ValueError unless ``boxes``/``flips`` have the shapes above; return self."""
        boxes, flips = self.get('boxes'), self.get('flips')
        if boxes is None or flips is None:
            raise ValueError(f'ViewData needs boxes and flips, has {sorted(self.keys())}')
        if boxes.dim() not in (2, 3) or boxes.shape[0] < 1 or boxes.shape[-1] != 4:
            raise ValueError(f'boxes must have shape (V, [N,] 4) with V >= 1 views, got '
                             f'{tuple(boxes.shape)}')
        if flips.dtype != torch.bool or flips.shape != boxes.shape[:-1]:
            raise ValueError(f'flips must be bool of shape {tuple(boxes.shape[:-1])}, got '
                             f'{flips.dtype} {tuple(flips.shape)}')
        return self

    @classmethod
    def from_tensors(cls, boxes: Tensor, flips: Tensor,
                     image_sizes: Optional[Tensor] = None, **fields: Tensor) -> 'ViewData':
        """A batched element from ``(V, N, 4)`` boxes, ``(V, N)`` flips and more fields."""
        data = cls(boxes=boxes, flips=flips)
        if image_sizes is not None:
            data.image_sizes = image_sizes
        for name, value in fields.items():
            data.set_field(value, name)
        return data.check()

    @classmethod
    def stack(cls, samples: Sequence['ViewData']) -> 'ViewData':
        """Batch per-image elements: every data field stacked on a new axis 1 (after the
        view axis); ``ori_shape`` of the meta fields -> ``image_sizes`` ``(N, 2)``.

        Raises:
            ValueError: if the samples do not all carry the same data fields.
        """
        if not samples:
            raise ValueError('cannot stack an empty list of ViewData')
        keys = [sorted(s.keys()) for s in samples]
        if any(k != keys[0] for k in keys):
            raise ValueError(f'the samples carry different fields: {keys[0]} and '
                             f'{next(k for k in keys if k != keys[0])}')
        batch = cls()
        for key in keys[0]:
            value = torch.stack([s.get(key) for s in samples], 1)  # [V, N, ...]
            setattr(batch, key, value)
        shapes = [s.metainfo.get('ori_shape') for s in samples]
        if all(shape is not None for shape in shapes):
            batch.image_sizes = torch.tensor([tuple(shape[:2]) for shape in shapes],
                                             dtype=torch.float32)
        batch.set_metainfo(dict(img_paths=[s.metainfo.get('img_path') for s in samples]))
        return batch.check()
