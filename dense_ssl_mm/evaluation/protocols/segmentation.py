"""The quick frozen-feature segmentation read-out of ``dense_eval``: kNN label transfer and a
linear probe on features of the labelled set at one size, each reported under a name that
says its options (``seg/knn_miou@k20,T0.07``, ``seg/linear_miou@adam300,lr0.01``).

Both score at label resolution, mIoU over the classes that occur (as mmseg's ``IoUMetric``),
without matching. Not the Hummingbird number (:mod:`.hummingbird`: an augmented memory,
``k`` 30, ``T`` 0.02, mIoU over all classes) and not the NeCo / Leopart linear probe
(:mod:`.linear`): always say which read-out a number comes from.
"""
import dataclasses
from typing import Dict

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import PROTOCOLS
from dense_ssl_mm.utils.errors import BadInputError
from ..metrics.knn import cell_label_distribution, transfer_labels
from ..metrics.miou import IGNORE, miou
from ..probes.linear import LinearProbe, probe_step
from .base import EvalRun, Protocol


def knn_readout(train_feats: Tensor, train_labels: Tensor, val_feats: Tensor, out_size,
                num_classes: int, k: int, temperature: float, backend: str = 'torch'
                ) -> Tensor:
    """Label transfer from a memory bank of labelled patches (as in the Hummingbird
    evaluation, Balazevic et al., NeurIPS 2023, without its augmented memory).

    Every train feature cell with labelled pixels enters the bank with its class
    distribution (ignored pixels left out); every val cell takes the softmax(cos / T)-weighted
    mean distribution of its ``k`` nearest bank entries (cosine), which is upsampled
    bilinearly to ``out_size``.

    Args:
        train_feats / val_feats: ``(N, C, h, w)`` frozen features.
        train_labels: ``(N, H, W)`` label maps (255 ignored).
        out_size: ``(H, W)`` of the predictions.

    Returns:
        ``(N_val, H, W)`` predicted classes.
    """
    n, c, h, w = val_feats.shape
    dist = cell_label_distribution(train_labels, num_classes, train_feats.shape[-2:])
    bank = F.normalize(train_feats.permute(0, 2, 3, 1).reshape(-1, c), dim=1)
    bank_labels = dist.permute(0, 2, 3, 1).reshape(-1, num_classes)
    keep = bank_labels.sum(1) > 0
    bank, bank_labels = bank[keep], bank_labels[keep] / bank_labels[keep].sum(1, keepdim=True)
    if bank.shape[0] == 0:
        raise BadInputError('no labelled pixel in the training set')
    query = F.normalize(val_feats.permute(0, 2, 3, 1).reshape(-1, c), dim=1)
    scores = transfer_labels(bank, bank_labels, query, k, temperature, backend)
    scores = scores.reshape(n, h, w, num_classes).permute(0, 3, 1, 2)
    return F.interpolate(scores, size=tuple(out_size), mode='bilinear',
                         align_corners=False).argmax(1)


def linear_readout(train_feats: Tensor, train_labels: Tensor, val_feats: Tensor,
                   num_classes: int, steps: int, lr: float, seed: int = 0) -> Tensor:
    """A :class:`~..probes.linear.LinearProbe` at the training labels' resolution, trained
    by Adam on the whole training set (one batch) for ``steps`` steps.

    Features are standardised per channel with the training statistics first. The head has
    one output per class that occurs in the training labels (a class it never sees cannot be
    learnt), so the result does not depend on how many unused classes a dataset declares.

    Returns:
        ``(N_val, H, W)`` predicted classes at the training labels' resolution.
    """
    mean = train_feats.mean((0, 2, 3), keepdim=True)
    std = train_feats.std((0, 2, 3), keepdim=True) + 1e-6
    x_train, x_val = (train_feats - mean) / std, (val_feats - mean) / std
    present = torch.unique(train_labels[train_labels != IGNORE]).long()
    if present.numel() == 0 or int(present.max()) >= num_classes:
        raise BadInputError(f'training labels must hold classes in [0, {num_classes}), got '
                            f'{present.tolist()}')
    compact = torch.full((256, ), IGNORE, dtype=torch.long, device=train_labels.device)
    compact[present] = torch.arange(len(present), device=train_labels.device)
    probe = LinearProbe(train_feats.shape[1], len(present), seed, init_std=0.01)
    probe = probe.to(train_feats.device)
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr)
    target = compact[train_labels.long()]
    for _ in range(steps):
        probe_step(probe, optimizer, x_train, target)
    return present[probe.predict(x_val, train_labels.shape[-2:])]


