from .crop import RandomResizedCropWithBox
from .device_views import PackImageForDeviceViews
from .formatting import PackViews
from .masks import LoadFHMask, MasksToViews, crop_mask
from .multi_view import MultiViewTransform, PairedViewTransform
from .photometric import ColorJitter, GaussianBlur, Solarize

__all__ = [
    'PackImageForDeviceViews',
    'RandomResizedCropWithBox', 'PackViews', 'MultiViewTransform',
    'PairedViewTransform', 'ColorJitter', 'GaussianBlur', 'Solarize', 'LoadFHMask',
    'MasksToViews', 'crop_mask'
]
