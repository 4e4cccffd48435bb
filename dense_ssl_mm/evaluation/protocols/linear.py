"""The linear segmentation probe as NeCo and Leopart report it, with its resolution named.

Frozen features of images at ``size`` (the reference: 448) with a random resized crop (scale
0.8-1) and a horizontal flip per training image; the feature map is upsampled bilinearly to
``resolution x resolution`` (the reference: 100; ``'full'``: the input size), a 1 x 1 conv
gives class scores, trained with cross-entropy (255 ignored) against the mask resized
(nearest) to the same resolution; SGD lr 0.01, momentum 0.9, weight decay 1e-4, 25 epochs,
lr x 0.1 at epoch 20 (at 80 % of the epochs when fewer are run). Scored at that resolution on
the validation set, identity matching, mIoU over all classes. The DINOv2 protocol (BN + 1 x 1
conv, AdamW, 40k iterations, full-resolution sliding window) is a different number: always
name the protocol.
"""
import dataclasses
from typing import Callable, Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.geometry.crop_boxes import TorchDraws, draw_crop_box
from dense_ssl_mm.image_ops.resize import crop_resize_with_mask
from dense_ssl_mm.registry import PROTOCOLS
from dense_ssl_mm.utils.errors import BadInputError
from ..features import BATCH_SIZE, feature_fn
from ..metrics.matching import matched_miou
from ..probes.linear import LinearProbe, probe_step
from ..seg_data import load_pairs
from .base import EvalRun, Protocol
from .hummingbird import CROP_RATIO, PairReader


def _augment(image, mask, size: int, gen: torch.Generator):
    box, _ = draw_crop_box(image.shape[-2], image.shape[-1], (0.8, 1.0), CROP_RATIO,
                           TorchDraws(gen))
    img, lab = crop_resize_with_mask(image, mask, box, size)
    if float(torch.rand(1, generator=gen)) < 0.5:
        img, lab = img.flip(-1), lab.flip(-1)
    return img, lab.long()


@PROTOCOLS.register_module(name='linear')
@dataclasses.dataclass
class Linear(Protocol):
    """The NeCo / Leopart linear probe (module docstring): identity-matched mIoU over all
    classes at ``resolution``.

    Args:
        size: Side of the square input images (the reference: 448).
        resolution: Side of the score and label maps the probe is trained and scored at
            (the reference: 100), or ``'full'`` (the input size).
        epochs: Passes over the training images (lr x 0.1 at epoch 20 of 25, else at 80 %).
        lr: SGD learning rate.
        momentum: SGD momentum.
        weight_decay: SGD weight decay.
    """

    size: int = 448
    resolution: Union[int, str] = 100
    epochs: int = 25
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 1e-4

    needs = ('labels', )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.resolution != 'full' and not str(self.resolution).isdigit():
            raise BadInputError(f"linear: resolution must be a number of pixels or 'full', got "
                                f'{self.resolution!r}')

    def run(self, ev: EvalRun) -> Dict[str, object]:
        train_pairs, val_pairs, num_classes, reduce = ev.labelled()
        val_data = (ev.features('val', self.level, self.size), ev.pairs('val', self.size)[1])
        out = linear_probe_protocol(
            feature_fn(ev.model, self.level), train_pairs, val_pairs, num_classes, self.size,
            self.resolution, self.epochs, self.lr, self.momentum, self.weight_decay,
            ev.batch_size, self.seed, reduce, ev.bar(), val_data, ev.device)
        out['settings'] = self.settings(**out['settings'])
        return out


def linear_probe_protocol(feature_fn: Callable[[Tensor], Tensor], train_pairs, val_pairs,
                          num_classes: int, size: int, resolution: Union[int, str],
                          epochs: int, lr: float, momentum: float = Linear.momentum,
                          weight_decay: float = Linear.weight_decay,
                          batch_size: int = BATCH_SIZE, seed: int = Linear.seed,
                          reduce_zero_label: bool = False, progress=None,
                          val_data: Optional[Tuple[Tensor, Tensor]] = None,
                          device=None) -> Dict[str, object]:
    """Train the probe on ``train_pairs`` and score it on ``val_pairs`` (path pairs).

    Args:
        feature_fn: ``(B, 3, size, size)`` images in [0, 255] -> frozen ``(B, C, h, w)``
            features (normalisation included), e.g. :func:`~..features.feature_fn`.
        val_data: The validation ``(features (N, C, h, w), labels (N, size, size))`` when
            the caller has them already (an evaluation's cache); else read and computed.
        device: Where the probe trains (default: the validation features' device).
        Others: as :class:`Linear`.
    """
    out_res = size if resolution == 'full' else int(resolution)
    if val_data is None:
        val_images, val_labels = load_pairs(val_pairs, size, reduce_zero_label, num_classes)
        val_feats = torch.cat([feature_fn(val_images[s:s + batch_size])
                               for s in range(0, len(val_images), batch_size)])
    else:
        val_feats, val_labels = val_data
    device = val_feats.device if device is None else device
    reader = PairReader(train_pairs, reduce_zero_label, num_classes)
    gen = torch.Generator().manual_seed(seed)
    probe = LinearProbe(val_feats.shape[1], num_classes, seed).to(device)
    optimizer = torch.optim.SGD(probe.parameters(), lr=lr, momentum=momentum,
                                weight_decay=weight_decay)
    milestone = 20 if epochs == 25 else max(1, round(0.8 * epochs))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, [milestone], 0.1)
    steps = [(e, s) for e in range(epochs) for s in range(0, len(reader), batch_size)]
    order, loss = None, torch.tensor(float('nan'))
    for epoch, start in (progress(steps) if progress else steps):
        if start == 0:
            order = torch.randperm(len(reader), generator=gen).tolist()
            if epoch:
                scheduler.step()
        batch = [_augment(*reader[i], size, gen) for i in order[start:start + batch_size]]
        images = torch.stack([b[0] for b in batch])
        masks = torch.stack([b[1] for b in batch])
        target = F.interpolate(masks[:, None].float(), size=(out_res, out_res),
                               mode='nearest')[:, 0].long().to(device)
        loss = probe_step(probe, optimizer, feature_fn(images), target)
    preds = torch.cat([probe.predict(val_feats[s:s + batch_size].to(device),
                                     (out_res, out_res)).cpu()
                       for s in range(0, len(val_feats), batch_size)])
    target = F.interpolate(val_labels[:, None].float(), size=(out_res, out_res),
                           mode='nearest')[:, 0].long()
    score = matched_miou(preds, target, num_classes, mode='identity')
    return dict(miou=score['miou'], per_class_iou=score['per_class_iou'],
                settings=dict(resolution=f'{out_res} x {out_res}'
                              + (' (full: the input size)' if resolution == 'full' else ''),
                              milestone=milestone, crop_scale=[0.8, 1.0], flip=True,
                              train_images=len(train_pairs), val_images=len(val_pairs),
                              num_classes=num_classes, final_train_loss=float(loss)))
