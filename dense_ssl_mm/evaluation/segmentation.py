"""Frozen-feature semantic segmentation: a linear probe and nearest-neighbour label transfer.

Both read frozen ``(N, C, h, w)`` features and ``(N, H, W)`` label maps (255 = ignore) and
return per-pixel predictions at label resolution; :func:`mean_iou` scores them.
"""
from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor

IGNORE = 255


def cell_label_distribution(labels: Tensor, num_classes: int, size) -> Tensor:
    """``(N, H, W)`` label maps -> ``(N, K, h, w)`` share of each class's pixels in each
    feature cell (ignored pixels left out; a cell without labelled pixels sums to 0)."""
    valid = labels != IGNORE
    onehot = F.one_hot(labels.clamp(max=num_classes - 1).long() * valid, num_classes)
    onehot = (onehot * valid[..., None]).permute(0, 3, 1, 2).float()  # [N, K, H, W]
    return F.adaptive_avg_pool2d(onehot, size)


def knn_segmentation(train_feats: Tensor, train_labels: Tensor, val_feats: Tensor,
                     out_size, num_classes: int, k: int = 20, temperature: float = 0.07,
                     chunk: int = 2048) -> Tensor:
    """Label transfer from a memory bank of labelled patches (as in the Hummingbird
    evaluation, Balazevic et al., NeurIPS 2023).

    Every train feature cell with labelled pixels enters the bank with its class
    distribution; every val cell takes the softmax(cos / T)-weighted mean distribution of its
    ``k`` nearest bank entries (cosine), which is upsampled bilinearly to ``out_size``.

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
        raise ValueError('no labelled pixel in the training set')
    k = min(k, bank.shape[0])
    query = F.normalize(val_feats.permute(0, 2, 3, 1).reshape(-1, c), dim=1)
    preds = []
    for start in range(0, query.shape[0], chunk):  # [chunk, bank] similarities at a time
        sim, idx = (query[start:start + chunk] @ bank.t()).topk(k, dim=1)
        weight = (sim / temperature).softmax(1)  # [chunk, k]
        preds.append((weight[..., None] * bank_labels[idx]).sum(1))
    scores = torch.cat(preds).reshape(n, h, w, num_classes).permute(0, 3, 1, 2)
    return F.interpolate(scores, size=out_size, mode='bilinear', align_corners=False).argmax(1)


def linear_probe_segmentation(train_feats: Tensor, train_labels: Tensor, val_feats: Tensor,
                              num_classes: int, steps: int = 300, lr: float = 0.01,
                              seed: int = 0) -> Tensor:
    """A 1x1 conv on frozen features, upsampled bilinearly to the label maps, trained with
    cross-entropy (255 ignored) by Adam on the whole training set for ``steps`` steps.

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
        raise ValueError(f'training labels must hold classes in [0, {num_classes}), got '
                         f'{present.tolist()}')
    compact = torch.full((256, ), IGNORE, dtype=torch.long, device=train_labels.device)
    compact[present] = torch.arange(len(present), device=train_labels.device)
    generator = torch.Generator().manual_seed(seed)
    head = torch.nn.Conv2d(train_feats.shape[1], len(present), 1).to(train_feats.device)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.01)
        head.bias.zero_()
    optimizer = torch.optim.Adam(head.parameters(), lr=lr)
    size = train_labels.shape[-2:]
    target = compact[train_labels.long()]
    with torch.enable_grad():
        for _ in range(steps):
            logits = F.interpolate(head(x_train), size=size, mode='bilinear',
                                   align_corners=False)
            loss = F.cross_entropy(logits, target, ignore_index=IGNORE)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        return present[F.interpolate(head(x_val), size=size, mode='bilinear',
                                     align_corners=False).argmax(1)]


def mean_iou(pred: Tensor, labels: Tensor, num_classes: int,
             ignore_index: Optional[int] = IGNORE) -> Dict[str, float]:
    """mIoU over the classes that occur in the labels or the predictions (pixels summed over
    the whole set, as mmseg's IoUMetric), and pixel accuracy."""
    valid = labels != ignore_index
    p, t = pred[valid].long(), labels[valid].long()
    area = torch.bincount(t * num_classes + p, minlength=num_classes ** 2)
    confusion = area.reshape(num_classes, num_classes).double()
    inter = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - inter
    present = union > 0
    return {'miou': float((inter[present] / union[present]).mean()) if present.any() else 0.0,
            'acc': float(inter.sum() / confusion.sum().clamp(min=1))}
