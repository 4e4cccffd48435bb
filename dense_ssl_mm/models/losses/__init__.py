from .pixcontrast_infonce import PixContrastLoss, pixcontrast_loss
from .pixpro_consistency import PixProConsistencyLoss, pixpro_consistency_loss
from .queue_infonce import QueueInfoNCELoss, queue_infonce_loss

__all__ = [
    'PixContrastLoss', 'PixProConsistencyLoss', 'QueueInfoNCELoss', 'pixcontrast_loss',
    'pixpro_consistency_loss', 'queue_infonce_loss'
]
