"""A small labelled segmentation set from real texture photos (Brodatz-style mosaics)."""
import os
import os.path as osp
from typing import Dict, Sequence

import cv2
import numpy as np

from dense_ssl_mm.utils.errors import BadInputError


def make_texture_mosaics(textures: Sequence[str], out: str, num_train: int = 16,
                         num_val: int = 8, size: int = 224, regions: int = 6,
                         seed: int = 0) -> Dict[str, int]:
    """Write ``out/{images,masks}/{train,val}/NNN.png``: mosaics of Voronoi regions, each
    filled with one texture photo (class = its index in ``textures``).

    Training mosaics take their pixels from the left half of every photo, validation mosaics
    from the right half, so no pixel is shared between the splits. Masks are label maps
    (class index per pixel), the folder layout of ``tools/eval_dense.py --seg-root``.

    Returns:
        ``{'train': count, 'val': count, 'classes': len(textures)}``.
    """
    photos = []
    for path in textures:
        img = cv2.imread(path, cv2.IMREAD_COLOR)
        if img is None:
            raise BadInputError(f'cannot read texture {path!r}')
        if img.shape[0] < size or img.shape[1] < 2 * size:
            img = cv2.resize(img, (max(2 * size, img.shape[1]), max(size, img.shape[0])))
        photos.append(img)
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for split, count in (('train', num_train), ('val', num_val)):
        for sub in ('images', 'masks'):
            os.makedirs(osp.join(out, sub, split), exist_ok=True)
        for k in range(count):
            points = rng.rand(regions, 2) * size
            owner = ((xx[..., None] - points[:, 0]) ** 2 +
                     (yy[..., None] - points[:, 1]) ** 2).argmin(-1)  # [size, size]
            classes = rng.permutation(np.arange(regions) % len(photos))
            label = classes[owner].astype(np.uint8)
            image = np.zeros((size, size, 3), np.uint8)
            for region in range(regions):
                photo = photos[classes[region]]
                half = photo.shape[1] // 2
                left = 0 if split == 'train' else half
                x0 = left + rng.randint(0, half - size + 1)
                y0 = rng.randint(0, photo.shape[0] - size + 1)
                window = photo[y0:y0 + size, x0:x0 + size]
                image[owner == region] = window[owner == region]
            cv2.imwrite(osp.join(out, 'images', split, f'{k:03d}.png'), image)
            cv2.imwrite(osp.join(out, 'masks', split, f'{k:03d}.png'), label)
    return {'train': num_train, 'val': num_val, 'classes': len(photos)}
