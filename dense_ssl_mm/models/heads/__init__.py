from .dense_contrast_head import DenseContrastHead
from .instance_head import InstanceConsistencyHead

__all__ = ['DenseContrastHead', 'InstanceConsistencyHead']
