from .batch_shuffle import batch_shuffle, batch_unshuffle
from .correspondence import (bin_diagonal, cell_centers, normalized_center_distance,
                             positive_mask, project_points, reference_boxes,
                             sample_matched_pairs)
from .queue import FeatureQueue
from .strict_pretrained import StrictPretrainedInit, fit_report

__all__ = [
    'FeatureQueue', 'StrictPretrainedInit', 'batch_shuffle', 'batch_unshuffle', 'bin_diagonal',
    'cell_centers', 'fit_report', 'normalized_center_distance', 'positive_mask',
    'project_points', 'reference_boxes', 'sample_matched_pairs'
]
