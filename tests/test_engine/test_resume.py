"""Resume is exact: N iterations straight equal N/2 + crash + resume + N/2 (weights, target,
momentum schedule, VADeR's queue)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dense_ssl_mm.registry import HOOKS

from ..conftest import REPO
from ..helpers import tiny_model_cfg, tiny_vader_cfg


class SimulatedCrash(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class CrashAfterIter(Hook):
    """Test hook: kill the run after a given iteration (after its checkpoint is written)."""

    priority = 'LOWEST'

    def __init__(self, after_iter):
        self.after_iter = after_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.after_iter:
            raise SimulatedCrash(f'crash after iteration {self.after_iter}')


def demo_cfg(work_dir, max_iters, resume=False, algorithm='PixPro'):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    cfg.model = tiny_model_cfg() if algorithm == 'PixPro' else tiny_vader_cfg()
    crop = dict(type='RandomResizedCropWithBox', size=64, scale=(0.3, 1.0))
    pipe = cfg.train_dataloader.dataset.pipeline[1]
    for view in pipe.view_pipelines:
        view[0] = crop
    cfg.train_dataloader.update(batch_size=3, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks[0].base_target_momentum = 0.9  # make the schedule visible in 4 steps
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=7, deterministic=True)
    cfg.resume = resume
    cfg.experiment_name = f'resume{max_iters}{resume}'
    return cfg


@pytest.mark.parametrize('algorithm', ['PixPro', 'VADeR'])
def test_resume_continues_exactly(tmp_path, algorithm):
    torch.set_num_threads(1)
    straight = Runner.from_cfg(demo_cfg(tmp_path / 'a', 4, algorithm=algorithm))
    straight.train()
    crashing = demo_cfg(tmp_path / 'b', 4, algorithm=algorithm)
    crashing.custom_hooks.append(dict(type='CrashAfterIter', after_iter=2))
    with pytest.raises(SimulatedCrash):
        Runner.from_cfg(crashing).train()
    assert osp.isfile(tmp_path / 'b' / 'iter_2.pth')
    resumed = Runner.from_cfg(demo_cfg(tmp_path / 'b', 4, resume=True, algorithm=algorithm))
    resumed.train()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert int(a['momentum_steps']) == int(b['momentum_steps']) == 4
    assert any(k.startswith('target_backbone.') for k in a)
    if algorithm == 'VADeR':  # the queue of negatives continues too
        assert 'queue.queue' in a and int(a['queue.ptr']) == 4 * 2 * 3 * 8 % 100
    for key in a:
        assert torch.equal(a[key], b[key]), key
    hub_a = straight.message_hub.get_scalar('train/target_momentum').current()
    hub_b = resumed.message_hub.get_scalar('train/target_momentum').current()
    assert hub_a == hub_b and hub_a > 0.9
