"""A bad day loses nothing: NaN stops the run before a bad checkpoint, load_from restarts the
momentum schedule, a missing hook or an empty dataloader is refused, Ctrl-C is reported."""
import glob
import math
import os.path as osp

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dense_ssl_mm.engine import NonFiniteError, NonFiniteGuardHook, PretrainRunner
from dense_ssl_mm.registry import HOOKS
from dense_ssl_mm.apis.launch import train_reporting_stops
from ..helpers import demo_cfg


def finite_checkpoints(work_dir):
    """{file: whether every floating tensor of its state dict is finite}."""
    out = {}
    for path in sorted(glob.glob(osp.join(str(work_dir), '*.pth'))):
        state = torch.load(path, weights_only=False)['state_dict']
        out[osp.basename(path)] = all(bool(torch.isfinite(v).all()) for v in state.values()
                                      if v.is_floating_point())
    return out


def test_diverging_run_stops_before_a_non_finite_checkpoint(tmp_path):
    torch.set_num_threads(1)
    cfg = demo_cfg(tmp_path, 8)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False,
                                        max_keep_ckpts=1)
    # lr jumps from 0.5 to 1e30 after iteration 2: iterations 1-2 are sound, then it diverges.
    cfg.param_scheduler = [dict(type='MultiStepLR', milestones=[2], gamma=2e30,
                                by_epoch=False)]
    runner = PretrainRunner.from_cfg(cfg)
    with pytest.raises(NonFiniteError) as info:
        runner.train()
    message = str(info.value)
    failed_at = int(message.split('at iteration ')[1].split(' ')[0])
    assert failed_at >= 3, message
    # the last good checkpoint is named, exists, is finite, and was not rotated out
    assert f'last good checkpoint: {osp.join(str(tmp_path), f"iter_{failed_at - 1}.pth")}' \
        in message, message
    assert finite_checkpoints(tmp_path) == {f'iter_{failed_at - 1}.pth': True}


def test_guard_reads_the_host_copy_of_the_loss(tmp_path):
    """The per-iteration loss check uses the value RuntimeInfoHook already copied to the
    host: a device tensor in the outputs is never read (no extra sync)."""

    class NoHostRead:  # stands in for a CUDA tensor: reading it on the host fails the test
        def __float__(self):
            raise AssertionError('the guard synchronised on the loss tensor')

    runner = PretrainRunner.from_cfg(demo_cfg(tmp_path, 2))
    hook = NonFiniteGuardHook(interval=1000)
    runner.message_hub.update_scalar('train/loss', 1.5)
    runner.message_hub.update_scalar('train/loss_pixpro', -0.5)
    hook.after_train_iter(runner, 0, outputs=dict(loss=NoHostRead(), loss_pixpro=NoHostRead()))
    runner.message_hub.update_scalar('train/loss_pixpro', float('nan'))
    with pytest.raises(NonFiniteError, match=r'non-finite loss at iteration 1 '
                       r'\(loss_pixpro=nan\).*no checkpoint was saved yet'):
        hook.after_train_iter(runner, 0, outputs=dict(loss=NoHostRead(),
                                                      loss_pixpro=NoHostRead()))


def test_guard_checks_weights_at_its_interval_and_before_saving(tmp_path):
    runner = PretrainRunner.from_cfg(demo_cfg(tmp_path, 4))
    hook = NonFiniteGuardHook(interval=2)
    with torch.no_grad():
        runner.model.target_backbone.conv1.weight[0, 0, 0, 0] = math.inf
    runner.train_loop._iter = 0  # iteration 1: not a check point of interval 2
    hook.after_train_iter(runner, 0, outputs={})
    runner.train_loop._iter = 1
    with pytest.raises(NonFiniteError, match=r'non-finite weights at iteration 2 '
                       r'\(target_backbone\.conv1\.weight\)'):
        hook.after_train_iter(runner, 1, outputs={})
    state = {'state_dict': {'a': torch.ones(2)}, 'optimizer': {'state': {0: {
        'momentum_buffer': torch.tensor([0., float('nan')])}}}}
    with pytest.raises(NonFiniteError, match=r'checkpoint about to be saved at iteration 2 '
                       r'\(optimizer\.state\.0\.momentum_buffer\)'):
        hook.before_save_checkpoint(runner, state)
    hook.before_save_checkpoint(runner, {'state_dict': {'a': torch.ones(2)}})


