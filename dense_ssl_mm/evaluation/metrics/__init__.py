"""Metric primitives shared by the evaluation protocols (each exists once, here)."""
from .knn import cell_label_distribution, faiss_backend, nearest, transfer_labels
from .matching import match_ids, matched_miou
from .miou import IGNORE, confusion_matrix, iou_scores, miou

__all__ = ['IGNORE', 'cell_label_distribution', 'confusion_matrix', 'faiss_backend',
           'iou_scores', 'match_ids', 'matched_miou', 'miou', 'nearest', 'transfer_labels']
