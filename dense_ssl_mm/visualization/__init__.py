from .optional_tensorboard import OptionalTensorboardVisBackend
from .view_pairs import draw_view_pairs, view_pairs
from .view_segments import draw_view_segments, view_segments

__all__ = [
    'OptionalTensorboardVisBackend', 'draw_view_pairs', 'draw_view_segments', 'view_pairs',
    'view_segments'
]
