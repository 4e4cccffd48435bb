"""Felzenszwalb-Huttenlocher segments of whole images (DetCon's masks) and their cache.

One segmentation per image, at full resolution (Hénaff et al., ICCV 2021: scikit-image's
``felzenszwalb`` with scale = 1000, min_size = 1000, sigma = 0.8). Computing it takes a
noticeable fraction of a second per COCO-sized image, so :func:`build_mask_cache` writes it
once, beside the images: ``<images>_fh_masks/<relative path>.png``, a 16-bit PNG (segment ids
up to 65535; the official code's uint8 wraps above 255), plus ``fh_masks.json`` with the
parameters, checked by every reader (a cache without it: the tool refuses to add to it, the
training pipeline warns once that its parameters cannot be checked).

Every file is written under a temporary name, ``.<name>.<pid>@<host>.<random>.partial``, and
renamed into place; the temporary files of a killed run are removed when the tool runs again
(those of live processes and of other hosts are left alone).
"""
import json
import logging
import os
import os.path as osp
import secrets
import socket
import time
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
from mmengine.logging import print_log

from dense_ssl_mm.utils.checkpoint import sweep_stale_partials
from dense_ssl_mm.utils.errors import BadInputError

#: DetCon's parameters of ``skimage.segmentation.felzenszwalb``.
FH_PARAMS = dict(scale=1000.0, min_size=1000, sigma=0.8)
PARAMS_FILE = 'fh_masks.json'


def fh_segments(img: np.ndarray, scale: float = 1000.0, min_size: int = 1000,
                sigma: float = 0.8) -> np.ndarray:
    """``(H, W[, 3])`` uint8 image -> ``(H, W)`` int32 segment ids ``0 .. K-1``.

    The colour distance is symmetric in the channels, so BGR and RGB give the same segments.
    """
    from skimage.segmentation import felzenszwalb
    axis = -1 if img.ndim == 3 else None
    return felzenszwalb(img, scale=scale, sigma=sigma, min_size=min_size,
                        channel_axis=axis).astype(np.int32)


def mask_root_for(img_root: str) -> str:
    """Where the cache of the images under ``img_root`` lives: ``<img_root>_fh_masks``."""
    return osp.normpath(img_root) + '_fh_masks'


def mask_path(img_path: str, img_root: str, mask_root: str) -> str:
    """The cache file of ``img_path`` (an image under ``img_root``)."""
    rel = osp.relpath(img_path, img_root)
    if rel.startswith('..'):
        raise BadInputError(f'image {img_path!r} is not under the image root {img_root!r}')
    return osp.join(mask_root, rel + '.png')


def _temp_name(path: str) -> str:
    """The hidden temporary name beside ``path`` that says which process writes it (the
    pattern :func:`~dense_ssl_mm.utils.checkpoint.sweep_stale_partials` removes)."""
    folder, name = osp.split(path)
    return osp.join(folder, f'.{name}.{os.getpid()}@{socket.gethostname()}.'
                    f'{secrets.token_hex(4)}.partial')


def write_mask(path: str, segments: np.ndarray) -> None:
    """Write ids as a 16-bit PNG, atomically (a temporary file renamed into place)."""
    if segments.max(initial=0) > 65535:
        raise ValueError(f'{path}: {segments.max() + 1} segments do not fit 16 bits')
    os.makedirs(osp.dirname(path), exist_ok=True)
    ok, data = cv2.imencode('.png', segments.astype(np.uint16))
    if not ok:
        raise OSError(f'cannot encode the mask of {path!r}')
    tmp = _temp_name(path)
    try:
        with open(tmp, 'wb') as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


#: Temporary names of masks written before the ``.partial`` names (``<mask>.png.tmp<pid>.png``).
_LEGACY_TEMP = '.png.tmp'
#: A legacy temporary file older than this (seconds) is abandoned: a mask takes under a second.
LEGACY_TEMP_AGE = 3600.0


def sweep_stale_temp_files(mask_root: str) -> List[str]:
    """Remove the temporary files that killed writers of this cache left in ``mask_root``.

    Only this module's own names are touched: ``.<name>.<pid>@<host>.<random>.partial`` of a
    process of this host that no longer runs, and the older ``<name>.png.tmp<pid>.png`` once
    they are an hour old. Returns the removed paths.
    """
    removed = []
    now = time.time()
    for folder, _, files in os.walk(mask_root):
        if any(f.endswith('.partial') for f in files):
            removed += sweep_stale_partials(folder)
        for name in files:
            stem, _, pid = name[:-len('.png')].rpartition(_LEGACY_TEMP)
            if not (name.endswith('.png') and stem and pid.isdigit()):
                continue
            path = osp.join(folder, name)
            try:
                if now - osp.getmtime(path) > LEGACY_TEMP_AGE:
                    os.remove(path)
                    removed.append(path)
            except OSError:
                pass
    return removed


