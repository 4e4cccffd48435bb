"""All images under a folder, found recursively (ImageNet ``train/``, any domain folder)."""
import os
import os.path as osp
from typing import List, Sequence

from dense_ssl_mm.registry import DATASETS
from .base_unlabeled import UnlabeledImageDataset

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


@DATASETS.register_module()
class ImageFolderDataset(UnlabeledImageDataset):
    """Every image file below ``data_prefix['img_path']`` (or ``data_root``), sorted.

    Args:
        extensions: File suffixes counted as images (case-insensitive).
        **kwargs: See :class:`UnlabeledImageDataset`.
    """

    def __init__(self, extensions: Sequence[str] = IMG_EXTENSIONS, **kwargs) -> None:
        self.extensions = tuple(e.lower() for e in extensions)
        super().__init__(**kwargs)

    def list_images(self) -> List[str]:
        root = self.img_root
        if not osp.isdir(root):
            raise FileNotFoundError(f'ImageFolderDataset: image folder {root!r} does not exist')
        found = []
        for folder, _, files in os.walk(root, followlinks=True):
            found += [osp.relpath(osp.join(folder, f), root) for f in files
                      if f.lower().endswith(self.extensions)]
        return sorted(found)
