"""Dense evaluation: label-free correspondence PCK, frozen-feature segmentation, pictures."""
from .correspondence_pck import match_errors, nearest_cells, summarize, true_locations
from .evaluate import (evaluate_correspondence, evaluate_segmentation, features_of,
                       load_images)
from .features import LEVELS, build_eval_model, extract_features, model_stride
from .pictures import match_lines, pca_grid, pca_rgb, save_png, similarity_map
from .segmentation import (cell_label_distribution, knn_segmentation,
                           linear_probe_segmentation, mean_iou)
from .report import PROTOCOLS, dense_eval, list_images, run_protocols, summary_line
from .seg_data import count_classes, folder_pairs, load_pairs, mmseg_pairs
from .views import make_view_batch, make_view_pair

__all__ = [
    'PROTOCOLS', 'run_protocols',
    'LEVELS', 'build_eval_model', 'cell_label_distribution', 'count_classes', 'dense_eval',
    'evaluate_correspondence', 'evaluate_segmentation', 'extract_features', 'features_of',
    'folder_pairs', 'knn_segmentation', 'linear_probe_segmentation', 'list_images',
    'load_images', 'load_pairs', 'make_view_batch', 'make_view_pair', 'match_errors',
    'match_lines', 'mean_iou', 'mmseg_pairs', 'model_stride', 'nearest_cells', 'pca_grid',
    'pca_rgb', 'save_png', 'similarity_map', 'summarize', 'summary_line', 'true_locations'
]
