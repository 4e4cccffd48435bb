from .feature_argmax import FeatureArgmax
from .geometric_positives import GeometricPositives
from .matched_pixel_pairs import MatchedPixelPairs
from .matches import CellMask, PointPairs, gather_cells, gather_keys, gather_pairs
from .whole_image import WholeImage

__all__ = [
    'CellMask', 'FeatureArgmax', 'GeometricPositives', 'MatchedPixelPairs', 'PointPairs',
    'WholeImage', 'gather_cells', 'gather_keys', 'gather_pairs'
]
