"""Resume is exact for NeCo's schedules (lr, weight decay, momentum) and queues over four
steps; every demo config's resume is checked by the registry-wide contract
(tests/test_contract.py)."""
import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dense_ssl_mm.registry import HOOKS


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


@pytest.mark.slow
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
