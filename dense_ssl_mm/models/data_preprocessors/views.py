"""Normalise and batch V views and their geometry (or make the views on the device)."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseDataPreprocessor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.utils.errors import BadInputError
from .device_views import DeviceViewMaker


@MODELS.register_module()
class ViewDataPreprocessor(BaseDataPreprocessor):
    """Turn collated :class:`PackViews` outputs into model inputs.

    Views travel to the device as uint8 and are converted there. Output: ``inputs`` the views,
    float ``(V, N, 3, H, W)`` (normalised, RGB if ``bgr_to_rgb``), or with views of several
    sizes a list of ``(V_g, N, 3, H_g, W_g)``, one per size group in view order
    (:data:`~dense_ssl_mm.structures.Views`); ``data_samples`` one batched :class:`ViewData`
    on the device (``boxes`` ``(V, N, 4)``, ``flips`` bool ``(V, N)``, every other per-view
    field stacked the same way, and ``image_sizes`` ``(N, 2)``, original height and width,
    where the samples carry ``ori_shape``).

    Args:
        mean: Per-channel mean, in the output channel order (RGB by default).
        std: Per-channel std.
        bgr_to_rgb: Swap channels (mmcv loads BGR).
        non_blocking: Asynchronous host-to-device copies (with pinned dataloader memory).
        channels_last: Views in NHWC memory order (set by ``speed.channels_last``).
        device_views: ``dict(view_pipelines=[...], seed=None)`` to make the views here, on
            the device, from decoded images packed by :class:`PackImageForDeviceViews`
            (:class:`DeviceViewMaker`; set by ``speed.device_views``). None: the views come
            made by the CPU pipeline (default).
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), bgr_to_rgb: bool = True,
                 non_blocking: bool = False, channels_last: bool = False,
                 device_views: Optional[dict] = None) -> None:
        super().__init__(non_blocking=non_blocking)
        if len(mean) != len(std):
            raise BadInputError(f'mean has {len(mean)} values but std has {len(std)}')
        self.register_buffer('mean', torch.tensor(mean).view(1, 1, -1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std).view(1, 1, -1, 1, 1), False)
        self.bgr_to_rgb = bgr_to_rgb
        self.channels_last = channels_last
        self.view_maker = DeviceViewMaker(**device_views) if device_views else None

    def make_views(self, images: List[torch.Tensor],
                   samples: List[ViewData]) -> Tuple[List[torch.Tensor], ViewData]:
        """Device path: pad the decoded images into one batch on the device (one copy per
        image, as any collation), make every view, record their geometry.

        Returns:
            One float ``(N, V_g, 3, h, w)`` stack per size group, and the batched geometry.
        """
        shapes = [tuple(img.shape[-2:]) for img in images]  # host ints: no tensor, no sync
        n, hmax, wmax = len(images), max(h for h, _ in shapes), max(w for _, w in shapes)
        sizes = torch.tensor(shapes)
        batch = torch.zeros(n, 3, hmax, wmax, dtype=torch.uint8, device=self.device)
        for i, img in enumerate(images):
            batch[i, :, :img.shape[-2], :img.shape[-1]].copy_(img, non_blocking=self._non_blocking)
        scales = torch.tensor([s.metainfo['scale'] for s in samples], dtype=torch.float32)
        # mmengine runs the preprocessor inside the AMP context: pixels stay float32 here
        with torch.autocast(self.device.type, enabled=False):
            views, boxes, flips, fallbacks = self.view_maker(
                batch.float(), sizes.to(self.device), scales.to(self.device))
        image_sizes = torch.tensor([tuple(s.metainfo['ori_shape'][:2]) for s in samples],
                                   dtype=torch.float32, device=self.device)
        geometry = ViewData.from_tensors(boxes, flips, image_sizes, fallbacks=fallbacks)
        geometry.set_metainfo(dict(img_paths=[s.metainfo.get('img_path') for s in samples]))
        groups = [views] if isinstance(views, torch.Tensor) else views
        return [group.transpose(0, 1) for group in groups], geometry  # like packed CPU views

    def _normalise(self, views: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, V, C, H, W)`` -> normalised float ``(V, N, C, H, W)``."""
        if views.dim() != 5:
            raise ValueError(f'expected views of shape (N, V, C, H, W), got {tuple(views.shape)}')
        if views.shape[2] != self.mean.shape[2]:
            raise ValueError(f'views have {views.shape[2]} channels but mean/std have '
                             f'{self.mean.shape[2]}')
        views = views.to(self.device, non_blocking=self._non_blocking).float()
        if self.bgr_to_rgb:
            views = views.flip(2)
        views = (views - self.mean) / self.std
        if self.channels_last:  # each view (N, C, H, W) with NHWC strides
            return views.permute(1, 0, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)
        return views.transpose(0, 1).contiguous()  # [V, N, C, H, W]

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs, samples = data['inputs'], data.get('data_samples')
        geometry = None
        if self.view_maker is not None:
            if samples is None or isinstance(inputs, torch.Tensor) or inputs[0].dim() != 3:
                raise ValueError('device_views expects decoded images (3, H, W) packed by '
                                 'PackImageForDeviceViews, with their data samples')
            groups, geometry = self.make_views(list(inputs), samples)
        elif samples is None:
            raise ValueError('ViewDataPreprocessor needs data_samples with the geometry')
        elif isinstance(inputs, torch.Tensor):  # one size, already batched: (N, V, C, H, W)
            groups = [inputs]
        elif isinstance(inputs[0], torch.Tensor):  # per image (V, C, H, W): one size
            groups = [torch.stack(list(inputs))]
        elif len({tuple(t.shape) for t in inputs[0]}) == 1:
            # group-major, as mmengine's pseudo_collate transposes per-image lists:
            # inputs[g][i] is image i's stack of size group g
            groups = [torch.stack(list(group)) for group in inputs]
        else:  # image-major: inputs[i][g], one stack per size group of image i
            counts = {len(sample) for sample in inputs}
            if len(counts) != 1:
                raise ValueError(f'the images carry different numbers of size groups: {counts}')
            groups = [torch.stack([sample[g] for sample in inputs])
                      for g in range(counts.pop())]
        views = [self._normalise(group) for group in groups]
        if geometry is None:
            geometry = samples if isinstance(samples, ViewData) else ViewData.stack(samples)
        geometry.set_metainfo(dict(view_groups=tuple(v.shape[0] for v in views)))
        if sum(v.shape[0] for v in views) != geometry.num_views:
            raise ValueError(f'{sum(v.shape[0] for v in views)} views but geometry for '
                             f'{geometry.num_views}')
        return dict(inputs=views[0] if len(views) == 1 else views,
                    data_samples=self.cast_data(geometry))
