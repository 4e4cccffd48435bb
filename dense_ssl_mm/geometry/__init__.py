"""View geometry shared by the CPU transforms, the device views and the evaluation: the
random-resized-crop box draw (:mod:`.crop_boxes`) and view-to-feature-cell correspondence
(:mod:`.correspondence`). Imports nothing of the package above ``utils``."""
from .correspondence import (bin_diagonal, cell_centers, normalized_center_distance,
                             positive_mask, project_points, reference_boxes,
                             sample_matched_pairs, shared_region_boxes)
from .crop_boxes import (NumpyDraws, TorchDraws, box_overlap_area, central_box, draw_crop_box,
                         draw_crop_boxes)

__all__ = [
    'NumpyDraws', 'TorchDraws', 'bin_diagonal', 'box_overlap_area', 'cell_centers',
    'central_box', 'draw_crop_box', 'draw_crop_boxes', 'normalized_center_distance',
    'positive_mask', 'project_points', 'reference_boxes', 'sample_matched_pairs',
    'shared_region_boxes'
]
