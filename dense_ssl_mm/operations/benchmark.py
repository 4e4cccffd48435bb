"""Time the real training step of a config: synthetic batches or a folder of images."""
import copy
import resource
import time
from itertools import groupby
from typing import Callable, Dict, Iterator, Optional

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from dense_ssl_mm.datasets.transforms.multi_view import VIEW_TRANSFORMS
from dense_ssl_mm.datasets.transforms.view_spec import ViewSpec
from dense_ssl_mm.engine.speed import apply_model_switches, speed_settings
from dense_ssl_mm.models.algorithms import MomentumTarget
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.utils.config_walk import find_by_type


def synthetic_data(n: int, size: int, seed: int = 0) -> dict:
    """A collated batch as the dataloader gives it: ``n`` uint8 ``(2, 3, size, size)`` view
    pairs and their :class:`ViewData` (random overlapping boxes in a 480 x 640 image)."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (2, 3, size, size), generator=gen, dtype=torch.uint8)
              for _ in range(n)]
    samples = []
    for _ in range(n):
        xy = torch.rand(2, 2, generator=gen) * 200
        wh = torch.rand(2, 2, generator=gen) * 200 + 200
        samples.append(ViewData(metainfo=dict(ori_shape=(480, 640)),
                                boxes=torch.cat([xy, xy + wh], -1),
                                flips=torch.rand(2, generator=gen) > 0.5))
    return dict(inputs=inputs, data_samples=samples)


def view_pipelines_of(cfg: Config) -> Optional[list]:
    """The view pipelines of the config's ``MultiViewTransform`` (None without one)."""
    found = find_by_type(cfg.train_dataloader.dataset.pipeline,
                         VIEW_TRANSFORMS)
    return list(found[0][1]['view_pipelines']) if found else None


def synthetic_batch(cfg: Config, n: int, size: Optional[int] = None, seed: int = 0) -> dict:
    """A collated batch shaped as the config's pipeline makes it: its views (sizes from the
    view specs, the first scaled to ``size`` and the others in proportion), their
    geometry, and segment masks where the pipeline has ``MasksToViews`` (8 x 8 blocks of
    random ids, about as many segments as FH finds in a photo)."""
    pipelines = view_pipelines_of(cfg)
    if pipelines is None:
        return synthetic_data(n, size or 224, seed)
    sizes = [ViewSpec.from_pipeline(p).crop.size[0] for p in pipelines]
    if size:
        sizes = [max(1, round(s * size / sizes[0])) for s in sizes]
    masks = bool(find_by_type(cfg.train_dataloader.dataset.pipeline, 'MasksToViews'))
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for _ in range(n):
        views = [torch.randint(0, 256, (3, s, s), generator=gen, dtype=torch.uint8)
                 for s in sizes]
        groups = [torch.stack(list(g)) for _, g in groupby(views, key=lambda v: v.shape)]
        inputs.append(groups[0] if len(groups) == 1 else groups)
        xy = torch.rand(len(sizes), 2, generator=gen) * 200
        wh = torch.rand(len(sizes), 2, generator=gen) * 200 + 200
        sample = ViewData(metainfo=dict(ori_shape=(480, 640)),
                          boxes=torch.cat([xy, xy + wh], -1),
                          flips=torch.rand(len(sizes), generator=gen) > 0.5)
        if masks:
            blocks = torch.randint(0, 16, (len(sizes), 8, 8), generator=gen, dtype=torch.int32)
            sample.masks = blocks.repeat_interleave(sizes[0] // 8, 1).repeat_interleave(
                sizes[0] // 8, 2)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def synthetic_images(n: int, height: int = 480, width: int = 640, seed: int = 0) -> dict:
    """A collated batch for ``speed.device_views``: ``n`` decoded uint8 ``(3, H, W)`` images
    packed as :class:`PackImageForDeviceViews` packs them (views are made on the device)."""
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, height, width), generator=gen, dtype=torch.uint8)
              for _ in range(n)]
    samples = [ViewData(metainfo=dict(ori_shape=(height, width), scale=(1.0, 1.0)))
               for _ in range(n)]
    return dict(inputs=inputs, data_samples=samples)


def build_for_benchmark(cfg: Config, device: torch.device):
    """The model of a config (already through :func:`apply_speed_config`) with its model
    switches applied, plain BN in one process, on ``device``, and its optimizer wrapper."""
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model = apply_model_switches(model, **speed_settings(cfg)).to(device)
    model.init_weights()
    model.train()
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    if optim_cfg.get('type') == 'AmpOptimWrapper' and device.type != 'cuda':
        optim_cfg.type = 'OptimWrapper'  # mmengine's AMP wrapper is GPU-only
        for key in ('loss_scale', 'dtype'):
            optim_cfg.pop(key, None)
    return model, build_optim_wrapper(model, optim_cfg)


def folder_loader(cfg: Config, data_root: str, batch_size: int, num_workers: int):
    """The train dataloader of a config (already through :func:`apply_speed_config`: its
    pipeline, pinning and collate) over a folder of images."""
    loader = copy.deepcopy(cfg.train_dataloader)
    pipeline = loader.dataset.pipeline
    loader.dataset = dict(type='ImageFolderDataset', data_root=data_root, pipeline=pipeline)
    loader.update(batch_size=batch_size, num_workers=num_workers, drop_last=True,
                  persistent_workers=num_workers > 0,
                  sampler=dict(type='InfiniteSampler', shuffle=True))
    return Runner.build_dataloader(loader)


def peak_memory(device: torch.device) -> str:
    if device.type == 'cuda':
        return f'{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB (CUDA max allocated)'
    return f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (peak RSS)'


def time_train_steps(model, optim_wrapper, batches: Iterator[dict], iters: int, warmup: int,
                     device: torch.device, target_momentum: float = 0.99,
                     clock: Callable[[], float] = time.perf_counter) -> Dict[str, float]:
    """Run ``warmup + iters`` real steps: ``model.train_step`` (data preprocessor, forward,
    loss, backward, optimizer step) and the momentum update the hook would make.

    Returns:
        ``step_s`` (mean seconds per step), ``data_wait`` (share of the time spent waiting for
        the next batch), ``images`` per step and ``loss`` of the last step.
    """
    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    def ema():
        if isinstance(model, MomentumTarget):
            model.momentum_update(target_momentum)

    losses: Optional[dict] = None
    for _ in range(warmup):
        losses = model.train_step(next(batches), optim_wrapper)
        ema()
    sync()
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    waited, images = 0.0, 0
    start = clock()
    for _ in range(iters):
        before = clock()
        data = next(batches)
        waited += clock() - before
        images = len(data['inputs'])
        losses = model.train_step(data, optim_wrapper)
        ema()
    sync()
    total = clock() - start
    return dict(step_s=total / iters, data_wait=waited / total, images=images,
                loss=float(losses['loss'].detach()) if losses else float('nan'))
