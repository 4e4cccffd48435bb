"""Scoring predictions whose ids are not class ids: Hungarian and many-to-one matching.

The unsupervised protocols (Hummingbird's retrieval, overclustering) predict ids that must be
matched to classes before an mIoU means anything. As the references (open-hummingbird-eval's
``PredsmIoU``, Leopart): a ``G x P`` confusion of classes (rows; 255 ignored) and predicted
ids (columns); **Hungarian** matching maximises the summed IoU of a one-to-one assignment
(unassigned ids count as class 0); **many-to-one** sends every id to the class it is most
*precise* for (``TP / predicted pixels``), so several clusters may form one class. The mIoU
is the mean over all ``G`` classes (a class with no pixel anywhere counts 0).
"""
from typing import Dict, Optional

import torch
from torch import Tensor

from dense_ssl_mm.utils.errors import BadInputError
from .miou import confusion_matrix, iou_scores

MODES = ('hungarian', 'many_to_one', 'identity')


def match_ids(confusion: Tensor, mode: str = 'hungarian') -> Tensor:
    """``(P,)`` class of every predicted id of a ``(G, P)`` confusion matrix."""
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
        raise BadInputError(f'mode must be one of {MODES}, got {mode!r}')
    from scipy.optimize import linear_sum_assignment
    iou = confusion / (rows + cols - confusion).clamp(min=1e-8)
    gt, pred = linear_sum_assignment(1.0 - iou.cpu().numpy())
    mapping = torch.zeros(num_pred, dtype=torch.long)
    mapping[torch.as_tensor(pred, dtype=torch.long)] = torch.as_tensor(gt, dtype=torch.long)
    return mapping


def matched_miou(pred: Tensor, labels: Tensor, num_classes: int,
                 num_pred: Optional[int] = None, mode: str = 'hungarian') -> Dict[str, object]:
    """mIoU over all classes after matching predicted ids to classes.

    Args:
        pred: Predicted ids in ``[0, num_pred)``, any shape.
        labels: Classes of the same shape (255 ignored).
        num_classes: ``G``.
        num_pred: ``P`` (default ``G``).
        mode: One of :data:`MODES`.

    Returns:
        ``miou``, ``per_class_iou`` and ``identity_mapping`` (the matching kept every id).
    """
    num_pred = num_pred or num_classes
    confusion = confusion_matrix(pred, labels, num_classes, num_pred).cpu()
    mapping = match_ids(confusion, mode)
    folded = torch.zeros(num_classes, num_classes, dtype=torch.float64)
    folded.index_add_(1, mapping, confusion)
    scores = iou_scores(folded, 'all')
    identity = num_pred == num_classes and torch.equal(mapping, torch.arange(num_pred))
    return dict(miou=scores['miou'], per_class_iou=scores['per_class_iou'],
                identity_mapping=identity)
