from .batch_shuffle import batch_shuffle, batch_unshuffle
from .correspondence import (bin_diagonal, cell_centers, normalized_center_distance,
                             positive_mask, project_points, reference_boxes,
                             sample_matched_pairs, shared_region_boxes)
from .mask_pooling import cell_segments, pool_segments, sample_segments
from .queue import FeatureQueue, ReferenceQueue
from .region_align import align_shared_regions
from .sorting import bitonic_layers, soft_sort
from .strict_pretrained import StrictPretrainedInit, fit_report

__all__ = [
    'FeatureQueue', 'ReferenceQueue', 'StrictPretrainedInit', 'align_shared_regions',
    'batch_shuffle', 'batch_unshuffle', 'bin_diagonal', 'bitonic_layers', 'cell_centers',
    'cell_segments', 'fit_report', 'normalized_center_distance', 'pool_segments',
    'positive_mask', 'project_points', 'reference_boxes', 'sample_matched_pairs',
    'sample_segments', 'shared_region_boxes', 'soft_sort'
]
