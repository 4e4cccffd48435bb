"""Dense evaluation: registered protocols (:mod:`.protocols`) on frozen features, the metric
primitives they share (:mod:`.metrics`, :mod:`.probes`), and the machinery around them
(features and their cache, views, labelled sets, reports, health monitors, pictures)."""
from .features import (BATCH_SIZE, DEFAULT_LEVEL, LEVELS, FeatureCache, build_eval_model,
                       extract_features, feature_fn, features_of, model_stride)
from .images import list_images, load_images
from .metrics import confusion_matrix, matched_miou, miou
from .metrics.pck import match_errors, nearest_cells, summarize, true_locations
from .pictures import match_lines, pca_grid, pca_rgb, save_png, similarity_map
from .protocols import (EvalRun, Protocol, evaluate_correspondence, knn_readout,
                        linear_readout)
from .report import (build_protocol, dense_eval, protocol_names, protocol_options,
                     run_protocols, summary_line)
from .seg_data import count_classes, folder_pairs, load_pairs, mmseg_pairs
from .views import make_view_batch, make_view_pair

__all__ = [
    'BATCH_SIZE', 'DEFAULT_LEVEL', 'EvalRun', 'FeatureCache', 'LEVELS', 'Protocol',
    'build_eval_model', 'build_protocol', 'confusion_matrix', 'count_classes', 'dense_eval',
    'evaluate_correspondence', 'extract_features', 'feature_fn', 'features_of',
    'folder_pairs', 'knn_readout', 'linear_readout', 'list_images', 'load_images',
    'load_pairs', 'make_view_batch', 'make_view_pair', 'match_errors', 'match_lines',
    'matched_miou', 'miou', 'mmseg_pairs', 'model_stride', 'nearest_cells', 'pca_grid',
    'pca_rgb', 'protocol_names', 'protocol_options', 'run_protocols', 'save_png',
    'similarity_map', 'summarize', 'summary_line', 'true_locations'
]
