"""One dense evaluation of a model, written to a work dir (what ``tools/eval_dense.py`` runs)."""
import json
import os
import os.path as osp
import time
from typing import Dict, Optional

import torch

from dense_ssl_mm.utils.files import has_extension
from .evaluate import evaluate_correspondence, evaluate_segmentation, features_of, load_images
from .pictures import match_lines, pca_grid, save_png, similarity_map
from .seg_data import count_classes, folder_pairs, load_pairs, mask_max, mmseg_pairs


IMG_EXT = ('.jpg', '.jpeg', '.png', '.bmp', '.webp')


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
            raise FileNotFoundError(f'{folder!r} lists images that do not exist: {missing[:3]}')
    elif osp.isdir(folder):
        paths = sorted(osp.join(d, f) for d, _, files in os.walk(folder) for f in files
                       if has_extension(f, IMG_EXT))
    else:
        raise FileNotFoundError(f'image folder or list {folder!r} does not exist')
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


PROTOCOLS = ('hummingbird', 'overcluster', 'linear', 'correspondence', 'health')


def labelled_pairs(seg_root: Optional[str], seg_config: Optional[str],
                   train_list: Optional[str] = None):
    """``(train pairs, val pairs, num_classes or None, reduce_zero_label)`` of a labelled set;
    ``train_list``: a file of training names (one per line, extension optional), e.g. a
    Hummingbird training fraction."""
    if seg_config:
        train_pairs, num_classes, reduce = mmseg_pairs(seg_config, 'train')
        val_pairs, _, _ = mmseg_pairs(seg_config, 'val')
    elif seg_root:
        train_pairs, val_pairs = folder_pairs(seg_root, 'train'), folder_pairs(seg_root, 'val')
        num_classes, reduce = None, False
    else:
        raise ValueError('this protocol needs a labelled set: --seg-root or --seg-config')
    if train_list:
        names = {osp.splitext(osp.basename(line.split()[0]))[0]
                 for line in open(train_list).read().splitlines() if line.strip()}
        kept = [p for p in train_pairs if osp.splitext(osp.basename(p[0]))[0] in names]
        if len(kept) != len(names):
            raise ValueError(f'{train_list!r} names {len(names)} training images; '
                             f'{len(kept)} of them are in the labelled set')
        train_pairs = kept
    return train_pairs, val_pairs, num_classes, reduce


def run_protocols(model, protocols, work_dir: str, level: str = 'C4',
                  images: Optional[str] = None, seg_root: Optional[str] = None,
                  seg_config: Optional[str] = None, options: Optional[dict] = None,
                  baseline=None, state=None, scalars_json: Optional[str] = None,
                  progress: bool = True) -> Dict[str, object]:
    """Run the named protocols; write one ``metrics.json`` naming each protocol with its
    settings beside its numbers.

    ``options`` (all optional): ``size`` (hummingbird 224, overcluster / linear 448),
    ``passes`` (2), ``memory_size``, ``k`` (30), ``train_list``, ``resolution`` (100 or
    ``'full'``), ``epochs`` (25), ``ks`` (overcluster K values), ``seeds``, ``view_size``,
    ``num_images``, ``pairs_per_image`` (1), ``seed``, ``batch_size``.
    """
    from tqdm import tqdm
    from .health import health_check
    from .hummingbird import evaluate_hummingbird
    from .linear_protocol import linear_probe_protocol
    from .overcluster import overcluster
    opts = dict(options or {})
    bar = (lambda items: tqdm(items, leave=False)) if progress else None
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise ValueError(f'unknown protocol(s) {unknown}; expected some of {PROTOCOLS}')
    results: Dict[str, object] = dict(level=level)
    seed, batch = opts.get('seed', 0), opts.get('batch_size', 16)
    needs_labels = [p for p in protocols if p in ('hummingbird', 'overcluster', 'linear')]
    if needs_labels:
        train_pairs, val_pairs, num_classes, reduce = labelled_pairs(
            seg_root, seg_config, opts.get('train_list'))
        if num_classes is None:  # 1 + the largest label of any mask, at full resolution
            num_classes = max(mask_max(m) for _, m in train_pairs + val_pairs) + 1
    for name in protocols:
        start = time.perf_counter()
        if name == 'hummingbird':
            out = evaluate_hummingbird(model, level, train_pairs, val_pairs, num_classes,
                                       opts.get('size', 224), opts.get('passes', 2),
                                       opts.get('memory_size'), opts.get('k', 30), 0.02,
                                       seed, reduce_zero_label=reduce, batch_size=batch,
                                       progress=bar)
        elif name == 'overcluster':
            size = opts.get('size', 448)
            val_images, val_labels = load_pairs(val_pairs, size, reduce)
            feats = features_of(model, val_images, level, batch).cpu()
            out = dict(protocol='overcluster', **overcluster(
                feats, val_labels, num_classes, opts.get('ks'),
                opts.get('seeds', (0, 1, 2, 3, 4))))
            out['settings'].update(size=size, level=level, val_images=len(val_pairs),
                                   num_classes=num_classes)
        elif name == 'linear':
            out = linear_probe_protocol(
                lambda x: features_of(model, x, level, batch), train_pairs, val_pairs,
                num_classes, opts.get('size', 448), opts.get('resolution', 100),
                opts.get('epochs', 25), seed=seed, batch_size=batch, reduce_zero_label=reduce,
                progress=bar, level=level)
        elif name == 'correspondence':
            if not images:
                raise ValueError('the correspondence protocol needs --images')
            paths = list_images(images, opts.get('num_images'))
            per_image = opts.get('pairs_per_image', 1)
            corr, _ = evaluate_correspondence(model, load_images(paths) * per_image, level,
                                              opts.get('view_size', 224), seed, batch)
            out = dict(protocol='correspondence', **corr,
                       settings=dict(level=level, view_size=opts.get('view_size', 224),
                                     seed=seed, images=len(paths),
                                     pairs=len(paths) * per_image))
        else:  # health
            if not images or baseline is None:
                raise ValueError('the health protocol needs held-out --images and a '
                                 'random-init baseline')
            paths = list_images(images, opts.get('num_images'))
            out = dict(protocol='health', **health_check(
                model, baseline, load_images(paths), level, opts.get('view_size', 224),
                seed, batch, state, scalars_json, opts.get('pairs_per_image', 1)))
        out['seconds'] = round(time.perf_counter() - start, 2)
        results[name] = out
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'metrics.json'), 'w') as f:
        json.dump(results, f, indent=1)
    return results


def summary_line(metrics: Dict[str, float]) -> str:
    """One line: the headline numbers that exist."""
    keys = ('corr/pck@1', 'corr/pck@2', 'corr/mean_err', 'corr/pck@1_chance',
            'seg/linear_miou', 'seg/knn_miou')
    parts = [f'{k} {metrics[k]:.4f}' for k in keys if k in metrics]
    return f"dense eval ({metrics.get('level')}): " + ', '.join(parts) + \
        f" ({metrics.get('seconds')} s)"
