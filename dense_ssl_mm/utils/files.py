"""Image files in folders, found whatever the case of their extensions.

Cameras and phones write ``IMG_0001.JPG``; a reader that compares suffixes exactly or builds
``name + '.jpg'`` misses such files on case-sensitive file systems. Every folder reader of
the project (datasets, mask caches, evaluation folders) goes through these functions.
"""
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

#: Suffixes read as images, lower case (matched case-insensitively).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')
#: Suffixes of label-map masks (PNG only: lossless, indexed or grey).
MASK_EXTENSIONS = ('.png', )


def has_extension(name: str, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> bool:
    """Whether ``name`` ends with one of ``extensions``, ignoring case (``a.JPG`` is a jpg)."""
    return name.lower().endswith(tuple(e.lower() for e in extensions))


def list_image_files(folder: str, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> List[str]:
    """Sorted names (not paths) of the files directly in ``folder`` whose extension is one of
    ``extensions`` in any case."""
    return sorted(name for name in os.listdir(folder)
                  if has_extension(name, extensions) and osp.isfile(osp.join(folder, name)))


def split_extension(name: str, extensions: Sequence[str] = IMAGE_EXTENSIONS) -> str:
    """``name`` without its image extension if it has one (any case), else unchanged:
    ``'a/IMG_1.JPG'`` -> ``'a/IMG_1'``, ``'train_0'`` -> ``'train_0'``."""
    stem, ext = osp.splitext(name)
    return stem if ext and has_extension(ext, extensions) else name


def find_by_stem(folder: str, stems: Iterable[str],
                 extensions: Sequence[str] = IMAGE_EXTENSIONS) -> Dict[str, Optional[str]]:
    """The file of each stem: ``folder/<stem><ext>`` with ``ext`` one of ``extensions`` in any
    case (``train_0`` -> ``folder/train_0.JPG``), or None where there is none.

    A stem may hold sub-folders (``'a/b'``); each folder is listed once, however many stems
    it has. Where a stem has several files (``x.jpg`` and ``x.png``) the earlier extension
    of ``extensions`` wins, then the lower-case spelling.
    """
    rank = {e.lower(): i for i, e in enumerate(extensions)}
    listings: Dict[str, Dict[str, str]] = {}
    out = {}
    for stem in stems:
        sub, base = osp.split(stem)
        where = osp.join(folder, sub)
        if where not in listings:
            best: Dict[str, tuple] = {}
            try:
                names = os.listdir(where)
            except OSError:
                names = []
            for name in names:
                key, ext = osp.splitext(name)
                order = rank.get(ext.lower())
                if order is None:
                    continue
                candidate = (order, ext != ext.lower(), name)
                if key not in best or candidate < best[key]:
                    best[key] = candidate
            listings[where] = {key: osp.join(where, c[2]) for key, c in best.items()}
        out[stem] = listings[where].get(base)
    return out
