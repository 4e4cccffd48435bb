from .crop import RandomResizedCropWithBox, box_overlap_area
from .device_views import PackImageForDeviceViews
from .formatting import PackViews
from .masks import LoadFHMask, MasksToViews, crop_mask
from .multi_view import MultiViewTransform
from .photometric import ColorJitter, GaussianBlur, Solarize

__all__ = [
    'PackImageForDeviceViews',
    'RandomResizedCropWithBox', 'box_overlap_area', 'PackViews', 'MultiViewTransform',
    'ColorJitter', 'GaussianBlur', 'Solarize', 'LoadFHMask', 'MasksToViews', 'crop_mask'
]
