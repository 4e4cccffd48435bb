"""One dense evaluation of a model, written to a work dir (what ``tools/eval_dense.py`` runs)."""
import json
import os
import os.path as osp
import time
from typing import Dict, Optional

import torch

from .evaluate import evaluate_correspondence, evaluate_segmentation, features_of, load_images
from .pictures import match_lines, pca_grid, save_png, similarity_map
from .seg_data import count_classes, folder_pairs, load_pairs, mmseg_pairs


IMG_EXT = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


def list_images(folder: str, limit: Optional[int] = None) -> list:
    """Sorted image files directly in or below ``folder`` (the first ``limit``)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder {folder!r} does not exist')
    paths = sorted(osp.join(d, f) for d, _, files in os.walk(folder) for f in files
                   if f.lower().endswith(IMG_EXT))
    if not paths:
        raise FileNotFoundError(f'no images in {folder!r}')
    return paths[:limit] if limit else paths


def write_correspondence_pictures(out_dir: str, first: dict, level_size) -> Dict[str, str]:
    """``pca.png`` (views of the first batch with PCA colours), ``matches.png`` and
    ``similarity.png`` (first pair) under ``out_dir``."""
    views, feats = first['views'], first['feats']
    grid_images = torch.cat([views[0], views[1]])[:8]
    grid_feats = torch.cat([feats[0], feats[1]])[:8]
    return {
        'pca': save_png(osp.join(out_dir, 'pca.png'), pca_grid(grid_images, grid_feats)),
        'matches': save_png(osp.join(out_dir, 'matches.png'), match_lines(
            views[0, 0], views[1, 0], first['index'][0], first['error'][0],
            first['visible'][0], level_size)),
        'similarity': save_png(osp.join(out_dir, 'similarity.png'), similarity_map(
            views[0, 0], views[1, 0], feats[0, 0], feats[1, 0])),
    }


def dense_eval(model, work_dir: str, images: Optional[str] = None, level: str = 'C4',
               num_images: Optional[int] = 200, view_size: int = 224, seed: int = 0,
               seg_root: Optional[str] = None, seg_config: Optional[str] = None,
               seg_size: int = 224, batch_size: int = 16, progress: bool = True,
               pairs_per_image: int = 1) -> Dict[str, float]:
    """Run the protocols that have inputs, write ``metrics.json`` and ``pictures/``.

    Args:
        model: From :func:`build_eval_model` (eval mode, on its device).
        images: Folder of unlabeled images for the correspondence protocol.
        seg_root / seg_config: A labelled folder layout or an mmseg dataset config.
        pairs_per_image: View pairs drawn from each image (each with its own seed), for a
            steadier estimate on a small folder.
    """
    if not images and not (seg_root or seg_config):
        raise ValueError('nothing to evaluate: give an image folder and/or a labelled set')
    metrics: Dict[str, float] = {'level': level}
    pictures = osp.join(work_dir, 'pictures')
    start = time.perf_counter()
    if images:
        paths = list_images(images, num_images)
        corr, first = evaluate_correspondence(model, load_images(paths) * pairs_per_image,
                                              level, view_size, seed, batch_size, progress)
        metrics.update(corr)
        metrics['corr/num_images'] = len(paths)
        metrics['corr/num_pairs'] = len(paths) * pairs_per_image
        write_correspondence_pictures(pictures, first, tuple(first['feats'].shape[-2:]))
    if seg_root or seg_config:
        if seg_config:
            train_pairs, num_classes, reduce = mmseg_pairs(seg_config, 'train')
            val_pairs, _, _ = mmseg_pairs(seg_config, 'val')
        else:
            train_pairs, val_pairs, reduce = folder_pairs(seg_root, 'train'), \
                folder_pairs(seg_root, 'val'), False
            num_classes = None
        train = load_pairs(train_pairs, seg_size, reduce)
        val = load_pairs(val_pairs, seg_size, reduce)
        num_classes = num_classes or count_classes(train[1], val[1])
        metrics.update(evaluate_segmentation(model, train, val, level, num_classes,
                                             batch_size, progress=progress))
        metrics['seg/num_classes'] = num_classes
        metrics['seg/num_train'], metrics['seg/num_val'] = len(train_pairs), len(val_pairs)
        val_feats = features_of(model, val[0][:8], level, batch_size)
        save_png(osp.join(pictures, 'pca_seg_val.png'), pca_grid(val[0][:8], val_feats))
    metrics['seconds'] = round(time.perf_counter() - start, 2)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    return metrics


def summary_line(metrics: Dict[str, float]) -> str:
    """One line: the headline numbers that exist."""
    keys = ('corr/pck@1', 'corr/pck@2', 'corr/mean_err', 'corr/pck@1_chance',
            'seg/linear_miou', 'seg/knn_miou')
    parts = [f'{k} {metrics[k]:.4f}' for k in keys if k in metrics]
    return f"dense eval ({metrics.get('level')}): " + ', '.join(parts) + \
        f" ({metrics.get('seconds')} s)"
