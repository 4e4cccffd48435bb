"""Cost of the NaN guard (NonFiniteGuardHook) for a config's model.

    python tools/benchmark_guard.py configs/pixpro_r50_coco.py [--device cuda] [--iters 20]

Prints the time of its three checks: the per-iteration loss check (host floats that
RuntimeInfoHook already copied; no device sync), the weight check run every ``interval``
iterations (one fused norm pass over parameters and buffers, one sync), and the check of a
checkpoint's CPU state before each save. Divide by the step time of
``tools/benchmark_pretrain.py`` for the share of training time.
"""
import argparse
import os.path as osp
import time
from types import SimpleNamespace

import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope

from dense_ssl_mm.engine.hooks import NonFiniteGuardHook
from dense_ssl_mm.utils.finite import non_finite_names
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.cli import run_tool


def timed(fn, iters: int, device: torch.device) -> float:
    fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) / iters


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--iters', type=int, default=20)
    args = parser.parse_args(argv)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'dense_ssl_mm'))
    device = torch.device(args.device)
    model = MODELS.build(cfg.model).to(device)
    hub = MessageHub.get_instance('benchmark_guard')
    outputs = {'loss': torch.tensor(-1.0, device=device),
               'loss_pixpro': torch.tensor(-1.0, device=device)}
    for key in outputs:
        hub.update_scalar(f'train/{key}', -1.0)
    interval = cfg.default_hooks.get('non_finite_guard', {}).get('interval', 50)
    hook = NonFiniteGuardHook(interval=interval)
    # iteration 1 of a long run: not a weight-check iteration, so only the loss is read
    runner = SimpleNamespace(model=model, message_hub=hub, iter=0, max_iters=10**9,
                             train_loop=SimpleNamespace(max_iters=10**9))
    per_iter = timed(lambda: hook.after_train_iter(runner, 0, outputs=outputs), args.iters * 50,
                     device)
    named = list(model.named_parameters()) + list(model.named_buffers())
    weights = timed(lambda: non_finite_names(named), args.iters, device)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    save = timed(lambda: hook.before_save_checkpoint(runner, {'state_dict': state}),
                 max(args.iters // 4, 1), device)
    print(f'{osp.basename(args.config)} on {device}: {len(named)} tensors, '
          f'{sum(t.numel() for _, t in named) / 1e6:.1f} M values')
    print(f'| check | when | time |\n|---|---|---|\n'
          f'| loss (host floats) | every iteration | {per_iter * 1e6:.1f} us |\n'
          f'| weights (fused norm, 1 sync) | every {interval} iterations | {weights * 1e3:.2f} ms '
          f'({weights / interval * 1e3:.3f} ms per iteration) |\n'
          f'| checkpoint state (CPU) | before each save | {save * 1e3:.1f} ms |')


if __name__ == '__main__':
    run_tool('benchmark_guard', main)
