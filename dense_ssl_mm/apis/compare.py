"""Pretrain several methods on the same data with the same budget, evaluate them alike."""
import glob
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmengine.config import Config

from dense_ssl_mm.datasets.fh_masks import FH_PARAMS
from dense_ssl_mm.evaluation.features import build_eval_model
from dense_ssl_mm.evaluation.protocols.segmentation import readout_keys
from dense_ssl_mm.evaluation.report import dense_eval
from dense_ssl_mm.utils.config_walk import find_by_type
from .launch import TRAIN, find_resume_checkpoint, module_command, run_logged

COLUMNS = ('method', 'config', 'iters', 'batch', 'loss at end', 'step (s)', 'img/s',
           'PCK@1', 'PCK@2', 'kNN mIoU', 'linear mIoU')


def comparison_config(path: str, run_dir: str, iters: int, batch_size: Optional[int] = None,
                      data_root: Optional[str] = None, seed: int = 0) -> Config:
    """The method's config with the shared budget: ``iters`` iterations of ``batch_size``
    images per process from ``data_root`` (a folder; default: the config's data), one
    schedule shape for all (linear warm-up over the first 5 %, then cosine to 0 of the
    method's own learning rate), seed ``seed``, one checkpoint at the end, no evaluation hook
    during training (it would enter the step times)."""
    cfg = Config.fromfile(path)
    loader = cfg.train_dataloader
    if data_root:
        loader.dataset = dict(type='ImageFolderDataset', data_root=data_root,
                              pipeline=loader.dataset.pipeline)
        fh_masks_for(loader.dataset.pipeline, data_root, osp.dirname(osp.abspath(run_dir)))
    if batch_size:
        loader.batch_size = batch_size
    loader.sampler = dict(type='InfiniteSampler', shuffle=True)
    warmup = max(1, iters // 20)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=warmup),
        dict(type='CosineAnnealingLR', T_max=iters - warmup, eta_min=0.0, by_epoch=False,
             begin=warmup, end=iters)]
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] != 'DenseEvalHook']
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=iters, by_epoch=False,
                                        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, iters // 30))
    cfg.log_processor = dict(by_epoch=False)
    cfg.randomness = dict(seed=seed)
    cfg.work_dir = run_dir
    return cfg


def fh_masks_for(node, data_root: str, work_dir: str) -> List[str]:
    """Point every ``LoadFHMask`` below ``node`` (a pipeline) at ``data_root``: its masks are
    made for that folder on first sight and cached under ``work_dir``: one cache per image
    folder and set of FH parameters, ``fh_masks_<folder>-<hash of its path>_<scale>_<min_size>_
    <sigma>``, shared by the methods, so another ``--data-root`` with the same work dir never
    reuses masks of files that share a name (``python tools/make_fh_masks.py DATA_ROOT
    --mask-root CACHE`` makes them ahead). The config's own ``img_root`` would refuse the
    user's images as not under it. Returns the caches."""
    root = osp.abspath(data_root)
    folder = '{}-{}'.format(osp.basename(osp.normpath(root)).replace(' ', '_'),
                            hashlib.sha1(root.encode()).hexdigest()[:8])
    caches = []
    for _, load in find_by_type(node, 'LoadFHMask', ignore_scope=True):
        params = {k: load.get(k, v) for k, v in FH_PARAMS.items()}
        cache = osp.join(work_dir, 'fh_masks_{}_{scale:g}_{min_size:g}_{sigma:g}'.format(
            folder, **params))
        load.update(img_root=root, mask_root=cache, on_missing='compute_and_cache')
        caches.append(cache)
    return caches