def knn_name(k: int, temperature: float) -> str:
    """The key of a kNN read-out that says its options: ``knn_miou@k20,T0.07``."""
    return f'knn_miou@k{k},T{temperature:g}'


def linear_name(steps: int, lr: float) -> str:
    """The key of a linear read-out that says its recipe: ``linear_miou@adam300,lr0.01``."""
    return f'linear_miou@adam{steps},lr{lr:g}'


@PROTOCOLS.register_module(name='segmentation')
@dataclasses.dataclass
class SegmentationReadout(Protocol):
    """kNN label transfer and a linear probe on frozen features of the labelled set's
    images, both resized to ``size x size``.

    Reports ``seg/<knn name>`` / ``seg/<linear name>`` (mIoU) with their ``_acc`` twins
    (pixel accuracy), e.g. ``seg/knn_miou@k20,T0.07`` and ``seg/knn_acc@k20,T0.07``.

    Args:
        size: Side of the square images and label maps.
        knn_k: Neighbours of the kNN transfer.
        knn_temperature: Softmax temperature ``T`` of the kNN weights.
        probe_steps: Adam steps of the linear probe (full batch).
        probe_lr: Its learning rate.
        backend: Nearest-neighbour search (``'torch'``, ``'faiss'`` or ``'auto'``).
    """

    size: int = 224
    knn_k: int = 20
    knn_temperature: float = 0.07
    probe_steps: int = 300
    probe_lr: float = 0.01
    backend: str = 'torch'

    needs = ('labels', )

    def names(self) -> Dict[str, str]:
        """The metric keys of this read-out's options."""
        knn = knn_name(self.knn_k, self.knn_temperature)
        linear = linear_name(self.probe_steps, self.probe_lr)
        return dict(knn_miou=f'seg/{knn}', knn_acc=f"seg/{knn.replace('miou', 'acc')}",
                    linear_miou=f'seg/{linear}',
                    linear_acc=f"seg/{linear.replace('miou', 'acc')}")

    def run(self, ev: EvalRun) -> Dict[str, object]:
        train_pairs, val_pairs, num_classes, _ = ev.labelled()
        f_train = ev.features('train', self.level, self.size).to(ev.device)
        f_val = ev.features('val', self.level, self.size).to(ev.device)
        labels_train = ev.pairs('train', self.size)[1].to(f_train.device)
        labels_val = ev.pairs('val', self.size)[1].to(f_train.device)
        knn = knn_readout(f_train, labels_train, f_val, labels_val.shape[-2:], num_classes,
                          self.knn_k, self.knn_temperature, self.backend)
        linear = linear_readout(f_train, labels_train, f_val, num_classes, self.probe_steps,
                                self.probe_lr, self.seed)
        knn_score = miou(knn, labels_val, num_classes, 'present')
        linear_score = miou(linear, labels_val, num_classes, 'present')
        names = self.names()
        return {names['linear_miou']: linear_score['miou'],
                names['linear_acc']: linear_score['acc'],
                names['knn_miou']: knn_score['miou'], names['knn_acc']: knn_score['acc'],
                'settings': self.settings(num_classes=num_classes,
                                          train_images=len(train_pairs),
                                          val_images=len(val_pairs))}


def readout_keys(metrics: Dict[str, object]) -> Dict[str, str]:
    """``{'knn': key, 'linear': key}`` of the read-out mIoUs found among ``metrics``' keys
    (whatever their options)."""
    out = {}
    for key in metrics:
        for kind in ('knn', 'linear'):
            if key.startswith(f'seg/{kind}_miou@'):
                out.setdefault(kind, key)
    return out


__all__ = ['SegmentationReadout', 'knn_name', 'knn_readout', 'linear_name', 'linear_readout',
           'readout_keys']
