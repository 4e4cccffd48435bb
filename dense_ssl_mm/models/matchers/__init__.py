from .feature_argmax import FeatureArgmax
from .geometric_positives import GeometricPositives
from .matched_pixel_pairs import MatchedPixelPairs
from .matches import (CellMask, Direction, MatchContext, Matches, PointPairs, Size,
                      TwoWayPairs, gather_cells, gather_keys, gather_pairs)
from .nearest_cells import FeatureNearest, LocationNearest, select_nearest
from .whole_image import WholeImage

__all__ = [
    'CellMask', 'Direction', 'FeatureArgmax', 'FeatureNearest', 'GeometricPositives',
    'LocationNearest', 'MatchContext', 'MatchedPixelPairs', 'Matches', 'PointPairs', 'Size',
    'TwoWayPairs', 'WholeImage', 'gather_cells', 'gather_keys', 'gather_pairs',
    'select_nearest'
]
