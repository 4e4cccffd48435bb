"""One dense evaluation of a model, written to a work dir (what ``tools/eval_dense.py`` runs).

Both entry points run registered protocols (:mod:`.protocols`) on one
:class:`~.protocols.base.EvalRun`, so features of the same split, layer and size are
extracted once and shared: :func:`dense_eval` (the default read-out: correspondence PCK and
the quick segmentation read-out, flat ``corr/*`` / ``seg/*`` keys and pictures) and
:func:`run_protocols` (named protocols, each with its settings beside its numbers).
"""
import json
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch

from dense_ssl_mm.registry import PROTOCOLS
from dense_ssl_mm.utils.errors import BadInputError
from .features import BATCH_SIZE, DEFAULT_LEVEL
from .pictures import match_lines, pca_grid, save_png, similarity_map
from .protocols import EvalRun, Protocol
from .protocols.segmentation import readout_keys

#: Options of a run rather than of a protocol.
RUN_OPTIONS = ('train_list', 'batch_size')


def protocol_names() -> List[str]:
    """The registered protocols' names, sorted."""
    return sorted(PROTOCOLS.module_dict)


def protocol_options() -> Dict[str, List[str]]:
    """Every registered protocol's option names."""
    return {name: PROTOCOLS.get(name).options() for name in protocol_names()}


def build_protocol(name: str, options: Optional[dict] = None,
                   own: Optional[dict] = None) -> Protocol:
    """The protocol ``name`` with those of the shared ``options`` that it takes (None values
    left to the protocol's own defaults) and its ``own`` options (each must be one of its
    options; they win over the shared ones)."""
    cls = PROTOCOLS.get(name)
    if cls is None:
        raise BadInputError(f'unknown protocol {name!r}; expected one of {protocol_names()}')
    taken = set(cls.options())
    wrong = sorted(set(own or {}) - taken)
    if wrong:
        raise BadInputError(f'protocol {name!r} has no option(s) {wrong}; it takes '
                            f'{sorted(taken)}')
    args = {k: v for k, v in (options or {}).items() if k in taken and v is not None}
    args.update(own or {})
    return PROTOCOLS.build(dict(type=name, **args))


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


def dense_eval(model, work_dir: str, images: Optional[str] = None,
               level: str = DEFAULT_LEVEL, num_images: Optional[int] = None,
               view_size: Optional[int] = None, seed: int = 0,
               seg_root: Optional[str] = None, seg_config: Optional[str] = None,
               seg_size: Optional[int] = None, batch_size: int = BATCH_SIZE,
               progress: bool = True, pairs_per_image: Optional[int] = None
               ) -> Dict[str, float]:
    """Run the default read-out of the inputs given, write ``metrics.json`` and
    ``pictures/``.

    The ``correspondence`` protocol on ``images`` (``corr/*``) and the ``segmentation``
    read-out on the labelled set (``seg/*``, keys naming their options); None options take
    the protocols' defaults.

    Args:
        model: From :func:`~.features.build_eval_model` (eval mode, on its device).
        images: Folder of unlabeled images for the correspondence protocol.
        num_images / view_size / pairs_per_image: Options of the correspondence protocol.
        seed: Seed of both protocols.
        seg_root / seg_config: A labelled folder layout or an mmseg dataset config.
        seg_size: The segmentation read-out's ``size``.
        batch_size: Images per forward pass.
    """
    if not images and not (seg_root or seg_config):
        raise BadInputError('nothing to evaluate: give an image folder and/or a labelled set')
    ev = EvalRun(model, images, seg_root, seg_config, batch_size=batch_size,
                 progress=progress)
    metrics: Dict[str, float] = {'level': level}
    pictures = osp.join(work_dir, 'pictures')
    start = time.perf_counter()
    if images:
        corr = build_protocol('correspondence', dict(
            level=level, seed=seed, view_size=view_size, num_images=num_images,
            pairs_per_image=pairs_per_image))
        out = corr.run(ev)
        settings = out.pop('settings')
        metrics.update(out)
        metrics['corr/num_images'] = settings['images']
        metrics['corr/num_pairs'] = settings['pairs']
        first = corr.measure(ev)[1]
        write_correspondence_pictures(pictures, first, tuple(first['feats'].shape[-2:]))
    if seg_root or seg_config:
        seg = build_protocol('segmentation', dict(level=level, seed=seed, size=seg_size))
        out = seg.run(ev)
        settings = out.pop('settings')
        metrics.update(out)
        metrics['seg/num_classes'] = settings['num_classes']
        metrics['seg/num_train'] = settings['train_images']
        metrics['seg/num_val'] = settings['val_images']
        save_png(osp.join(pictures, 'pca_seg_val.png'), pca_grid(
            ev.pairs('val', seg.size)[0][:8], ev.features('val', level, seg.size)[:8]))
    metrics['seconds'] = round(time.perf_counter() - start, 2)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    return metrics


