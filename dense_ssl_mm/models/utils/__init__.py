from .correspondence import (bin_diagonal, cell_centers, normalized_center_distance,
                             positive_mask, project_points, sample_matched_pairs)
from .queue import FeatureQueue

__all__ = [
    'FeatureQueue', 'sample_matched_pairs', 'bin_diagonal', 'cell_centers', 'normalized_center_distance', 'positive_mask',
    'project_points'
]
