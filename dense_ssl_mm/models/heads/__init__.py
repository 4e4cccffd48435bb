from .dense_contrast_head import (DenseContrastHead, pixcontrast_loss,
                                  pixpro_consistency_loss, vader_nce_loss)
from .instance_head import InstanceConsistencyHead

__all__ = [
    'DenseContrastHead', 'InstanceConsistencyHead', 'pixcontrast_loss', 'pixpro_consistency_loss',
    'vader_nce_loss'
]
