"""All images under a folder, found recursively (ImageNet ``train/``, any domain folder)."""
import os
import os.path as osp
from typing import List, Sequence

from dense_ssl_mm.registry import DATASETS
from dense_ssl_mm.utils.errors import BadInputFileError
from dense_ssl_mm.utils.files import IMAGE_EXTENSIONS as IMG_EXTENSIONS
from dense_ssl_mm.utils.files import has_extension
from .base_unlabeled import UnlabeledImageDataset


@DATASETS.register_module()
class ImageFolderDataset(UnlabeledImageDataset):
    """Every image file below ``data_prefix['img_path']`` (or ``data_root``), sorted.

    Symbolic links are followed, but every real folder is visited once and every real file
    listed once (under the first path that reaches it in sorted order), so link loops
    (``a/up -> ..``) and links to the same folder neither hang the scan nor repeat images.

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
            raise BadInputFileError(f'ImageFolderDataset: image folder {root!r} does not exist')
        found, seen_dirs, seen_files = [], {osp.realpath(root)}, set()
        for folder, dirs, files in os.walk(root, followlinks=True):
            dirs.sort()
            kept = []
            for name in dirs:  # prune folders already visited through another path
                real = osp.realpath(osp.join(folder, name))
                if real not in seen_dirs:
                    seen_dirs.add(real)
                    kept.append(name)
            dirs[:] = kept
            for name in sorted(files):
                path = osp.join(folder, name)
                real = osp.realpath(path)
                if has_extension(name, self.extensions) and real not in seen_files:
                    seen_files.add(real)
                    found.append(osp.relpath(path, root))
        return sorted(found)
