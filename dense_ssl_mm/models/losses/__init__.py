from .base import Objective
from .detcon_contrast import DetConLoss, detcon_one_way
from .instance_consistency import InstanceConsistencyLoss, instance_consistency_loss
from .neighbour_sorting import (NeighbourSortingLoss, neighbour_sorting_loss,
                                similarity_permutations)
from .pixcontrast_infonce import PixContrastLoss, pixcontrast_loss
from .pixpro_consistency import PixProConsistencyLoss, pixpro_consistency_loss
from .queue_infonce import QueueInfoNCELoss, queue_infonce_loss
from .vicreg import (VICRegGlobalLoss, VICRegLocalLoss, covariance_term, variance_term,
                     vicreg_terms)

__all__ = [
    'DetConLoss', 'InstanceConsistencyLoss', 'NeighbourSortingLoss', 'Objective',
    'PixContrastLoss', 'PixProConsistencyLoss', 'QueueInfoNCELoss', 'VICRegGlobalLoss',
    'VICRegLocalLoss', 'covariance_term', 'detcon_one_way', 'instance_consistency_loss',
    'neighbour_sorting_loss', 'pixcontrast_loss', 'pixpro_consistency_loss',
    'queue_infonce_loss', 'similarity_permutations', 'variance_term', 'vicreg_terms'
]
