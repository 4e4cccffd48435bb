"""Resume is exact: N iterations straight equal N/2 + crash + resume + N/2 (weights, target,
momentum schedule, VADeR's and DenseCL's queues, DetCon's segment draws; VICRegL's multi-crop
run without a target)."""
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dense_ssl_mm.registry import HOOKS

from ..helpers import demo_cfg


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


@pytest.mark.parametrize('algorithm', ['PixPro', 'VADeR', 'DenseCL', 'VICRegL', 'DetConB'])
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
    if algorithm == 'VICRegL':
        assert not any(k.startswith('target_') or k == 'momentum_steps' for k in a)
        assert torch.equal(a['backbone.conv1.weight'], b['backbone.conv1.weight'])
        first = Runner.from_cfg(demo_cfg(tmp_path / 'c', 2, algorithm=algorithm))
        first.train()  # the weights do move between iterations 2 and 4
        assert not torch.equal(first.model.state_dict()['local_neck.mlp.0.weight'],
                               a['local_neck.mlp.0.weight'])
        for key in a:
            assert torch.equal(a[key], b[key]), key
        return
    assert int(a['momentum_steps']) == int(b['momentum_steps']) == 4
    assert any(k.startswith('target_backbone.') for k in a)
    if algorithm == 'VADeR':  # the queue of negatives continues too
        assert 'queue.queue' in a and int(a['queue.ptr']) == 4 * 2 * 3 * 8 % 100
    if algorithm == 'DetConB':  # the segment draws continue from the checkpointed step
        assert int(a['sampling_steps']) == int(b['sampling_steps']) == 4
    if algorithm == 'DenseCL':  # both queues: 4 steps x 3 images, mod 16
        assert int(a['queue.ptr']) == int(a['dense_queue.ptr']) == 4 * 3 % 16
    for key in a:
        assert torch.equal(a[key], b[key]), key
    hub_a = straight.message_hub.get_scalar('train/target_momentum').current()
    hub_b = resumed.message_hub.get_scalar('train/target_momentum').current()
    assert hub_a == hub_b and hub_a > 0.9


def test_neco_resume_continues_exactly(tmp_path):
    """NeCo from a DINOv2-layout file: student, teacher, both reference queues, the seeded
    draws (references, pushed patches, drop path), the lr, weight-decay and momentum
    schedules continue exactly."""
    from dense_ssl_mm.apis.export import write_random_dinov2
    from ..helpers import neco_demo_cfg
    torch.set_num_threads(1)
    dinov2 = tmp_path / 'dinov2_vitt14.pth'
    write_random_dinov2(str(dinov2), arch='tiny')
    straight = Runner.from_cfg(neco_demo_cfg(tmp_path / 'a', 4, dinov2))
    straight.train()
    crashing = neco_demo_cfg(tmp_path / 'b', 4, dinov2)
    crashing.custom_hooks.append(dict(type='CrashAfterIter', after_iter=2))
    with pytest.raises(SimulatedCrash):
        Runner.from_cfg(crashing).train()
    resumed = Runner.from_cfg(neco_demo_cfg(tmp_path / 'b', 4, dinov2, resume=True))
    resumed.train()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert int(a['momentum_steps']) == int(a['sampling_steps']) == 4
    assert int(a['reference_queue.filled']) == 64  # 4 steps x 3 images x 10 > 64: full
    assert int(a['reference_queue.ptr']) == 4 * 3 * 10 % 64
    for key in a:
        assert torch.equal(a[key], b[key]), key
    first = Runner.from_cfg(neco_demo_cfg(tmp_path / 'c', 2, dinov2))
    first.train()  # the weights do move between iterations 2 and 4
    assert not torch.equal(first.model.state_dict()['backbone.blocks.0.attn.qkv.weight'],
                           a['backbone.blocks.0.attn.qkv.weight'])
    groups_a = straight.optim_wrapper.optimizer.param_groups
    groups_b = resumed.optim_wrapper.optimizer.param_groups
    assert [(g['lr'], g['weight_decay']) for g in groups_a] == \
        [(g['lr'], g['weight_decay']) for g in groups_b]
