from .optional_tensorboard import OptionalTensorboardVisBackend
from .view_pairs import draw_view_pairs, view_pairs

__all__ = ['OptionalTensorboardVisBackend', 'draw_view_pairs', 'view_pairs']
