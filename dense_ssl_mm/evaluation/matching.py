"""Scoring predictions whose ids are not class ids: Hungarian and many-to-one matching.

The unsupervised protocols (Hummingbird's retrieval, overclustering) predict ids that must be
matched to classes before an mIoU means anything. As the references (open-hummingbird-eval's
``PredsmIoU``, Leopart): a ``G x P`` confusion of classes (rows; 255 ignored) and predicted
ids (columns); **Hungarian** matching maximises the summed IoU of a one-to-one assignment
(unassigned ids count as class 0); **many-to-one** sends every id to the class it is most
*precise* for (``TP / predicted pixels``), so several clusters may form one class. The mIoU
is the mean over all ``G`` classes (a class with no pixel anywhere counts 0).
"""
from typing import Dict

import torch
from torch import Tensor

IGNORE = 255
MODES = ('hungarian', 'many_to_one', 'identity')


def faiss_backend(backend: str):
    """The ``faiss`` module when ``backend`` asks for it (``'faiss'``: required; ``'auto'``:
    when installed), else None (``'torch'``, or ``'auto'`` without faiss)."""
    if backend not in ('auto', 'faiss', 'torch'):
        raise ValueError(f"backend must be 'auto', 'faiss' or 'torch', got {backend!r}")
    if backend == 'torch':
        return None
    try:
        import faiss
    except ImportError:
        if backend == 'faiss':
            raise
        return None
    return faiss


def confusion_matrix(pred: Tensor, labels: Tensor, num_classes: int,
                     num_pred: int) -> Tensor:
    """``(G, P)`` float64 pixel counts of (class, predicted id), ignoring label 255."""
    valid = labels != IGNORE
    t, p = labels[valid].long(), pred[valid].long()
    if t.numel() and (int(t.max()) >= num_classes or int(p.max()) >= num_pred):
        raise ValueError(f'labels must lie in [0, {num_classes}) and predictions in '
                         f'[0, {num_pred}); got up to {int(t.max())} and {int(p.max())}')
    counts = torch.bincount(t * num_pred + p, minlength=num_classes * num_pred)
    return counts.reshape(num_classes, num_pred).double()


def match_ids(confusion: Tensor, mode: str = 'hungarian') -> Tensor:
    """``(P,)`` class of every predicted id."""
    num_classes, num_pred = confusion.shape
    if mode == 'identity':
        if num_pred != num_classes:
            raise ValueError(f'identity matching needs as many ids ({num_pred}) as classes '
                             f'({num_classes})')
        return torch.arange(num_pred)
    rows, cols = confusion.sum(1, keepdim=True), confusion.sum(0, keepdim=True)
    if mode == 'many_to_one':
        return (confusion / cols.clamp(min=1e-8)).argmax(0)
    if mode != 'hungarian':
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    from scipy.optimize import linear_sum_assignment
    iou = confusion / (rows + cols - confusion).clamp(min=1e-8)
    gt, pred = linear_sum_assignment(1.0 - iou.numpy())
    mapping = torch.zeros(num_pred, dtype=torch.long)
    mapping[torch.as_tensor(pred, dtype=torch.long)] = torch.as_tensor(gt, dtype=torch.long)
    return mapping


def matched_miou(pred: Tensor, labels: Tensor, num_classes: int, num_pred: int = None,
                 mode: str = 'hungarian') -> Dict[str, object]:
    """mIoU (over all classes) after matching predicted ids to classes."""
    num_pred = num_pred or num_classes
    confusion = confusion_matrix(pred, labels, num_classes, num_pred)
    mapping = match_ids(confusion, mode)
    folded = torch.zeros(num_classes, num_classes, dtype=torch.float64)
    folded.index_add_(1, mapping, confusion)
    tp = folded.diag()
    iou = tp / (folded.sum(0) + folded.sum(1) - tp).clamp(min=1e-8)
    identity = num_pred == num_classes and torch.equal(mapping, torch.arange(num_pred))
    return dict(miou=float(iou.mean()), per_class_iou=iou.tolist(), identity_mapping=identity)
