from .correspondence import (bin_diagonal, cell_centers, normalized_center_distance,
                             positive_mask, project_points, reference_boxes,
                             sample_matched_pairs)
from .batch_shuffle import batch_shuffle, batch_unshuffle
from .queue import FeatureQueue
from .strict_pretrained import StrictPretrainedInit, fit_report

__all__ = [
    'FeatureQueue', 'batch_shuffle', 'batch_unshuffle', 'StrictPretrainedInit', 'bin_diagonal', 'cell_centers', 'fit_report',
    'normalized_center_distance', 'positive_mask', 'project_points', 'reference_boxes',
    'sample_matched_pairs'
]
