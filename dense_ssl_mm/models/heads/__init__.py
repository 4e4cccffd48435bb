from .dense_contrast_head import DenseContrastHead

__all__ = ['DenseContrastHead']