def run_protocols(model, protocols: Sequence[Union[str, dict]], work_dir: str,
                  level: str = DEFAULT_LEVEL,
                  images: Optional[str] = None, seg_root: Optional[str] = None,
                  seg_config: Optional[str] = None, options: Optional[dict] = None,
                  baseline=None, state=None, scalars_json: Optional[str] = None,
                  progress: bool = True) -> Dict[str, object]:
    """Run the named protocols on one :class:`~.protocols.base.EvalRun`; write one
    ``metrics.json`` naming each protocol with its settings beside its numbers.

    Args:
        protocols: Registered names (:func:`protocol_names`), or dicts ``type=NAME`` with
            the protocol's own options and an optional ``name`` for its entry in the results
            (the same protocol with other options, e.g. ``dict(type='segmentation',
            name='seg_k30', knn_k=30, knn_temperature=0.02)``).
        options: Protocol options by name (each protocol takes those it declares, e.g.
            ``size`` is Hummingbird's, the overclustering's and the linear probe's, each with
            its own default; None values keep the defaults) and the run's ``train_list`` and
            ``batch_size``. A name no protocol declares is refused.
        baseline / state / scalars_json: For ``health``.
    """
    opts = dict(options or {})
    declared = {o for names in protocol_options().values() for o in names}
    unknown = sorted(set(opts) - declared - set(RUN_OPTIONS))
    if unknown:
        raise BadInputError(f'unknown protocol option(s) {unknown}; the protocols take '
                            f'{sorted(declared)} and the run {list(RUN_OPTIONS)}')
    ev = EvalRun(model, images, seg_root, seg_config, opts.pop('train_list', None), baseline,
                 state, scalars_json, opts.pop('batch_size', None) or BATCH_SIZE, progress)
    built: Dict[str, Tuple[str, Protocol]] = {}
    for item in protocols:
        own = dict(item) if isinstance(item, dict) else dict(type=item)
        if 'type' not in own:
            raise BadInputError(f'a protocol entry needs type=NAME, got {item!r}')
        kind = own.pop('type')
        name = own.pop('name', kind)
        if name in built or name == 'level':
            raise BadInputError(f'protocol entry {name!r} is given twice; name one of them '
                                "(dict(type=..., name=...))")
        built[name] = kind, build_protocol(kind, dict(opts, level=level), own)
    for name, (kind, protocol) in built.items():  # every input checked before anything runs
        ev.check(kind, protocol)
    results: Dict[str, object] = dict(level=level)
    for name, (kind, protocol) in built.items():
        start = time.perf_counter()
        out = dict(protocol=kind, **protocol.run(ev))
        out['seconds'] = round(time.perf_counter() - start, 2)
        results[name] = out
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'metrics.json'), 'w') as f:
        json.dump(results, f, indent=1)
    return results


def summary_line(metrics: Dict[str, float]) -> str:
    """One line: the headline numbers that exist."""
    keys = ['corr/pck@1', 'corr/pck@2', 'corr/mean_err', 'corr/pck@1_chance']
    readouts = readout_keys(metrics)
    keys += [readouts[kind] for kind in ('linear', 'knn') if kind in readouts]
    parts = [f'{k} {metrics[k]:.4f}' for k in keys if k in metrics]
    return f"dense eval ({metrics.get('level')}): " + ', '.join(parts) + \
        f" ({metrics.get('seconds')} s)"
