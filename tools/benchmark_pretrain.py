"""Measure a pretraining step: time, peak memory, and the share spent outside the backbone.

    python tools/benchmark_pretrain.py configs/pixpro_r50_coco.py --batch-size 32 \
        --img-size 224 [--iters 10] [--warmup 3] [--device cuda] [--amp]

A step is what training does: forward of both views through the online and target branches,
loss, backward, optimizer step (the config's), momentum update. Two more timings split it:
the backbones alone (online forward+backward and target forward of both views), and the head
alone (its loss forward+backward from fixed neck outputs, plus VADeR's queue update). The
rest is the necks, PPM/decoder, optimizer and EMA. Synthetic inputs; prints a small table.
"""
import argparse
import os.path as osp
import resource
import sys
import time

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from dense_ssl_mm.registry import MODELS  # noqa: E402


def synthetic_inputs(n: int, size: int, device: torch.device) -> dict:
    gen = torch.Generator().manual_seed(0)
    views = torch.randn(2, n, 3, size, size, generator=gen)
    xy = torch.rand(2, n, 2, generator=gen) * 100
    wh = torch.rand(2, n, 2, generator=gen) * 300 + 100
    boxes = torch.cat([xy, xy + wh], -1)
    flips = torch.rand(2, n, generator=gen) > 0.5
    return dict(views=views.to(device), boxes=boxes.to(device), flips=flips.to(device))


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def timed(fn, iters: int, warmup: int, device) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=8, help='images per step')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--iters', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true', help='bf16 autocast (GPU)')
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'dense_ssl_mm'))
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).to(device)
    model.init_weights()
    model.train()
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.type = 'OptimWrapper'
    optim_cfg.pop('loss_scale', None)
    optim = build_optim_wrapper(model, optim_cfg)
    inputs = synthetic_inputs(args.batch_size, args.img_size, device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp)

    def step():
        with autocast:
            losses = model(inputs, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optim.update_params(loss)
        model.momentum_update(0.99)

    def backbone_step():
        with autocast:
            out = [model.backbone(v)[-1] for v in inputs['views']]
            with torch.no_grad():
                [model.target_backbone(v) for v in inputs['views']]
        sum(o.float().mean() for o in out).backward()
        model.zero_grad(set_to_none=True)

    with torch.no_grad():  # fixed inputs of the head: what the necks produce
        feats = [model.backbone(v) for v in inputs['views']]
        heads_in = [model.neck(f) for f in feats]
        if hasattr(model, 'ppm'):
            heads_in = [model.ppm(x) for x in heads_in]
    online_in = [x.detach().requires_grad_() for x in heads_in]
    target_in = [x.detach() for x in heads_in]

    def head_step():
        with autocast:
            if model.head.loss_type == 'vader':
                pairs = model.head.matched_pairs(online_in, target_in, inputs['boxes'],
                                                 inputs['flips'])
                losses = model.head.vader_loss(pairs, model.queue.queue)
                model.queue.enqueue(torch.cat([k for _, k, _ in pairs]).detach(),
                                    torch.cat([v for _, _, v in pairs]))
            else:
                losses = model.head.loss(online_in, target_in, inputs['boxes'], inputs['flips'])
        losses[f'loss_{model.head.loss_type}'].backward()

    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats(device)
    t_step = timed(step, args.iters, args.warmup, device)
    if device.type == 'cuda':
        peak = torch.cuda.max_memory_allocated(device) / 2**30
        mem = f'{peak:.2f} GiB (CUDA max allocated)'
    else:
        mem = f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (peak RSS)'
    t_backbone = timed(backbone_step, args.iters, args.warmup, device)
    t_head = timed(head_step, args.iters, args.warmup, device)
    name = osp.splitext(osp.basename(args.config))[0]
    print('| config | device | batch | size | step (s) | img/s | peak memory | outside backbone '
          '| head (+queue) |')
    print('|---|---|---|---|---|---|---|---|---|')
    print(f'| {name} | {device.type} ({torch.get_num_threads()} threads) | {args.batch_size} | '
          f'{args.img_size} | {t_step:.3f} | {args.batch_size / t_step:.1f} | {mem} | '
          f'{max(0.0, 1 - t_backbone / t_step) * 100:.1f} % | {t_head / t_step * 100:.1f} % |')


if __name__ == '__main__':
    main()
