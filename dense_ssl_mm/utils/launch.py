"""Config preparation shared by tools/train.py and tools/test.py (OpenMMLab conventions)."""
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log


def replace_pretrained(node, old: str, new: str) -> int:
    """Point every ``init_cfg=dict(type='Pretrained', checkpoint=old)`` below ``node`` to
    ``new``; return how many were changed."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and node.get('checkpoint') == old:
            node['checkpoint'] = new
            count += 1
        for value in node.values():
            count += replace_pretrained(value, old, new)
    elif isinstance(node, (list, tuple)):
        for value in node:
            count += replace_pretrained(value, old, new)
    return count


def prepare_config(cfg: Config, args) -> Config:
    """Apply the command-line flags to a loaded config.

    Handles ``--cfg-options``, ``--launcher``, ``--work-dir`` (default
    ``./work_dirs/<config name>``), ``--resume [path]``, ``--amp`` and ``--auto-scale-lr``.
    Where no GPU is present, an ``AmpOptimWrapper`` (which mmengine allows on GPUs only)
    falls back to fp32 ``OptimWrapper`` with a warning, so GPU configs also run on CPU.

    Configs with a top-level ``pretrained`` path (the benchmark configs) take a new one with
    ``--cfg-options pretrained=PATH``: every ``Pretrained`` init_cfg that used the old path
    (backbone, and the res5 head of C4 models) is pointed to the new one.
    """
    old_pretrained = cfg.get('pretrained')
    if getattr(args, 'cfg_options', None):
        cfg.merge_from_dict(args.cfg_options)
    new_pretrained = cfg.get('pretrained')
    if isinstance(old_pretrained, str) and new_pretrained != old_pretrained:
        if not replace_pretrained(cfg.get('model'), old_pretrained, new_pretrained):
            raise KeyError(f'pretrained={new_pretrained!r} given, but no Pretrained init_cfg in '
                           f'{args.config} uses its pretrained path {old_pretrained!r}')
    cfg.launcher = args.launcher
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    resume = getattr(args, 'resume', None)
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume is not None:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint {resume!r} does not exist')
        cfg.resume, cfg.load_from = True, resume

    optim_wrapper = cfg.get('optim_wrapper')
    if getattr(args, 'amp', False):
        if optim_wrapper is None:
            raise KeyError(f'--amp needs an optim_wrapper in {args.config}')
        optim_wrapper.type = 'AmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')
    if (optim_wrapper is not None and optim_wrapper.get('type') == 'AmpOptimWrapper'
            and not torch.cuda.is_available()):
        print_log('no GPU: AmpOptimWrapper replaced by fp32 OptimWrapper', logger='current',
                  level=30)
        optim_wrapper.type = 'OptimWrapper'
        optim_wrapper.pop('loss_scale', None)
        optim_wrapper.pop('dtype', None)

    if getattr(args, 'auto_scale_lr', False):
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise KeyError(f'--auto-scale-lr needs auto_scale_lr.base_batch_size in '
                           f'{args.config}')
        cfg.auto_scale_lr.enable = True
    return cfg


def init_cpu_distributed(cfg: Config) -> bool:
    """Start the process group for a multi-process run on machines without a GPU.

    mmengine's ``init_dist`` always calls ``torch.cuda.set_device``, which fails without a
    GPU. For ``launcher='pytorch'`` (torchrun) on CPU we start the group ourselves with gloo;
    the Runner then finds it initialised and skips its own. The DDP wrapper gets
    ``device_ids=None`` (CPU modules), since mmengine would pass the local rank as a GPU id.
    Returns True if it started a group.
    """
    import torch.distributed as dist
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return False
    if dist.is_initialized():
        return False
    backend = cfg.get('env_cfg', {}).get('dist_cfg', {}).get('backend', 'gloo')
    if backend != 'gloo':
        print_log(f'no GPU: distributed backend {backend!r} replaced by gloo', logger='current',
                  level=30)
    dist.init_process_group(backend='gloo')
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                     broadcast_buffers=False)
    return True
