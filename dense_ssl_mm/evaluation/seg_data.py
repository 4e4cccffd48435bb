"""Labelled sets for the frozen-feature segmentation protocol: a plain folder or an mmseg
dataset config, both read into fixed-size tensors."""
import logging
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmengine.logging import print_log
from PIL import Image
from torch import Tensor

from dense_ssl_mm.image_ops.resize import resize_antialiased
from dense_ssl_mm.utils.errors import BadInputError, BadInputFileError, BadInputKeyError
from dense_ssl_mm.utils.files import MASK_EXTENSIONS, find_by_stem, list_image_files
from .metrics.miou import IGNORE
from .views import to_tensor

Pairs = List[Tuple[str, str]]
IMG_EXT = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def folder_pairs(root: str, split: str) -> Pairs:
    """``(image, mask)`` paths of ``split`` in a folder layout.

    ``root/images/<split>/NAME.jpg`` with ``root/masks/<split>/NAME.png`` (subfolders), or
    ``root/images/NAME.jpg`` + ``root/masks/NAME.png`` with ``root/<split>.txt`` listing
    NAME per line. Masks are label maps: value = class index, 255 = ignore.
    """
    listing = osp.join(root, f'{split}.txt')
    if osp.isdir(osp.join(root, 'images', split)):
        img_dir, mask_dir = osp.join(root, 'images', split), osp.join(root, 'masks', split)
        names = sorted(osp.splitext(f)[0] for f in list_image_files(img_dir, IMG_EXT))
    elif osp.isfile(listing):
        img_dir, mask_dir = osp.join(root, 'images'), osp.join(root, 'masks')
        names = [ln.split()[0] for ln in open(listing).read().splitlines() if ln.strip()]
    else:
        raise BadInputFileError(f'{root!r} has neither images/{split}/ nor {split}.txt')
    pairs = []
    images = find_by_stem(img_dir, names, IMG_EXT)  # any case: train_0.JPG, train_0.PNG
    masks = find_by_stem(mask_dir, names, MASK_EXTENSIONS)
    for name in names:
        image, mask = images[name], masks[name]
        if image is None or mask is None:
            raise BadInputFileError(f'{split} sample {name!r} of {root!r}: image '
                                    f'{image or osp.join(img_dir, name + ".*")} or mask '
                                    f'{mask or osp.join(mask_dir, name + ".png")} is missing')
        pairs.append((image, mask))
    if not pairs:
        raise BadInputFileError(f'no {split} images in {root!r}')
    return pairs


def mmseg_pairs(config: str, split: str) -> Tuple[Pairs, int, bool]:
    """``(image, mask)`` paths, class count and ``reduce_zero_label`` of an mmseg dataset
    config's ``train_dataloader`` / ``val_dataloader`` dataset (VOC, ADE20K, Cityscapes)."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(config)
    key = 'train_dataloader' if split == 'train' else 'val_dataloader'
    if key not in cfg:
        raise BadInputKeyError(f'{config!r} has no {key}')
    ds_cfg = cfg[key].dataset.copy()
    ds_cfg.pipeline = []
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = DATASETS.build(ds_cfg)
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    pairs = [(d['img_path'], d['seg_map_path']) for d in infos]
    return pairs, len(dataset.metainfo['classes']), bool(ds_cfg.get('reduce_zero_label', False))


def check_mask(mask: np.ndarray, image_shape, image_path: str, mask_path: str,
               num_classes: Optional[int] = None) -> None:
    """Refuse a mask that does not fit its image (one line naming both files and sizes) or
    that holds a class id outside ``[0, num_classes)`` (255 = ignore)."""
    if mask.shape[:2] != tuple(image_shape[:2]):
        raise BadInputError(f'mask {mask_path!r} is {mask.shape[1]} x {mask.shape[0]} but its '
                            f'image {image_path!r} is {image_shape[1]} x {image_shape[0]} '
                            '(width x height); a mask must have its image\'s size')
    if num_classes is not None:
        ids = mask[mask != IGNORE]
        if ids.size and (int(ids.max()) >= num_classes or int(ids.min()) < 0):
            bad = int(ids.max()) if int(ids.max()) >= num_classes else int(ids.min())
            raise BadInputError(f'mask {mask_path!r} holds class id {bad}, outside the '
                                f'{num_classes} classes [0, {num_classes}) (255 = ignore)')


def reduce_zero(mask: np.ndarray) -> np.ndarray:
    """mmseg's ``reduce_zero_label``: 0 -> 255 (ignore), k -> k - 1, 255 stays 255."""
    mask = np.where(mask == 0, IGNORE, mask.astype(np.int64) - 1)
    mask[mask == IGNORE - 1] = IGNORE
    return mask


