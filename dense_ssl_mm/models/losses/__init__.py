from .detcon_contrast import DetConLoss, detcon_one_way
from .pixcontrast_infonce import PixContrastLoss, pixcontrast_loss
from .pixpro_consistency import PixProConsistencyLoss, pixpro_consistency_loss
from .queue_infonce import QueueInfoNCELoss, queue_infonce_loss
from .vicreg import (VICRegGlobalLoss, VICRegLocalLoss, covariance_term, variance_term,
                     vicreg_terms)

__all__ = [
    'DetConLoss', 'PixContrastLoss', 'PixProConsistencyLoss', 'QueueInfoNCELoss',
    'VICRegGlobalLoss', 'VICRegLocalLoss', 'covariance_term', 'detcon_one_way',
    'pixcontrast_loss', 'pixpro_consistency_loss', 'queue_infonce_loss', 'variance_term',
    'vicreg_terms'
]
