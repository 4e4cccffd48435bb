"""Unlabelled evaluation images: listed from a folder or a text file, read as tensors."""
import os
import os.path as osp
from typing import List, Optional, Sequence

import cv2
from torch import Tensor

from dense_ssl_mm.image_ops.resize import resize_antialiased
from dense_ssl_mm.utils.errors import BadInputError, BadInputFileError
from dense_ssl_mm.utils.files import has_extension
from .seg_data import IMG_EXT
from .views import to_tensor


def list_images(folder: str, limit: Optional[int] = None) -> list:
    """Sorted image files directly in or below ``folder``, or the images a text file lists
    (one path per line, relative to the file's folder; ``#`` comments), the first ``limit``.
    """
    if osp.isfile(folder):
        root = osp.dirname(osp.abspath(folder))
        with open(folder) as f:
            names = [line.split('#', 1)[0].strip() for line in f]
        paths = [osp.join(root, name) for name in names if name]
        missing = [p for p in paths if not osp.isfile(p)]
        if missing:
            raise BadInputFileError(f'{folder!r} lists images that do not exist: {missing[:3]}')
    elif osp.isdir(folder):
        paths = sorted(osp.join(d, f) for d, _, files in os.walk(folder) for f in files
                       if has_extension(f, IMG_EXT))
    else:
        raise BadInputFileError(f'image folder or list {folder!r} does not exist')
    if not paths:
        raise BadInputFileError(f'no images in {folder!r}')
    return paths[:limit] if limit else paths


def load_images(paths: Sequence[str], max_side: Optional[int] = 512) -> List[Tensor]:
    """RGB ``(3, H, W)`` float tensors; images whose shorter side exceeds ``max_side`` are
    shrunk (antialiased) so that it equals ``max_side``: views are cut from that copy."""
    images = []
    for path in paths:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise BadInputError(f'cannot read image {path!r}')
        tensor = to_tensor(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        short = min(tensor.shape[-2:])
        if max_side and short > max_side:
            size = [round(s * max_side / short) for s in tensor.shape[-2:]]
            tensor = resize_antialiased(tensor, size)
        images.append(tensor)
    return images
