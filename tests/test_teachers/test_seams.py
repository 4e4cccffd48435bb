"""The two seam demos: a frozen ViT teacher for a ResNet-18 student on same-view pairs, and a
snapshot teacher refreshed every k iterations (exact resume); the runner's teacher-hook check."""
import itertools
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dense_ssl_mm.engine.runners import PretrainRunner
from dense_ssl_mm.registry import HOOKS

from ..helpers import REPO
from .test_teachers import _write_vit

_RUNS = itertools.count()


def seam_cfg(name, work_dir, max_iters, teacher_file=None, every=None):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', name))
    if teacher_file is not None:
        cfg.model.teachers.teacher.backbone.init_cfg.checkpoint = str(teacher_file)
    if every is not None:
        cfg.model.teachers.anchor.every = every
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_iters = max_iters
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'DenseEvalHook']
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=3, deterministic=True)
    cfg.experiment_name = f'seam{next(_RUNS)}'
    return cfg


@pytest.fixture(scope='module')
def vit_file(tmp_path_factory):
    return _write_vit(tmp_path_factory.mktemp('seam') / 'vit-s16.pth')


@HOOKS.register_module(force=True)
class RecordLosses(Hook):
    priority = 'LOWEST'

    def __init__(self):
        self.records = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.records.append({k: float(v) for k, v in outputs.items()})


@pytest.mark.slow
def test_frozen_vit_teacher_trains_a_resnet_student(tmp_path, vit_file):
    torch.set_num_threads(1)
    cfg = seam_cfg('distill_vit-s16_to_r18_demo.py', tmp_path, 3, vit_file)
    runner = Runner.from_cfg(cfg)
    teacher = runner.model.teachers['teacher']
    before = {k: v.clone() for k, v in teacher.named_buffers()}
    student = runner.model.backbone.conv1.weight.detach().clone()
    record = RecordLosses()
    runner.register_hook(record)
    runner.train()
    assert len(before) == 150 and all(torch.equal(before[k], v)
                                      for k, v in teacher.named_buffers())
    assert not torch.equal(student, runner.model.backbone.conv1.weight)  # the student moved
    optimised = {id(p) for group in runner.optim_wrapper.optimizer.param_groups
                 for p in group['params']}
    assert not any(id(t) in optimised for t in teacher.buffers())
    assert list(teacher.parameters()) == []
    assert [sorted(r) for r in record.records] == [['loss', 'loss_cosine', 'pos_ratio']] * 3
    for r in record.records:  # -2 cos in [-2, 2]; the identity match: 1 positive per cell
        assert -2 <= r['loss_cosine'] <= 2 and r['pos_ratio'] == pytest.approx(1 / 49)
    ckpt = torch.load(tmp_path / 'iter_3.pth', weights_only=False)
    assert not any(k.startswith('teachers.teacher.') and not k.endswith('_extra_state')
                   for k in ckpt['state_dict'])
    assert str(vit_file) in ckpt['state_dict']['teachers.teacher._extra_state']['sources']


class Crash(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class CrashAfter(Hook):
    priority = 'LOWEST'

    def __init__(self, after_iter):
        self.after_iter = after_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.after_iter:
            raise Crash('stop')


def straight_and_resumed(make_cfg, tmp_path, crash_after):
    """An uninterrupted run, and a run that crashes after ``crash_after`` iterations and is
    resumed from its checkpoint (``make_cfg(work_dir)`` builds each config)."""
    torch.set_num_threads(1)
    straight = Runner.from_cfg(make_cfg(tmp_path / 'a'))
    straight.train()
    crashing = make_cfg(tmp_path / 'b')
    crashing.custom_hooks.append(dict(type='CrashAfter', after_iter=crash_after))
    with pytest.raises(Crash):
        Runner.from_cfg(crashing).train()
    resumed_cfg = make_cfg(tmp_path / 'b')
    resumed_cfg.resume = True
    resumed = Runner.from_cfg(resumed_cfg)
    resumed.train()
    return straight, resumed


def ema_cfg(work_dir, max_iters):
    """The snapshot demo with an ``EMATeacher`` of the backbone instead (self-distillation
    against a moving average, the BYOL shape), updated by ``MomentumEncoderHook``."""
    cfg = seam_cfg('anchor_r18_demo.py', work_dir, max_iters)
    cfg.model.teachers = dict(ema=dict(type='EMATeacher', modules=('backbone', )))
    cfg.model.teacher = 'ema'
    cfg.custom_hooks = [dict(type='MomentumEncoderHook', base_target_momentum=0.9)]
    return cfg


@pytest.mark.slow
def test_ema_teacher_in_teachers_resumes_exactly(tmp_path):
    straight, resumed = straight_and_resumed(lambda d: ema_cfg(d, 4), tmp_path, crash_after=2)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert set(a) == set(b) and any(k.startswith('teachers.ema.backbone.') for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    assert int(a['teachers.ema.momentum_steps']) == 4
    # the teacher moved from its start, and is not the student
    weight = a['teachers.ema.backbone.conv1.weight']
    assert not torch.equal(weight, a['backbone.conv1.weight'])
    assert all(p.grad is None and not p.requires_grad
               for p in straight.model.teachers['ema'].parameters())


@pytest.mark.slow
def test_snapshot_teacher_refreshes_and_resumes_exactly(tmp_path):
    straight, resumed = straight_and_resumed(
        lambda d: seam_cfg('anchor_r18_demo.py', d, 5, every=2), tmp_path, crash_after=3)
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert set(a) == set(b) and any(k.startswith('teachers.anchor.backbone.') for k in a)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # snapshots at the start of iterations 0, 2, 4: the last holds the weights after 4 steps
    assert int(a['teachers.anchor.refreshed_at']) == 4
    four = Runner.from_cfg(seam_cfg('anchor_r18_demo.py', tmp_path / 'c', 4, every=2))
    four.train()
    online = four.model.backbone.state_dict()
    for key, value in straight.model.teachers['anchor'].backbone.state_dict().items():
        assert torch.equal(value, online[key]), key
    assert not torch.equal(a['teachers.anchor.backbone.conv1.weight'],
                           a['backbone.conv1.weight'])  # step 5 moved the student on


def test_runner_checks_teachers_against_hooks(tmp_path, vit_file):
    extra = seam_cfg('distill_vit-s16_to_r18_demo.py', tmp_path / 'x', 1, vit_file)
    extra.custom_hooks = [dict(type='MomentumEncoderHook')]
    with pytest.raises(RuntimeError, match='MomentumEncoderHook is registered but Distill has '
                       'no teacher that needs it; remove it from custom_hooks'):
        PretrainRunner.from_cfg(extra).train()
    missing = seam_cfg('anchor_r18_demo.py', tmp_path / 'y', 1)
    missing.custom_hooks = []
    with pytest.raises(RuntimeError, match=r"Distill has teacher\(s\) \['anchor'\] that need "
                       r"SnapshotTeacherHook, which is not registered.*add "
                       r"dict\(type='SnapshotTeacherHook'\)"):
        PretrainRunner.from_cfg(missing).train()
