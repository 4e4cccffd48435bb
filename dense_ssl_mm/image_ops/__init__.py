"""Image operations shared by the CPU transforms, the device views and the evaluation:
colour jitter with its luma (:mod:`.color`) and antialiased resizing (:mod:`.resize`).
Imports nothing of the package above ``utils``."""
from .color import (LUMA_BGR, LUMA_RGB, adjust_brightness, adjust_contrast, adjust_hue,
                    adjust_hue_image, adjust_saturation, color_jitter, jitter_image,
                    jitter_ranges, luma)
from .resize import crop_resize, resize_antialiased, resize_like_pil, supersample_bound

__all__ = [
    'LUMA_BGR', 'LUMA_RGB', 'adjust_brightness', 'adjust_contrast', 'adjust_hue',
    'adjust_hue_image', 'adjust_saturation', 'color_jitter', 'crop_resize', 'jitter_image',
    'jitter_ranges', 'luma', 'resize_antialiased', 'resize_like_pil', 'supersample_bound'
]
