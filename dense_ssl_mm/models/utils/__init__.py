from .correspondence import (bin_diagonal, cell_centers, normalized_center_distance,
                             positive_mask, project_points)

__all__ = [
    'bin_diagonal', 'cell_centers', 'normalized_center_distance', 'positive_mask',
    'project_points'
]
