"""The GPU acceptance run: every figure the README promises, in one command, within a budget.

Stages (each gets a share of the wall-time budget and is skipped, with a note, once the
budget is spent): ``environment``; ``step`` (PixPro R50, DenseCL R50, VADeR R50-FPN at the
paper's per-GPU batch: fp32, ``bf16 + channels_last``, ``+ compile_backbone``; img/s, peak
allocated memory against the fake-tensor estimate); ``end_to_end`` (JPEGs written to local
disk through the real dataloader: CPU views with N workers against ``speed.device_views``,
data-wait share); ``official`` (the official PixPro step interleaved with ours, when a
checkout is given: a child process imports it from the checkout's own path); ``eval_dense``
(200 view pairs, R50 C4); ``nan_guard`` (the weight check's cost per call and per iteration at
its interval); ``ddp`` (a two-process NCCL step where two GPUs are visible).
``dry_run=True`` runs every stage for one step on the CPU with tiny sizes, so the command
cannot rot before a GPU appears. Writes ``gpu_report.json`` and ``gpu_report.md``.
"""
import copy
import glob
import importlib.util
import itertools
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from dense_ssl_mm.engine.speed import apply_speed_config
from dense_ssl_mm.utils.config_walk import find_by_type, path_str
from dense_ssl_mm.utils.errors import BadInputStateError
from .benchmark import (build_for_benchmark, folder_loader, synthetic_batch, synthetic_data,
                        time_train_steps)
from .memory import estimate_step_memory

GiB = 2**30
SHARES = dict(environment=0.02, step=0.34, vit=0.08, end_to_end=0.18, official=0.12,
              eval_dense=0.12, nan_guard=0.04, ddp=0.10)
METHODS = [('PixPro R50', 'configs/pixpro_r50_coco.py', 128),
           ('DenseCL R50', 'configs/densecl_r50_coco.py', 32),
           ('VADeR R50-FPN', 'configs/vader_r50_fpn_coco.py', 32)]
#: ViT rows: (name, config, per-GPU batch, backbone overrides); NeCo's backbone starts from
#: timm's initialisation here (no DINOv2 file on the machine).
VIT_METHODS = [('PixPro ViT-S/16', 'configs/pixpro_vit-s16_coco.py', 64, {}),
               ('NeCo ViT-S/14', 'configs/neco_vit-s14_dinov2_coco.py', 64, dict(init_cfg=None)),
               ('NeCo ViT-B/14', 'configs/neco_vit-b14_dinov2_coco.py', 16, dict(init_cfg=None))]
VIT_VARIANTS = [('fp32, fused attention', {}, True, True),
                ('bf16, fused attention', dict(bf16=True), False, True),
                ('bf16, explicit attention', dict(bf16=True), False, False)]
#: (name, speed switches, fp32): ``fp32`` forces plain fp32 (``OptimWrapper``); otherwise
#: the config's own optimizer wrapper (the R50 configs: fp16 ``AmpOptimWrapper``) or bf16.
VARIANTS = [('fp32', {}, True),
            ('fp16 AMP (the configs)', {}, False),
            ('bf16 + channels_last', dict(bf16=True, channels_last=True), False),
            ('bf16 + channels_last + compile', dict(bf16=True, channels_last=True,
                                                    compile_backbone=True), False)]