def load_pairs(pairs: Pairs, size: int, reduce_zero_label: bool = False,
               num_classes: Optional[int] = None) -> Tuple[Tensor, Tensor]:
    """Images ``(N, 3, size, size)`` in [0, 255] (antialiased resize) and label maps
    ``(N, size, size)`` uint8 (nearest resize; ``reduce_zero_label``: 0 -> 255, k -> k - 1).

    A mask of another size than its image, or (given ``num_classes``) with a class id
    outside ``[0, num_classes)`` after the reduction, is refused naming the file."""
    images, labels = [], []
    for image_path, mask_path in pairs:
        img = cv2.imread(image_path, cv2.IMREAD_COLOR)
        if img is None:
            raise BadInputError(f'cannot read image {image_path!r}')
        try:  # PIL keeps the indices of palette PNGs (VOC), as mmseg reads them
            mask = np.array(Image.open(mask_path))
        except OSError as err:
            raise BadInputError(f'cannot read mask {mask_path!r}: {err}') from err
        if mask.ndim == 3:
            raise BadInputError(f'mask {mask_path!r} has {mask.shape[2]} channels; expected a '
                                'single-channel label map (class index per pixel, 255 = ignore)')
        mask = mask.astype(np.int64)
        if reduce_zero_label:
            mask = reduce_zero(mask)
        check_mask(mask, img.shape, image_path, mask_path, num_classes)
        tensor = to_tensor(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))[None]
        images.append(resize_antialiased(tensor, (size, size))[0])
        mask = cv2.resize(mask.astype(np.uint8), (size, size),
                          interpolation=cv2.INTER_NEAREST)
        labels.append(torch.from_numpy(mask))
    return torch.stack(images), torch.stack(labels)


def count_classes(*labels: Tensor) -> int:
    """1 + the largest class index (255 excluded) in the label maps."""
    values = torch.cat([lab[lab != IGNORE].flatten() for lab in labels])
    if values.numel() == 0:
        raise BadInputError('the label maps hold no labelled pixel')
    return int(values.max()) + 1


def infer_num_classes(mask_paths: Sequence[str], root: str = '') -> Tuple[int, str]:
    """The class count of masks without a dataset config: 1 + the largest id (255 excluded),
    and where it came from (``"1 + the largest mask id: <id> in '<file>'"``).

    When more than half of the ids ``0..largest`` never occur, the count is likely inflated by
    a stray id (a mask holding 200 among classes 0..2 makes 201 classes, 198 of them empty,
    which lowers every mIoU): one warning names the file with the largest id, the id, the
    inferred count and the ids found. Raises when no mask (of the labelled set ``root``)
    holds a labelled pixel.
    """
    first: Dict[int, str] = {}  # id -> the first file holding it
    for path in mask_paths:
        mask = np.array(Image.open(path))
        for value in np.unique(mask[mask != IGNORE]).tolist():
            first.setdefault(int(value), path)
    if not first:
        raise BadInputError(f'the masks of {root!r} hold no labelled pixel (every pixel of '
                            f'the {len(mask_paths)} masks is 255 = ignore)')
    largest = max(first)
    num_classes = largest + 1
    if 2 * len(first) < num_classes:
        ids = sorted(first)
        shown = ids if len(ids) <= 12 else ids[:10] + ['...'] + ids[-1:]
        print_log(f'mask {first[largest]!r} holds class id {largest}: the class count is '
                  f'inferred as {num_classes} (1 + the largest id), but only {len(ids)} of the '
                  f'ids 0..{largest} occur in the masks ({", ".join(map(str, shown))}); a stray '
                  'id makes empty classes that lower the mIoU: fix the mask (255 = ignore) or '
                  'give --seg-config, whose dataset names its classes', logger='current',
                  level=logging.WARNING)
    return num_classes, f'1 + the largest mask id: {largest} in {first[largest]!r}'


def mask_max(mask_path: str) -> int:
    """The largest class index (255 excluded) of a mask file, -1 if it has none."""
    mask = np.array(Image.open(mask_path))
    values = mask[mask != IGNORE]
    return int(values.max()) if values.size else -1