def read_mask(path: str) -> np.ndarray:
    """The ids of a cached mask, int32 ``(H, W)``."""
    mask = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if mask is None or mask.dtype != np.uint16 or mask.ndim != 2:
        raise BadInputError(f'{path!r} is not a 16-bit single-channel mask PNG')
    return mask.astype(np.int32)


def has_masks(mask_root: str) -> bool:
    """Whether any mask (``*.png``) is below ``mask_root`` (stops at the first)."""
    for _, _, files in os.walk(mask_root):
        if any(f.endswith('.png') and not f.startswith('.') for f in files):
            return True
    return False


_UNCHECKED_WARNED = set()


def check_params(mask_root: str, params: Dict[str, float], unrecorded: str = 'warn') -> bool:
    """Refuse ``mask_root`` if it was written with other FH parameters than ``params``.

    A cache that holds masks but no ``fh_masks.json`` cannot be checked: ``unrecorded='warn'``
    logs that once per folder and process (the masks are used), ``'raise'`` refuses it.

    Returns:
        Whether the parameters were checked (False: no ``fh_masks.json``).

    Raises:
        BadInputError: other parameters, or an unrecorded cache with ``unrecorded='raise'``.
    """
    path = osp.join(mask_root, PARAMS_FILE)
    if not osp.isfile(path):
        if has_masks(mask_root):
            message = (f'the mask cache {mask_root!r} holds masks but no {PARAMS_FILE}: the FH '
                       f'parameters they were made with cannot be checked against {params}')
            if unrecorded == 'raise':
                raise BadInputError(f'{message}; delete it or give another mask folder')
            if mask_root not in _UNCHECKED_WARNED:
                _UNCHECKED_WARNED.add(mask_root)
                print_log(f'{message}; they are used as they are (delete the folder to make '
                          'them again with tools/make_fh_masks.py)', logger='current',
                          level=logging.WARNING)
        return False
    with open(path) as f:
        stored = json.load(f)
    if any(float(stored.get(k, 'nan')) != float(v) for k, v in params.items()):
        raise BadInputError(f'the mask cache {mask_root!r} was made with {stored}, this config '
                            f'asks for {params}: delete it or point mask_root elsewhere')
    return True


def write_params(mask_root: str, params: Dict[str, float]) -> None:
    """Record the FH parameters of ``mask_root`` (once; refused if they differ; not written
    into a cache whose masks were made with unrecorded parameters)."""
    if check_params(mask_root, params):
        return
    path = osp.join(mask_root, PARAMS_FILE)
    if not has_masks(mask_root):
        os.makedirs(mask_root, exist_ok=True)
        tmp = _temp_name(path)
        with open(tmp, 'w') as f:
            json.dump(params, f)
        os.replace(tmp, path)


def _one(job) -> Optional[str]:
    img_path, out, params = job
    if osp.isfile(out):
        return None
    img = cv2.imread(img_path, cv2.IMREAD_COLOR)
    if img is None:
        return f'{img_path}: cannot be read'
    write_mask(out, fh_segments(img, **params))
    return None


def build_mask_cache(img_paths: Sequence[str], img_root: str, mask_root: Optional[str] = None,
                     processes: int = 1, progress: bool = True,
                     **params) -> Dict[str, object]:
    """Write the FH mask of every image that has none yet (resumable: a rerun continues).

    Args:
        img_paths: Images under ``img_root``.
        img_root: Their root (the cache mirrors the layout below it).
        mask_root: The cache folder (default :func:`mask_root_for`).
        processes: Worker processes.
        progress: Show a tqdm bar.
        **params: FH parameters (default :data:`FH_PARAMS`).

    Returns:
        ``dict(mask_root, written, present, failed=[...], swept=[...], seconds)``: ``swept``,
        the temporary files of killed runs removed first (:func:`sweep_stale_temp_files`).

    Raises:
        BadInputError: the cache was made with other parameters, or holds masks without
            ``fh_masks.json`` (their parameters cannot be checked).
    """
    params = {**FH_PARAMS, **params}
    mask_root = mask_root or mask_root_for(img_root)
    swept = []
    if osp.isdir(mask_root):
        check_params(mask_root, params, unrecorded='raise')
        swept = sweep_stale_temp_files(mask_root)
    write_params(mask_root, params)
    jobs = [(p, mask_path(p, img_root, mask_root), params) for p in img_paths]
    todo = [j for j in jobs if not osp.isfile(j[1])]
    start = time.perf_counter()
    failed = []
    if todo:
        from tqdm import tqdm
        with Pool(processes) if processes > 1 else _Serial() as pool:
            results = pool.imap_unordered(_one, todo, chunksize=4)
            for problem in tqdm(results, total=len(todo), disable=not progress,
                                desc='FH masks', unit='img'):
                if problem:
                    failed.append(problem)
    return dict(mask_root=mask_root, written=len(todo) - len(failed),
                present=len(jobs) - len(todo), failed=failed, swept=swept,
                seconds=time.perf_counter() - start)


class _Serial:
    """``Pool``'s interface in this process (one worker: no start-up, easy to debug)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def imap_unordered(fn, jobs, chunksize=1):
        return map(fn, jobs)
