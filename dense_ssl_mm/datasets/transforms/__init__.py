from .crop import RandomResizedCropWithBox, box_overlap_area
from .device_views import PackImageForDeviceViews
from .formatting import PackPairedViews
from .paired_view import PairedViewTransform
from .photometric import ColorJitter, GaussianBlur, Solarize

__all__ = [
    'PackImageForDeviceViews',
    'RandomResizedCropWithBox', 'box_overlap_area', 'PackPairedViews', 'PairedViewTransform',
    'ColorJitter', 'GaussianBlur', 'Solarize'
]