def test_load_from_restarts_schedule_and_resume_continues(tmp_path):
    torch.set_num_threads(1)
    first = Runner.from_cfg(demo_cfg(tmp_path / 'a', 4))
    first.train()
    assert int(first.model.momentum_steps) == 4
    loaded = demo_cfg(tmp_path / 'b', 2)
    loaded.load_from = str(tmp_path / 'a' / 'iter_4.pth')
    second = Runner.from_cfg(loaded)
    second.train()
    # the schedule restarted: 2 updates, using m(1) and m(2) of 2 (after step t: m(t + 1))
    assert int(second.model.momentum_steps) == 2
    hook = [h for h in second.hooks if type(h).__name__ == 'MomentumEncoderHook'][0]
    logged = second.message_hub.get_scalar('train/target_momentum').data[0]
    assert list(logged) == [hook.target_momentum(1, 2), hook.target_momentum(2, 2)]
    assert logged[0] == pytest.approx(0.95)  # m(1) of 2 from m0 = 0.9, not the old end (1.0)


def test_load_from_vader_checkpoint_restarts_pixpro_schedule(tmp_path):
    torch.set_num_threads(1)
    vader = Runner.from_cfg(demo_cfg(tmp_path / 'v', 2, algorithm='VADeR'))
    vader.train()
    cfg = demo_cfg(tmp_path / 'p', 2)  # 2 steps: the first update uses m(1) of 2 = 0.95
    cfg.load_from = str(tmp_path / 'v' / 'iter_2.pth')
    pixpro = Runner.from_cfg(cfg)
    pixpro.train()
    assert int(pixpro.model.momentum_steps) == 2
    assert pixpro.message_hub.get_scalar('train/target_momentum').data[0][0] == \
        pytest.approx(0.95)


def test_momentum_model_without_its_hook_is_refused(tmp_path):
    cfg = demo_cfg(tmp_path, 2)
    cfg.custom_hooks = []  # a derived config replaced the list
    with pytest.raises(RuntimeError, match=r"PixPro has teacher\(s\) \['target'\] that need "
                       'MomentumEncoderHook, which is not registered'):
        PretrainRunner.from_cfg(cfg).train()


@pytest.mark.parametrize('loop', ['epoch', 'iter'])
def test_batch_larger_than_dataset_names_sizes_and_root(tmp_path, demo_images, loop):
    cfg = demo_cfg(tmp_path, 2)
    cfg.train_dataloader.update(batch_size=8, drop_last=True,
                                sampler=dict(type='DefaultSampler', shuffle=True))
    if loop == 'epoch':
        cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1)
        cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=True)]
    # the demo trains on four of the six photos (train_photos.txt under configs/demo)
    with pytest.raises(ValueError, match=r'train_dataloader yields no batch: batch_size=8 with '
                       r"drop_last=True, but the dataset has 4 images \(4 per process, 1 "
                       rf"processes\) under '{osp.dirname(demo_images)}"):
        PretrainRunner.from_cfg(cfg).train()


@HOOKS.register_module(force=True)
class InterruptWhileSaving(Hook):
    """Test hook: a Ctrl-C arriving while the config is formatted for a checkpoint."""

    def before_save_checkpoint(self, runner, checkpoint):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:  # what mmengine's Config.pretty_text turns it into
            raise SyntaxError('Failed to format the config file')


@pytest.mark.parametrize('during_save', [True, False])
def test_ctrl_c_is_reported_as_an_interruption(tmp_path, capsys, during_save):
    cfg = demo_cfg(tmp_path, 4)
    if during_save:
        cfg.custom_hooks.append(dict(type='InterruptWhileSaving'))
    runner = PretrainRunner.from_cfg(cfg)
    if not during_save:
        runner.train = lambda: (_ for _ in ()).throw(KeyboardInterrupt())
    assert train_reporting_stops(runner, 'cfg.py') == 130
    out = capsys.readouterr()
    assert 'interrupted at iteration' in out.out + out.err
    assert f'--work-dir {tmp_path} --resume' in out.out + out.err
    assert not glob.glob(osp.join(str(tmp_path), '.*.partial'))


def test_other_syntax_errors_are_not_hidden(tmp_path):
    runner = PretrainRunner.from_cfg(demo_cfg(tmp_path, 2))

    def broken():
        raise SyntaxError('a real one')
    runner.train = broken
    with pytest.raises(SyntaxError, match='a real one'):
        train_reporting_stops(runner, 'cfg.py')


def test_non_finite_names_finds_nan_and_inf_but_not_large_finite_values():
    from dense_ssl_mm.utils.finite import non_finite_names
    tensors = [('ok', torch.ones(3)), ('nan', torch.tensor([1., float('nan')])),
               ('huge', torch.full((4, ), 1e30)),  # its norm overflows; the values are finite
               ('inf64', torch.tensor([-math.inf], dtype=torch.float64)),
               ('int', torch.ones(2, dtype=torch.long)), ('half', torch.ones(2).half())]
    assert non_finite_names(tensors) == ['nan', 'inf64']
    assert non_finite_names([]) == []