def read_training_log(run_dir: str) -> Dict[str, float]:
    """``loss at end`` (mean of the last 10 % of logged losses) and ``step (s)`` (mean logged
    iteration time after the first 20 %, which holds start-up and warm-up) from mmengine's
    ``vis_data/scalars.json`` of the newest run in ``run_dir``."""
    logs = sorted(glob.glob(osp.join(run_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'no vis_data/scalars.json under {run_dir!r}')
    with open(logs[-1]) as f:
        entries = [e for e in map(json.loads, f) if 'loss' in e and 'time' in e]
    if not entries:
        raise ValueError(f'{logs[-1]!r} holds no logged training iteration')
    tail = entries[-max(1, len(entries) // 10):]
    steady = entries[len(entries) // 5:] or entries
    return {'loss at end': sum(e['loss'] for e in tail) / len(tail),
            'step (s)': sum(e['time'] for e in steady) / len(steady)}


def evaluate_run(cfg: Config, checkpoint: Optional[str], out_dir: str, eval_args: dict,
                 device: str) -> Dict[str, float]:
    """The dense evaluation of C4 (the level every method has) of one checkpoint."""
    model = build_eval_model(cfg, checkpoint, eval_args.get('seed', 0), level='C4')
    metrics = dense_eval(model.to(device), out_dir, level='C4', progress=False, **eval_args)
    readouts = readout_keys(metrics)  # the segmentation read-out's keys name its options
    return {'PCK@1': metrics.get('corr/pck@1'), 'PCK@2': metrics.get('corr/pck@2'),
            'kNN mIoU': metrics.get(readouts.get('knn')),
            'linear mIoU': metrics.get(readouts.get('linear'))}


def compare_methods(configs: Sequence[str], work_dir: str, iters: int,
                    batch_size: Optional[int] = None, data_root: Optional[str] = None,
                    seed: int = 0, launcher: str = 'none', gpus: int = 1,
                    eval_args: Optional[dict] = None, device: str = 'cpu',
                    log=print) -> List[dict]:
    """Train every config under the shared budget, then evaluate each final checkpoint and
    the random initialisation of the first config with the same protocol.

    Returns:
        One row per method (and a ``random init`` row first), keys :data:`COLUMNS` plus
        ``status``; a failed training run has its log path in ``status``.
    """
    eval_args = dict(eval_args or {}, seed=seed)
    rows = []
    first = comparison_config(configs[0], osp.join(work_dir, 'random_init'), iters, batch_size,
                              data_root, seed)
    rows.append(dict(method='random init', config=osp.basename(configs[0]), status='ok',
                     **evaluate_run(first, None, osp.join(work_dir, 'random_init'), eval_args,
                                    device)))
    for path in configs:
        name = osp.splitext(osp.basename(path))[0]
        run_dir = osp.join(work_dir, name)
        os.makedirs(run_dir, exist_ok=True)
        cfg = comparison_config(path, run_dir, iters, batch_size, data_root, seed)
        cfg.dump(osp.join(run_dir, 'compare_config.py'))
        row = dict(method=cfg.model.type, config=osp.basename(path), iters=iters,
                   batch=cfg.train_dataloader.batch_size * gpus)
        log(f'[{name}] training {iters} iterations (log: {run_dir}/train.log)')
        cmd = module_command(TRAIN, [osp.join(run_dir, 'compare_config.py'), '--work-dir',
                                     run_dir], launcher, gpus)
        failed = run_logged(cmd, osp.join(run_dir, 'train.log'))
        checkpoint = None if failed else find_resume_checkpoint(run_dir)[0]
        if checkpoint is None:
            rows.append(dict(row, status=f'training failed, see {run_dir}/train.log'))
            continue
        row.update(read_training_log(run_dir))
        row['img/s'] = row['batch'] / row['step (s)']
        log(f'[{name}] evaluating {checkpoint}')
        row.update(evaluate_run(cfg, checkpoint, osp.join(run_dir, 'dense_eval'), eval_args,
                                device))
        rows.append(dict(row, status='ok'))
    return rows


def aggregate_seeds(runs: Sequence[List[dict]]) -> List[dict]:
    """One row per method from the rows of several seeds: every number becomes
    ``(mean, half range)``; a method that failed in any seed keeps that seed's status.

    Args:
        runs: :func:`compare_methods`' rows, one list per seed, the methods in one order.
    """
    if len({tuple(r['method'] for r in rows) for rows in runs}) != 1:
        raise ValueError('the seeds compared different methods')
    out = []
    for per_seed in zip(*runs):
        failed = [r for r in per_seed if r['status'] != 'ok']
        if failed:
            out.append(dict(failed[0]))
            continue
        row = dict(per_seed[0], seeds=len(per_seed))
        for key in COLUMNS:
            values = [r.get(key) for r in per_seed]
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values) \
                    and key not in ('iters', 'batch'):
                row[key] = (sum(values) / len(values), (max(values) - min(values)) / 2)
        out.append(row)
    return out


def format_table(rows: List[dict]) -> str:
    """A markdown table of :func:`compare_methods`' rows (``-`` where there is no value;
    ``mean ± half range`` for rows of :func:`aggregate_seeds`)."""
    def number(value):
        return f'{value:.3f}' if abs(value) < 100 else f'{value:.0f}'

    def cell(value):
        if value is None:
            return '-'
        if isinstance(value, tuple):
            return f'{number(value[0])} ± {number(value[1])}'
        if isinstance(value, float):
            return number(value)
        return str(value)

    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '---|' * len(COLUMNS)]
    for row in rows:
        if row['status'] != 'ok':
            lines.append(f"| {row['method']} | {row['config']} | {row['status']} |")
            continue
        lines.append('| ' + ' | '.join(cell(row.get(c)) for c in COLUMNS) + ' |')
    return '\n'.join(lines) + '\n'


def write_comparison(rows: List[dict], work_dir: str) -> str:
    """``compare.md`` and ``compare.json`` in ``work_dir``; returns the markdown."""
    table = format_table(rows)
    with open(osp.join(work_dir, 'compare.md'), 'w') as f:
        f.write(table)
    with open(osp.join(work_dir, 'compare.json'), 'w') as f:
        json.dump(rows, f, indent=1, default=float)
    return table


__all__ = ['aggregate_seeds', 'compare_methods', 'comparison_config', 'format_table',
           'read_training_log', 'write_comparison']