class Budget:
    """A wall-time budget split into stage shares (:data:`SHARES`). Stage ``i`` may run until
    ``start + seconds * (shares of stages 1..i)``: time an earlier stage leaves unused
    carries over, an overrun is taken from the stages after it.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock, self.seconds = clock, seconds
        self.start = clock()
        self.deadline = self.start
        self._share = 0.0

    def begin(self, stage: str) -> float:
        """Start ``stage``; the seconds it may use (0 when the budget is spent)."""
        self._share += SHARES[stage]
        self.deadline = self.start + self.seconds * min(1.0, self._share)
        return max(0.0, self.stage_left())

    def stage_left(self) -> float:
        return self.deadline - self.clock()

    def left(self) -> float:
        return self.seconds - (self.clock() - self.start)


def environment(device: torch.device) -> Dict[str, str]:
    info = dict(python=platform.python_version(), torch=torch.__version__,
                cuda=str(torch.version.cuda), device=str(device))
    if device.type == 'cuda':
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory=f'{props.total_memory / GiB:.1f} GiB',
                    gpus_visible=str(torch.cuda.device_count()))
        try:
            out = subprocess.run(['nvidia-smi', '--query-gpu=driver_version',
                                  '--format=csv,noheader'], capture_output=True, text=True,
                                 timeout=20)
            info['driver'] = out.stdout.strip().splitlines()[0] if out.returncode == 0 else '?'
        except (OSError, subprocess.TimeoutExpired, IndexError):
            info['driver'] = 'nvidia-smi not available'
    else:
        info.update(gpu='none (CPU)', cpu_threads=str(torch.get_num_threads()))
    try:
        import mmcv
        import mmengine
        info.update(mmcv=mmcv.__version__, mmengine=mmengine.__version__)
        info['mmcv_ops'] = 'present' if importlib.util.find_spec('mmcv._ext') else \
            'absent (pretraining needs none)'
    except ImportError as err:
        info['mmcv'] = f'not importable: {err}'
    return info


def _config(root: str, path: str, speed: dict, fp32: bool) -> Config:
    """The config with ``speed`` switches; ``fp32``: plain ``OptimWrapper`` (also what a CPU
    needs: mmengine's AMP wrapper is GPU-only)."""
    cfg = Config.fromfile(osp.join(root, path))
    if speed:
        cfg.speed = dict(speed)
    if fp32 and not speed.get('bf16'):
        cfg.optim_wrapper.type = 'OptimWrapper'
        for key in ('loss_scale', 'dtype'):
            cfg.optim_wrapper.pop(key, None)
    return apply_speed_config(cfg)


def _peak_allocated(device: torch.device) -> Optional[float]:
    return torch.cuda.max_memory_allocated(device) / GiB if device.type == 'cuda' else None


def step_stage(root: str, device: torch.device, dry_run: bool, budget: Budget,
               log: Callable[[str], None]) -> List[dict]:
    rows = []
    size, iters, warmup = (64, 1, 0) if dry_run else (224, 10, 3)
    variants = [VARIANTS[0], ('channels_last', dict(channels_last=True), True)] if dry_run \
        else VARIANTS
    # variant-major: every method's plain step before any compile warm-up spends the budget
    for (variant, speed, fp32), (method, path, batch) in itertools.product(variants, METHODS):
        batch = 2 if dry_run else batch
        row = dict(method=method, variant=variant, batch=batch, views=f'2 x {size} px')
        rows.append(row)
        if budget.stage_left() <= 0:
            row['status'] = 'skipped: stage budget spent'
            continue
        try:
            cfg = _config(root, path, speed, fp32 or dry_run)
            estimate = estimate_step_memory(
                *build_for_benchmark(copy.deepcopy(cfg), torch.device('cpu')),
                synthetic_data(batch, size),
                torch.bfloat16 if speed.get('bf16') else None if fp32 or dry_run
                else torch.float16)
            torch.manual_seed(0)
            model, optim_wrapper = build_for_benchmark(cfg, device)
            result = time_train_steps(model, optim_wrapper,
                                      itertools.repeat(synthetic_data(batch, size)),
                                      iters, warmup, device)
            peak = _peak_allocated(device)
            row.update(status='ok', step_s=result['step_s'],
                       img_s=result['images'] / result['step_s'], loss=result['loss'],
                       estimate_gib=estimate['total'],
                       peak_allocated_gib=peak,
                       estimate_error=None if peak is None else estimate['total'] / peak - 1)
            del model, optim_wrapper
        except Exception as err:  # noqa: BLE001 - a failed row is reported, the run goes on
            row['status'] = _failed(err)
        _row_done(device, log, f'step {method} {variant}', row)
    return rows


def _failed(err: Exception) -> str:
    return f'failed: {type(err).__name__}: {str(err)[:300]}'


def _row_done(device: torch.device, log: Callable[[str], None], name: str, row: dict) -> None:
    """Log a timed row's status and give its device memory back."""
    log(f'{name}: {row["status"]}')
    if device.type == 'cuda':
        torch.cuda.empty_cache()


def vit_stage(root: str, device: torch.device, dry_run: bool, budget: Budget,
              log: Callable[[str], None]) -> List[dict]:
    """ViT steps at the configs' view sizes: PixPro ViT-S/16, NeCo ViT-S/14 and B/14 (2 x 224
    + 4 x 98 px), fp32 / bf16, fused (scaled-dot-product) against explicit attention."""
    rows = []
    variants = VIT_VARIANTS[:1] if dry_run else VIT_VARIANTS
    for (variant, speed, fp32, fused), (method, path, batch, backbone) in \
            itertools.product(variants, VIT_METHODS):
        batch = 2 if dry_run else batch
        row = dict(method=method, variant=variant, batch=batch)
        rows.append(row)
        if budget.stage_left() <= 0:
            row['status'] = 'skipped: stage budget spent'
            continue
        try:
            cfg = _config(root, path, speed, fp32 or dry_run)
            cfg.model.backbone.update(backbone, fused_attn=fused)
            if dry_run:
                cfg.model.backbone.arch = 'tiny'
                cfg.model.neck.update(in_channels=192, hid_channels=64)
            data = synthetic_batch(cfg, batch)  # the configs' sizes (multiples of the patch)
            row['views'] = ' + '.join(f'{g.shape[0]} x {g.shape[-1]} px'
                                      for g in _groups(data))
            torch.manual_seed(0)
            if device.type == 'cuda':
                torch.cuda.reset_peak_memory_stats(device)
            model, optim_wrapper = build_for_benchmark(cfg, device)
            result = time_train_steps(model, optim_wrapper, itertools.repeat(data),
                                      1 if dry_run else 8, 0 if dry_run else 3, device)
            row.update(status='ok', step_s=result['step_s'],
                       img_s=result['images'] / result['step_s'], loss=result['loss'],
                       peak_allocated_gib=_peak_allocated(device))
            del model, optim_wrapper
        except Exception as err:  # noqa: BLE001 - a failed row is reported, the run goes on
            row['status'] = _failed(err)
        _row_done(device, log, f'vit {method} {variant}', row)
    return rows


def _groups(data: dict) -> list:
    """The size groups of a synthetic batch's first image: ``[(V_g, 3, H, W), ...]``."""
    first = data['inputs'][0]
    return list(first) if isinstance(first, (list, tuple)) else [first]


def write_jpegs(folder: str, count: int, height: int, width: int, seed: int = 0) -> str:
    """``count`` JPEGs of smooth random scenes (decoding costs what a photo costs)."""
    import cv2
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        small = rng.integers(0, 256, (height // 16, width // 16, 3), dtype=np.uint8)
        image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
        image = np.clip(image + rng.normal(0, 8, image.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(osp.join(folder, f'{i:05d}.jpg'), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return folder


def end_to_end_stage(root: str, device: torch.device, dry_run: bool, budget: Budget,
                     work_dir: str, log: Callable[[str], None]) -> List[dict]:
    count, (h, w) = (4, (120, 160)) if dry_run else (512, (480, 640))
    folder = write_jpegs(osp.join(work_dir, 'jpegs'), count, h, w)
    method, path, batch = METHODS[0]
    batch = 2 if dry_run else batch
    workers = 0 if dry_run else min(16, os.cpu_count() or 1)
    iters, warmup = (1, 0) if dry_run else (8, 3)
    rows = []
    for pipeline, speed in (('CPU views', {}), ('device views', dict(device_views=True))):
        speed = dict(speed, **({} if dry_run else dict(bf16=True, channels_last=True)))
        row = dict(method=method, pipeline=pipeline, workers=workers, batch=batch,
                   images=f'{count} JPEGs {w} x {h}')
        rows.append(row)
        if budget.stage_left() <= 0:
            row['status'] = 'skipped: stage budget spent'
            continue
        try:
            cfg = _config(root, path, speed, dry_run)
            if dry_run:
                _shrink_views(cfg, 64)
            model, optim_wrapper = build_for_benchmark(cfg, device)
            loader = iter(folder_loader(cfg, folder, batch, workers))
            result = time_train_steps(model, optim_wrapper, loader, iters, warmup, device)
            row.update(status='ok', step_s=result['step_s'],
                       img_s=result['images'] / result['step_s'],
                       data_wait=result['data_wait'])
            del model, optim_wrapper, loader
        except Exception as err:  # noqa: BLE001
            row['status'] = _failed(err)
        log(f'end to end {pipeline}: {row["status"]}')
    return rows


def _shrink_views(cfg: Config, size: int) -> None:
    """Set every crop of the training pipeline (and the device view maker) to ``size``."""
    for part in (cfg.train_dataloader, cfg.model.get('data_preprocessor', {})):
        for _, crop in find_by_type(part, 'RandomResizedCropWithBox'):
            crop['size'] = size


def official_stage(root: str, device: torch.device, dry_run: bool, budget: Budget,
                   official_dir: Optional[str], log: Callable[[str], None]) -> List[dict]:
    """The official PixPro step interleaved with ours on the same synthetic batch, in a child
    process that imports the checkout's code from its own path
    (:mod:`dense_ssl_mm.operations.official_pixpro`)."""
    if not official_dir:
        return [dict(status='skipped: no --official checkout given')]
    if not osp.isfile(osp.join(official_dir, 'contrast', 'models', 'PixPro.py')):
        return [dict(status=f'failed: {official_dir!r} has no contrast/models/PixPro.py')]
    seconds = max(0.0, budget.stage_left())
    cmd = [sys.executable, '-m', 'dense_ssl_mm.operations.official_pixpro', '--root', root,
           '--seconds', str(seconds)] + (['--dry-run'] if dry_run else [])
    timeout = seconds + 300  # building both models and the first (compiling) steps
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=root,
                              env=_env_with_path(root, osp.abspath(official_dir)))
    except subprocess.TimeoutExpired:
        return [dict(status=f'skipped: did not finish within {timeout:.0f} s')]
    try:
        row = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = proc.stderr.strip().splitlines()[-1:] if proc.stderr else ''
        return [dict(status=f'failed: exit {proc.returncode}: {tail}')]
    if row.get('status') == 'ok':
        log(f'official {row["official_step_s"]:.3f} s/step, ours {row["ours_step_s"]:.3f} '
            's/step')
    else:
        log(f'official: {row.get("status")}')
    return [row]


def _env_with_path(*folders: str) -> dict:
    """The environment with ``folders`` first on ``PYTHONPATH``."""
    kept = [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(list(folders) + kept))


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def eval_dense_stage(root: str, device: torch.device, dry_run: bool, budget: Budget,
                     work_dir: str, log: Callable[[str], None]) -> List[dict]:
    from dense_ssl_mm.evaluation import build_eval_model, dense_eval
    images = osp.join(work_dir, 'jpegs')
    pairs, view = (2, 64) if dry_run else (200, 224)
    cfg = Config.fromfile(osp.join(root, METHODS[0][1]))
    try:
        model = build_eval_model(cfg, None, 0, level='C4').to(device)
        count = len(glob.glob(osp.join(images, '*.jpg')))
        per_image = max(1, -(-pairs // count))
        start = time.perf_counter()
        metrics = dense_eval(model, osp.join(work_dir, 'eval_dense'), images, 'C4', count,
                             view, 0, progress=False, pairs_per_image=per_image)
        _sync(device)
        seconds = time.perf_counter() - start
        log(f'eval_dense: {count * per_image} pairs in {seconds:.1f} s')
        return [dict(status='ok', pairs=count * per_image, level='C4', view=view,
                     seconds=seconds, pairs_per_s=count * per_image / seconds,
                     pck1_random_init=metrics.get('corr/pck@1'))]
    except Exception as err:  # noqa: BLE001
        return [dict(status=_failed(err))]


def nan_guard_stage(root: str, device: torch.device, dry_run: bool, budget: Budget,
                    step_rows: List[dict], log: Callable[[str], None]) -> List[dict]:
    from dense_ssl_mm.utils.finite import non_finite_names
    cfg = _config(root, METHODS[0][1], {}, dry_run)
    model, _ = build_for_benchmark(cfg, device)
    named = list(model.named_parameters()) + list(model.named_buffers())
    non_finite_names(named)
    _sync(device)
    calls = 3 if dry_run else 20
    start = time.perf_counter()
    for _ in range(calls):
        assert not non_finite_names(named)
    _sync(device)
    per_call = (time.perf_counter() - start) / calls
    step = next((r['step_s'] for r in step_rows
                 if r.get('method') == METHODS[0][0] and r.get('status') == 'ok'), None)
    interval = 50  # NonFiniteGuardHook's default
    row = dict(status='ok', tensors=len(named), check_ms=per_call * 1e3, interval=interval)
    if step:
        row['share_of_step_time'] = per_call / interval / step
    log(f'nan guard: {per_call * 1e3:.2f} ms per weight check')
    return [row]


def ddp_stage(root: str, device: torch.device, dry_run: bool, budget: Budget,
              work_dir: str, log: Callable[[str], None]) -> List[dict]:
    gpus = torch.cuda.device_count() if device.type == 'cuda' else 0
    if gpus < 2 and not dry_run:
        return [dict(status=f'skipped: {gpus} GPU visible, a DDP step needs 2')]
    backend = 'nccl' if gpus >= 2 else 'gloo'
    demo = osp.join(root, 'configs', 'demo', 'pixpro_r18_demo.py')
    # no dense evaluation in 3 iterations: the hook found by its type, wherever it is listed
    hooks = dict(custom_hooks=Config.fromfile(demo).get('custom_hooks', []))
    quiet = [f'{path_str(path)}.interval=1000'
             for path, _ in find_by_type(hooks, 'DenseEvalHook')]
    # --standalone: torchrun's own rendezvous on a free local port
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
           '-m', 'dense_ssl_mm.apis.train', demo, '--launcher', 'pytorch',
           '--work-dir', osp.join(work_dir, 'ddp'), '--cfg-options', 'train_cfg.max_iters=3',
           'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False',
           f'env_cfg.dist_cfg.backend={backend}'] + quiet
    timeout = max(30.0, budget.stage_left())
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              env=_env_with_path(root), cwd=root)
    except subprocess.TimeoutExpired:
        return [dict(status=f'skipped: did not finish within {timeout:.0f} s')]
    seconds = time.perf_counter() - start
    ok = proc.returncode == 0 and osp.isfile(osp.join(work_dir, 'ddp', 'iter_3.pth'))
    log(f'ddp ({backend}): {"ok" if ok else "failed"} in {seconds:.1f} s')
    return [dict(status='ok' if ok else f'failed: exit {proc.returncode}: '
                 f'{proc.stderr.strip().splitlines()[-1:] if proc.stderr else ""}',
                 backend=backend, processes=2, iters=3, seconds=seconds)]


def run_acceptance(root: str, out_dir: str, budget_s: float = 480.0, dry_run: bool = False,
                   official_dir: Optional[str] = None,
                   log: Callable[[str], None] = print) -> dict:
    """Run every stage within ``budget_s`` seconds; write and return the report."""
    device = torch.device('cpu' if dry_run or not torch.cuda.is_available() else 'cuda')
    if not dry_run and device.type != 'cuda':
        raise BadInputStateError('gpu_acceptance needs a GPU (torch.cuda.is_available() is False); '
                                 'use --dry-run to check the command on a CPU')
    os.makedirs(out_dir, exist_ok=True)
    init_default_scope('dense_ssl_mm')
    budget = Budget(budget_s)
    report = dict(mode='dry-run (CPU, tiny sizes)' if dry_run else 'GPU', budget_s=budget_s,
                  stages={})
    stages = report['stages']

    def stage(name, fn):
        allowed = budget.begin(name)
        if allowed <= 0:
            stages[name] = dict(rows=[dict(status='skipped: budget spent')], seconds=0.0)
            return stages[name]['rows']
        start = time.perf_counter()
        rows = fn()
        stages[name] = dict(rows=rows, seconds=time.perf_counter() - start,
                            budget_s=allowed)
        return rows

    stage('environment', lambda: [environment(device)])
    steps = stage('step', lambda: step_stage(root, device, dry_run, budget, log))
    stage('vit', lambda: vit_stage(root, device, dry_run, budget, log))
    stage('end_to_end', lambda: end_to_end_stage(root, device, dry_run, budget, out_dir, log))
    stage('official', lambda: official_stage(root, device, dry_run, budget, official_dir, log))
    stage('eval_dense', lambda: eval_dense_stage(root, device, dry_run, budget, out_dir, log))
    stage('nan_guard', lambda: nan_guard_stage(root, device, dry_run, budget, steps, log))
    stage('ddp', lambda: ddp_stage(root, device, dry_run, budget, out_dir, log))
    report['seconds'] = budget_s - budget.left()
    with open(osp.join(out_dir, 'gpu_report.json'), 'w') as f:
        json.dump(report, f, indent=2, default=str)
    with open(osp.join(out_dir, 'gpu_report.md'), 'w') as f:
        f.write(format_report(report))
    return report


def _cell(value) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.3g}' if abs(value) < 1000 else f'{value:.0f}'
    return str(value)


def format_report(report: dict) -> str:
    """The report as markdown: one table per stage."""
    lines = [f'# GPU acceptance report ({report["mode"]})', '',
             f'Budget {report["budget_s"]:.0f} s, used {report["seconds"]:.0f} s.', '']
    for name, stage in report['stages'].items():
        rows = stage['rows']
        lines += [f'## {name} ({stage["seconds"]:.1f} s)', '']
        keys = list(dict.fromkeys(k for r in rows for k in r))
        lines += ['| ' + ' | '.join(keys) + ' |', '|' + '---|' * len(keys)]
        lines += ['| ' + ' | '.join(_cell(r.get(k)) for k in keys) + ' |' for r in rows]
        lines.append('')
    return '\n'.join(lines)
