"""The confusion matrix of a segmentation and the IoU scores read from it.

One implementation for every protocol: the quick read-outs score over the classes that occur
(as mmseg's ``IoUMetric``), Hungarian / many-to-one matched protocols fold a ``(G, P)``
matrix to ``(G, G)`` first (:mod:`.matching`) and score over all classes (the references).
"""
from typing import Dict, Optional

import torch
from torch import Tensor

from dense_ssl_mm.utils.errors import BadInputError

IGNORE = 255
CLASSES = ('all', 'present')


def confusion_matrix(pred: Tensor, labels: Tensor, num_classes: int,
                     num_pred: Optional[int] = None, ignore_index: int = IGNORE) -> Tensor:
    """``(G, P)`` float64 pixel counts of (class, predicted id), one bincount.

    Args:
        pred: Predicted ids, any shape, values in ``[0, num_pred)``.
        labels: Classes of the same shape, values in ``[0, num_classes)`` or ``ignore_index``
            (left out).
        num_classes: ``G``.
        num_pred: ``P`` (default ``G``).
        ignore_index: The label of unlabelled pixels.
    """
    num_pred = num_pred or num_classes
    valid = labels != ignore_index
    t, p = labels[valid].long(), pred[valid].long()
    if t.numel() and (int(t.max()) >= num_classes or int(p.max()) >= num_pred
                      or int(t.min()) < 0 or int(p.min()) < 0):
        raise ValueError(f'labels must lie in [0, {num_classes}) and predictions in '
                         f'[0, {num_pred}); got up to {int(t.max())} and {int(p.max())}')
    counts = torch.bincount(t * num_pred + p, minlength=num_classes * num_pred)
    return counts.reshape(num_classes, num_pred).double()


def iou_scores(confusion: Tensor, classes: str = 'all') -> Dict[str, object]:
    """IoU per class of a square ``(G, G)`` confusion matrix, their mean and pixel accuracy.

    Args:
        confusion: Rows are classes, columns predictions (the same ids).
        classes: ``'all'``: the mean over every class (a class absent from labels and
            predictions counts 0, as the Hummingbird / Leopart references); ``'present'``: over
            the classes that occur in the labels or the predictions (as mmseg's ``IoUMetric``;
            0 when none does).

    Returns:
        ``miou``, ``acc`` and ``per_class_iou`` (a list of ``G`` floats).
    """
    if classes not in CLASSES:
        raise BadInputError(f'classes must be one of {CLASSES}, got {classes!r}')
    inter = confusion.diag()
    union = confusion.sum(0) + confusion.sum(1) - inter
    iou = inter / union.clamp(min=1e-8)
    if classes == 'all':
        mean = float(iou.mean())
    else:
        present = union > 0
        mean = float(iou[present].mean()) if present.any() else 0.0
    return dict(miou=mean, acc=float(inter.sum() / confusion.sum().clamp(min=1)),
                per_class_iou=iou.tolist())


def miou(pred: Tensor, labels: Tensor, num_classes: int, classes: str = 'all',
         ignore_index: int = IGNORE) -> Dict[str, object]:
    """mIoU of class predictions (pixels summed over the whole set): :func:`iou_scores` of
    :func:`confusion_matrix`."""
    return iou_scores(confusion_matrix(pred, labels, num_classes, num_classes, ignore_index),
                      classes)
