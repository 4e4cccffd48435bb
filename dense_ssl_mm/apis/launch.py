"""Config preparation shared by training and testing (OpenMMLab conventions), and the
commands that run them in a process under a launcher (``python -m dense_ssl_mm.apis.train``:
the library never runs a ``tools/*.py`` by path, so a non-editable install works)."""
import glob
import os
import os.path as osp
import re
import shlex
import subprocess
import sys
from typing import List, Optional, Tuple

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from dense_ssl_mm.engine.hooks import NonFiniteError
from dense_ssl_mm.utils.checkpoint import checkpoint_problem
from dense_ssl_mm.utils.errors import (BadInputError, BadInputFileError, BadInputKeyError,
                                       BadInputStateError)

#: The modules :func:`module_command` runs (``tools/train.py`` and ``tools/test.py`` call them).
TRAIN, TEST = 'dense_ssl_mm.apis.train', 'dense_ssl_mm.apis.test'
PRETRAINED_TYPES = ('Pretrained', 'StrictPretrained')
_CKPT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def find_resume_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The newest sound checkpoint of ``work_dir``, for ``--resume`` without a path.

    Candidates, in order: the file named in ``last_checkpoint`` *looked up in the given work
    dir by its file name* (mmengine stores an absolute path, which is wrong once the work dir
    was moved or copied), then every ``iter_N.pth`` / ``epoch_N.pth`` from the highest N
    down. The first whose zip container and record CRCs are intact is returned; a truncated
    or corrupt one (a save killed mid-way on a file system without atomic rename, a copy
    that did not finish) is skipped.

    Returns:
        ``(path or None, ["<file>: <why skipped>", ...])``.
    """
    candidates = []
    last = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            named = f.read().strip()
        if named:
            candidates.append(osp.join(work_dir, osp.basename(named)))
    numbered = [(int(m.group(1)), path) for path in glob.glob(osp.join(work_dir, '*.pth'))
                for m in [_CKPT_NAME.match(osp.basename(path))] if m]
    candidates += [path for _, path in sorted(numbered, reverse=True)]
    skipped, tried = [], set()
    for path in candidates:
        if path in tried:
            continue
        tried.add(path)
        if not osp.isfile(path):
            skipped.append(f'{path}: named in last_checkpoint but not in the work dir')
            continue
        problem = checkpoint_problem(path, verify_data=True)
        if problem is None:
            return path, skipped
        skipped.append(f'{path}: {problem}')
    return None, skipped


def replace_pretrained(node, old: str, new: str) -> int:
    """Point every ``init_cfg=dict(type='Pretrained' or 'StrictPretrained', checkpoint=old)``
    below ``node`` to ``new``; return how many were changed."""
    count = 0
    if isinstance(node, dict):
        kind = str(node.get('type', '')).split('.')[-1]
        if kind in PRETRAINED_TYPES and node.get('checkpoint') == old:
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
            raise BadInputKeyError(f'pretrained={new_pretrained!r} given, but no Pretrained '
                                   f'init_cfg in {args.config} uses its pretrained path '
                                   f'{old_pretrained!r}')
    cfg.launcher = args.launcher
    if getattr(args, 'work_dir', None):
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])

    resume = getattr(args, 'resume', None)
    if resume == 'auto':
        found, skipped = find_resume_checkpoint(cfg.work_dir)
        for line in skipped:
            print_log(f'--resume: skipped {line}', logger='current', level=30)
        if found is None and skipped:
            raise BadInputStateError(f'--resume: no readable checkpoint in {cfg.work_dir!r}; '
                                     f'skipped: {"; ".join(skipped)}')
        if found is None:
            print_log(f'--resume: no checkpoint in {cfg.work_dir!r} yet, starting from '
                      'iteration 0', logger='current')
        cfg.resume, cfg.load_from = True, found
    elif resume is not None:
        if not osp.isfile(resume):
            raise BadInputFileError(f'--resume checkpoint {resume!r} does not exist')
        cfg.resume, cfg.load_from = True, resume

    optim_wrapper = cfg.get('optim_wrapper')
    if getattr(args, 'amp', False):
        if optim_wrapper is None:
            raise BadInputKeyError(f'--amp needs an optim_wrapper in {args.config}')
        optim_wrapper.type = 'AmpOptimWrapper'
        optim_wrapper.setdefault('loss_scale', 'dynamic')
    if (optim_wrapper is not None and optim_wrapper.get('type') == 'AmpOptimWrapper'
            and not torch.cuda.is_available()):
        print_log('no GPU: AmpOptimWrapper replaced by fp32 OptimWrapper', logger='current',
                  level=30)
        optim_wrapper.type = 'OptimWrapper'
        optim_wrapper.pop('loss_scale', None)
        optim_wrapper.pop('dtype', None)

    if (cfg.launcher != 'none' and cfg.get('sync_bn') and not torch.cuda.is_available()):
        print_log(f"no GPU: torch's SyncBatchNorm has no CPU path, so sync_bn="
                  f"{cfg.sync_bn!r} is replaced by plain BN (per-process statistics)",
                  logger='current', level=30)
        cfg.sync_bn = None

    if getattr(args, 'auto_scale_lr', False):
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise BadInputKeyError(f'--auto-scale-lr needs auto_scale_lr.base_batch_size in '
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


def train_reporting_stops(runner, config: str) -> int:
    """``runner.train()``; return 0, or the exit code of a stop reported in one clear line.

    - A non-finite loss or weight (:class:`NonFiniteError`): the message names the iteration
      and the last good checkpoint; exit code 1.
    - Ctrl-C: says where the run stopped and how to continue; exit code 130. mmengine
      formats the config inside ``save_checkpoint`` and reports a Ctrl-C there as
      ``SyntaxError: Failed to format the config file``; that case is recognised as well.
    Other errors propagate with their traceback.
    """
    try:
        runner.train()
    except NonFiniteError as err:
        print_log(f'stopped: {err}', logger='current', level=30)
        return 1
    except (KeyboardInterrupt, SyntaxError) as err:
        if isinstance(err, SyntaxError) and not isinstance(err.__context__, KeyboardInterrupt):
            raise
        print_log(f'interrupted at iteration {runner.iter}. Checkpoints are written atomically, '
                  'so none is half-written; continue with: python tools/train.py '
                  f'{config} --work-dir {runner.work_dir} --resume', logger='current',
                  level=30)
        return 130
    return 0


def module_command(module: str, args: List[str], launcher: str = 'none',
                   gpus: int = 1) -> List[str]:
    """The command that runs ``python -m <module>`` (:data:`TRAIN`, :data:`TEST`) in one
    process, under torchrun (``launcher='pytorch'``, ``gpus`` processes, port ``$PORT`` or
    29500) or under ``srun`` (``launcher='slurm'``, up to 8 per node, extra flags in
    ``$SRUN_ARGS``)."""
    py = [sys.executable, '-m', module]
    if launcher == 'none':
        return py + args
    if launcher == 'pytorch':
        return ([sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={gpus}',
                 f'--master_port={os.environ.get("PORT", "29500")}', '-m', module] + args +
                ['--launcher', 'pytorch'])
    if launcher != 'slurm':
        raise BadInputError(f"launcher must be 'none', 'pytorch' or 'slurm', got {launcher!r}")
    per_node = min(gpus, 8)
    return (['srun', f'--ntasks={gpus}', f'--ntasks-per-node={per_node}',
             f'--gres=gpu:{per_node}', '--kill-on-bad-exit=1'] +
            shlex.split(os.environ.get('SRUN_ARGS', '')) + py + args + ['--launcher', 'slurm'])


def run_logged(cmd: List[str], log_path: str) -> int:
    """Run ``cmd`` with its output in ``log_path`` (the command on the first line)."""
    with open(log_path, 'w') as log:
        log.write('$ ' + ' '.join(shlex.quote(c) for c in cmd) + '\n')
        log.flush()
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT,
                              cwd=os.getcwd()).returncode
