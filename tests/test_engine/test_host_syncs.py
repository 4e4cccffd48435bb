"""Host syncs: the counter sees each kind, and no training step of ours asks for one."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from dense_ssl_mm.engine.speed import apply_speed_config
from dense_ssl_mm.operations.benchmark import (build_for_benchmark, synthetic_data,
                                               synthetic_images)
from dense_ssl_mm.operations.host_syncs import HostSyncCounter
from tests.helpers import REPO

x = torch.arange(6.0)
mask = x > 2

SYNCING = {
    'item': lambda: x.sum().item(),
    'float()': lambda: float(x.sum()),
    'bool()': lambda: bool(x.sum() > 0),
    'nonzero': lambda: torch.nonzero(mask),
    'where(cond)': lambda: torch.where(mask),
    'boolean-mask index': lambda: x[mask],
    'boolean-mask assignment': lambda: x.clone().__setitem__(mask, 0.0),
    'masked_select': lambda: torch.masked_select(x, mask),
    'equal': lambda: torch.equal(x, x),
    'unique': lambda: torch.unique(x),
    'repeat_interleave': lambda: torch.repeat_interleave(torch.tensor([1, 2])),
    'repeat_interleave(x, tensor)': lambda: x[:2].repeat_interleave(torch.tensor([1, 2])),
    'bincount': lambda: torch.bincount(torch.tensor([0, 2])),
    '.cpu()': lambda: x.cpu(),
    '.tolist()': lambda: x.tolist(),
    '.numpy()': lambda: x.numpy(),
    ".to('cpu') of a device tensor": lambda: copy_out_of_meta(),
}


def copy_out_of_meta():
    """A tensor off the CPU copied to it (meta stands in for a GPU; the copy itself fails
    after the counter has seen it)."""
    try:
        torch.empty(2, device='meta').to('cpu')
    except (NotImplementedError, RuntimeError):
        pass


NOT_SYNCING = {
    'arithmetic': lambda: (x * 2 + 1).sum(),
    'where(cond, a, b)': lambda: torch.where(mask, x, -x),
    'integer index': lambda: x[torch.tensor([0, 2])],
    'masked_fill': lambda: x.masked_fill(mask, 0.0),
    'repeat_interleave with output_size': lambda: torch.repeat_interleave(
        x[:2], torch.tensor([1, 2]), output_size=3),
    'repeat_interleave by an int': lambda: x.repeat_interleave(2),
    'bincount with minlength': lambda: torch.bincount(torch.tensor([0, 2]), minlength=3),
    'argmax': lambda: x.argmax(),
    '.to(dtype)': lambda: x.to(torch.float64),
    ".to('cpu') of a CPU tensor (host to device on a CPU run)": lambda: x.to('cpu'),
}


@pytest.mark.parametrize('name', list(SYNCING))
def test_counter_sees_each_sync(name):
    with HostSyncCounter() as counter:
        SYNCING[name]()
    assert len(counter.syncs) >= 1, name
    assert all(osp.basename(s.file) == 'test_host_syncs.py' for s in counter.syncs)


@pytest.mark.parametrize('name', list(NOT_SYNCING))
def test_counter_ignores_async_operations(name):
    with HostSyncCounter() as counter:
        NOT_SYNCING[name]()
    assert counter.syncs == [], counter.report()


def test_counter_restores_the_tensor_methods():
    methods = {m: getattr(torch.Tensor, m) for m in ('cpu', 'tolist', 'numpy', 'to')}
    with HostSyncCounter():
        assert torch.Tensor.tolist is not methods['tolist']
    assert {m: getattr(torch.Tensor, m) for m in methods} == methods


def test_counter_attributes_to_our_innermost_frame():
    from dense_ssl_mm.models.matchers.geometric_positives import GeometricPositives  # noqa
    from dense_ssl_mm.utils import validation
    with HostSyncCounter() as counter:
        validation.check_number('t', 'v', 1.0)  # no tensor: nothing
        torch.tensor([1.0]).item()
    assert len(counter.syncs) == 1 and counter.from_package('dense_ssl_mm') == []
    assert osp.basename(counter.syncs[0].file) == 'test_host_syncs.py'


DEMOS = ['pixpro_r18_demo', 'pixcontrast_r18_demo', 'vader_r18_fpn_demo', 'densecl_r18_demo',
         'mocov2_r18_demo']


@pytest.mark.parametrize('device_views', [False, True], ids=['cpu-views', 'device-views'])
@pytest.mark.parametrize('demo', DEMOS)
def test_training_step_has_no_host_sync_from_our_code(demo, device_views):
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', f'{demo}.py'))
    if device_views:
        cfg.speed = dict(device_views=True)
    cfg = apply_speed_config(cfg)
    model, optim_wrapper = build_for_benchmark(cfg, torch.device('cpu'))
    data = synthetic_images(2, 96, 128) if device_views else synthetic_data(2, 64)
    model.train_step(data, optim_wrapper)  # first step: lazy set-up (parameter lists, ...)
    data = synthetic_images(2, 96, 128, 1) if device_views else synthetic_data(2, 64, 1)
    with HostSyncCounter() as counter:
        model.train_step(data, optim_wrapper)
    ours = counter.from_package('dense_ssl_mm')
    assert ours == [], '\n'.join(f'{s.op} at {s.where()}' for s in ours)


def test_neco_step_has_no_host_sync_from_our_code():
    """NeCo's step (multi-crop views, RoIAlign over shared regions, queue push and draws,
    the sorting networks, the seeded RNG) asks the device for nothing."""
    from dense_ssl_mm.operations.benchmark import synthetic_batch
    torch.manual_seed(0)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'neco_vit-s14_demo.py'))
    cfg.model.backbone.update(arch='tiny', init_cfg=None)
    cfg.model.neck.update(in_channels=192, hid_channels=64)
    model, optim_wrapper = build_for_benchmark(apply_speed_config(cfg), torch.device('cpu'))
    model.train_step(synthetic_batch(cfg, 2), optim_wrapper)  # first step: lazy set-up
    data = synthetic_batch(cfg, 2, seed=1)
    with HostSyncCounter() as counter:
        model.train_step(data, optim_wrapper)
    ours = counter.from_package('dense_ssl_mm')
    assert ours == [], '\n'.join(f'{s.op} at {s.where()}' for s in ours)


class CountIterations:
    """A hook that counts host syncs from before to after the training iterations between
    the first (which builds lazy state) and the last (end-of-run checks, evaluation and the
    final checkpoint). Registered with the lowest priority: it starts after the other hooks'
    ``before_train_iter`` and stops after all their ``after_train_iter``, so it sees the
    data preprocessor, the step, the optimizer and every hook's per-step work after it."""

    def __init__(self):
        self.counter = HostSyncCounter()

    def _counted(self, runner) -> bool:
        return 1 <= runner.iter < runner.max_iters - 1

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._counted(runner):
            self.counter.__enter__()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._counted(runner):
            self.counter.__exit__(None, None, None)


@pytest.mark.slow
def test_runner_iterations_sync_only_in_mmengine_logging(tmp_path):
    """A whole runner iteration of the PixPro demo (data preprocessor, step, LARS, momentum
    hook, NaN guard, dense-eval hook between its evaluations, mmengine's hooks): our code
    asks for no sync; mmengine's per-iteration logging does (listed by name)."""
    from mmengine.hooks import Hook
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    cfg.train_cfg.max_iters = 5
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.default_hooks.checkpoint.interval = 100
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)
    counting = type('Counting', (CountIterations, Hook), {})()
    runner.register_hook(counting, priority='LOWEST')
    runner.train()
    syncs = counting.counter.syncs
    assert syncs, 'mmengine logs the loss every iteration: the counter must see it'
    assert counting.counter.from_package('dense_ssl_mm') == [], counting.counter.report()
    assert all(osp.sep + 'mmengine' + osp.sep in s.file for s in syncs), \
        counting.counter.report()
