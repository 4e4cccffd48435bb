"""Run under torchrun: a few demo iterations of PixPro, VADeR or DenseCL with DDP on CPU
(gloo), then each rank saves its model state to <work_dir>/rank<R>.pth for
test_distributed.py to compare; or ``shuffle``: MoCo's batch shuffle on known tensors.

    python -m torch.distributed.run --nproc_per_node 2 dist_worker.py WORK_DIR ALGORITHM
"""
import os
import os.path as osp
import sys

import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)
from dense_ssl_mm.utils import install_checkpoint_io  # noqa: E402
from dense_ssl_mm.apis.launch import init_cpu_distributed  # noqa: E402
from tests.helpers import tiny_model_cfg, tiny_moco_cfg, tiny_vader_cfg  # noqa: E402


def shuffle(work_dir: str) -> None:
    """Each rank shuffles 3 rows labelled rank * 10 + i and undoes it; saves what it saw."""
    from dense_ssl_mm.models.utils import batch_shuffle, batch_unshuffle
    torch.distributed.init_process_group('gloo')
    rank = torch.distributed.get_rank()
    torch.manual_seed(rank)  # different generators: the permutation must come from rank 0
    rows = torch.arange(3, dtype=torch.float32)[:, None] + 10 * rank
    shuffled, undo = batch_shuffle(rows)
    restored = batch_unshuffle(shuffled * 2, undo)
    torch.save(dict(shuffled=shuffled, restored=restored),
               osp.join(work_dir, f'rank{rank}.pth'))
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()


def main(work_dir: str, algorithm: str) -> None:
    torch.set_num_threads(1)
    if algorithm == 'shuffle':
        return shuffle(work_dir)
    install_checkpoint_io()
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    cfg.model = dict(PixPro=tiny_model_cfg, VADeR=tiny_vader_cfg,
                     DenseCL=lambda: tiny_moco_cfg('DenseCL', 8))[algorithm]()
    for view in cfg.train_dataloader.dataset.pipeline[1].view_pipelines:
        view[0] = dict(type='RandomResizedCropWithBox', size=64, scale=(0.3, 1.0))
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_iters = 3
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.sync_bn = None  # the one setting: torch's SyncBN has no CPU path
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.launcher = 'pytorch'
    cfg.work_dir = work_dir
    init_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()
    rank = int(os.environ['RANK'])
    state = runner.model.module.state_dict()
    torch.save({k: v.cpu() for k, v in state.items()}, osp.join(work_dir, f'rank{rank}.pth'))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
