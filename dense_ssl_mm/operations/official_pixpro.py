"""The official PixPro step (github.com/zdaxie/PixPro) timed beside ours, in a process of its own.

The acceptance run's ``official`` stage starts::

    PYTHONPATH=CHECKOUT:... python -m dense_ssl_mm.operations.official_pixpro --root REPO \
        --seconds S [--dry-run]

so the official code is imported from its own path under its own names (``contrast.resnet``,
``contrast.models``), nothing patched or swapped. Rounds alternate the official step (its
model, SGD with momentum, autocast) and ours (``bf16 + channels_last``) on the same synthetic
batch; the best round of each is reported. Prints the stage's row as one JSON line.
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
import time
import types
from typing import Callable, List, Optional

import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope

#: The configs' PixPro (``configs/pixpro_r50_coco.py``) in the official code's arguments.
OFFICIAL_ARGS = dict(feature_dim=256, head_type='early_return', pixpro_p=2.0,
                     pixpro_momentum=0.99, pixpro_pos_ratio=0.7, pixpro_clamp_value=0.0,
                     pixpro_transform_layer=1, pixpro_ins_loss_weight=0.0,
                     num_instances=118287, epochs=800, start_epoch=1)
CONFIG = osp.join('configs', 'pixpro_r50_coco.py')


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def time_rounds(steps: dict, rounds: int, iters: int, device: torch.device,
                left: Callable[[], float]) -> dict:
    """Alternate ``steps`` (name -> callable) for ``rounds`` rounds of one warm-up and ``iters``
    timed calls each, while ``left()`` (seconds) stays positive.

    Returns:
        name -> the mean seconds per call of each round it ran.
    """
    times = {name: [] for name in steps}
    for _ in range(rounds):
        for name, step in steps.items():
            if left() <= 0:
                return times
            step()  # warm-up of this round
            _sync(device)
            start = time.perf_counter()
            for _ in range(iters):
                step()
            _sync(device)
            times[name].append((time.perf_counter() - start) / iters)
    return times


def official_row(root: str, seconds: float, dry_run: bool) -> dict:
    """Build both steps and time them; the acceptance report's row."""
    import contrast.models as official_models  # the checkout on PYTHONPATH
    from contrast.resnet import resnet50
    from mmengine.config import Config

    import dense_ssl_mm  # noqa: F401  (registries)
    from dense_ssl_mm.engine.speed import apply_speed_config
    from dense_ssl_mm.operations.benchmark import build_for_benchmark, synthetic_data

    deadline = time.monotonic() + seconds
    device = torch.device('cuda' if torch.cuda.is_available() and not dry_run else 'cpu')
    batch, size, rounds, iters = (2, 64, 1, 1) if dry_run else (128, 224, 3, 5)
    init_default_scope('dense_ssl_mm')
    # the official model asks the world size: a one-process group through a file, no port
    torch.distributed.init_process_group(
        'gloo', init_method=f'file://{osp.join(tempfile.mkdtemp(), "pg")}', rank=0,
        world_size=1)
    try:
        args = types.SimpleNamespace(batch_size=batch, **OFFICIAL_ARGS)
        official = official_models.PixPro(resnet50, args)
        official = revert_sync_batchnorm(official).to(device).train()
        if not dry_run:
            official = official.to(memory_format=torch.channels_last)
        optimizer = torch.optim.SGD(official.parameters(), lr=1.0, momentum=0.9)
        gen = torch.Generator().manual_seed(0)
        views = [torch.randn(batch, 3, size, size, generator=gen).to(device) for _ in range(2)]
        coords = [torch.tensor([[0.0, 0.0, 1.0, 1.0]]).repeat(batch, 1).to(device)] * 2
        dtype = torch.bfloat16 if device.type == 'cuda' else torch.float32

        def official_step():
            with torch.autocast(device.type, dtype=dtype, enabled=device.type == 'cuda'):
                loss = official(views[0], views[1], coords[0], coords[1])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        cfg = Config.fromfile(osp.join(root, CONFIG))
        if dry_run:  # plain fp32 on the CPU (mmengine's AMP wrapper is GPU-only)
            cfg.optim_wrapper.type = 'OptimWrapper'
            for key in ('loss_scale', 'dtype'):
                cfg.optim_wrapper.pop(key, None)
        else:
            cfg.speed = dict(bf16=True, channels_last=True)
        model, optim_wrapper = build_for_benchmark(apply_speed_config(cfg), device)
        data = synthetic_data(batch, size)

        def our_step():
            model.train_step(data, optim_wrapper)
            model.momentum_update(0.99)

        times = time_rounds(dict(official=official_step, ours=our_step), rounds, iters,
                            device, lambda: deadline - time.monotonic())
    finally:
        torch.distributed.destroy_process_group()
    if not times['official'] or not times['ours']:
        return dict(status='skipped: stage budget spent')
    official_s, ours_s = min(times['official']), min(times['ours'])
    return dict(status='ok', batch=batch, views=f'2 x {size} px', official_step_s=official_s,
                ours_step_s=ours_s, speedup=official_s / ours_s, rounds=len(times['ours']),
                official_code=osp.abspath(sys.modules[official_models.PixPro.__module__]
                                          .__file__))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--root', required=True, help='this repository (for its configs)')
    parser.add_argument('--seconds', type=float, required=True, help='time budget')
    parser.add_argument('--dry-run', action='store_true', help='one tiny step on the CPU')
    args = parser.parse_args(argv)
    try:
        row = official_row(args.root, args.seconds, args.dry_run)
    except Exception as err:  # noqa: BLE001 - a failed row is reported, the run goes on
        row = dict(status=f'failed: {type(err).__name__}: {str(err)[:300]}')
    print(json.dumps(row))
    return 0


if __name__ == '__main__':
    sys.exit(main())
