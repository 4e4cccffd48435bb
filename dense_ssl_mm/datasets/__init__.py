from .base_unlabeled import UnlabeledImageDataset
from .coco_images import COCOImageDataset
from .image_folder import ImageFolderDataset
from .image_list import ImageListDataset
from .transforms import *  # noqa: F401,F403

__all__ = [
    'UnlabeledImageDataset', 'ImageFolderDataset', 'ImageListDataset', 'COCOImageDataset'
]
