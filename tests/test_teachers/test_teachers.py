"""The three teacher kinds: EMA, Frozen (another architecture, from a file), Snapshot."""
import os.path as osp
import shutil

import pytest
import timm
import torch

from dense_ssl_mm.models import EMATeacher, FrozenTeacher, SnapshotTeacher
from dense_ssl_mm.models.teachers import ema_update_, parameters_to_buffers
from dense_ssl_mm.registry import MODELS

from ..helpers import REPO, tiny_model_cfg


def _write_vit(path, seed=0):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'make_timm_teacher', osp.join(REPO, 'tools', 'make_timm_teacher.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    tool.write_random_timm(str(path), 'vit_small_patch16_224', seed)
    return str(path)


@pytest.fixture(scope='module')
def vit_file(tmp_path_factory):
    return _write_vit(tmp_path_factory.mktemp('teacher') / 'vit-s16.pth')


def vit_teacher(path, **kw):
    return FrozenTeacher(backbone=dict(type='ViT', arch='small', patch_size=16, init_cfg=dict(
        type='Pretrained', checkpoint=path)), **kw)


def test_ema_update_is_the_formula():
    t, o = [torch.tensor([1.0, 2.0])], [torch.tensor([3.0, -1.0])]
    ema_update_(t, o, 0.75)  # 0.75 * 1 + 0.25 * 3 = 1.5; 0.75 * 2 - 0.25 = 1.25
    assert torch.equal(t[0], torch.tensor([1.5, 1.25]))
    with pytest.raises(ValueError, match=r'target_momentum must lie in \[0, 1\], got -0.1'):
        ema_update_(t, o, -0.1)


def test_ema_teacher_follows_its_online_modules():
    model = MODELS.build(tiny_model_cfg(
        'PixContrast', teachers=dict(ema=dict(type='EMATeacher', modules=('backbone', )))))
    model.init_weights()
    teacher = model.teachers['ema']
    online = dict(model.backbone.named_parameters())
    for name, p in teacher.backbone.named_parameters():
        assert torch.equal(p, online[name]) and not p.requires_grad
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    before = {n: p.clone() for n, p in teacher.backbone.named_parameters()}
    teacher.momentum_update(0.9)
    for name, p in teacher.backbone.named_parameters():
        assert torch.allclose(p, 0.9 * before[name] + 0.1 * online[name])
    assert int(teacher.momentum_steps) == 1
    assert model.teacher_hooks() == {'ema': 'MomentumEncoderHook',
                                     'target': 'MomentumEncoderHook'}
    assert model.ema_teachers() == [model, teacher]


def test_frozen_vit_teacher_equals_timm_and_has_no_parameters(vit_file):
    teacher = vit_teacher(vit_file)
    ref = timm.create_model('vit_small_patch16_224', pretrained=False, num_classes=0,
                            dynamic_img_size=True)
    ref.load_state_dict(torch.load(vit_file))
    ref.eval()
    x = torch.randn(2, 3, 112, 160)
    teacher.train()  # stays in eval mode
    assert not teacher.training and not any(m.training for m in teacher.modules())
    out = teacher(x)[-1]  # [2, 384, 7, 10]
    with torch.no_grad():
        tokens = ref.forward_features(x)[:, 1:]  # after the final norm, class token removed
    assert out.shape == (2, 384, 7, 10)
    assert torch.allclose(out.flatten(2).transpose(1, 2), tokens, atol=1e-5)
    assert list(teacher.parameters()) == [] and not out.requires_grad


def test_frozen_teacher_is_not_stored_and_refuses_a_changed_file(vit_file, tmp_path):
    path = shutil.copy(vit_file, tmp_path / 'vit.pth')
    teacher = vit_teacher(str(path))
    state = teacher.state_dict()
    assert list(state) == ['_extra_state']
    assert state['_extra_state']['sources'][str(path)] == \
        __import__('hashlib').sha256(open(path, 'rb').read()).hexdigest()
    teacher.load_state_dict(state)  # strict: the weights read at build are kept
    stored = vit_teacher(str(path), store_weights=True).state_dict()
    assert len(stored) == 151 and torch.equal(stored['backbone.cls_token'],
                                              teacher.backbone.cls_token)
    _write_vit(path, seed=1)  # the file changes under the run
    later = vit_teacher(vit_file)
    with pytest.raises(ValueError, match=r'trained with teacher file .*vit\.pth.* of SHA-256 '
                       r'[0-9a-f]{12}\.\.\., but that file now has [0-9a-f]{12}\.\.\.; restore'):
        later.load_state_dict(state)


def test_frozen_teacher_loads_a_checkpoint_with_a_prefix(tmp_path):
    student = MODELS.build(tiny_model_cfg('PixContrast'))
    student.init_weights()
    torch.save(dict(state_dict=student.state_dict()), tmp_path / 'run.pth')
    cfg = tiny_model_cfg()['backbone']
    teacher = FrozenTeacher(backbone=cfg, checkpoint=str(tmp_path / 'run.pth'),
                            prefix='target_backbone.')
    for name, value in student.target_backbone.state_dict().items():
        assert torch.equal(teacher.backbone.state_dict()[name], value)
    with pytest.raises(ValueError, match=r"run\.pth' has no tensor under 'teacher_'"):
        FrozenTeacher(backbone=cfg, checkpoint=str(tmp_path / 'run.pth'), prefix='teacher_')


def test_parameters_to_buffers_keeps_keys_and_forward():
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(1, 3, 5, 5)
    expected, keys = conv(x), list(conv.state_dict())
    parameters_to_buffers(conv)
    assert list(conv.parameters()) == [] and list(conv.state_dict()) == keys
    assert torch.equal(conv(x), expected)


def test_snapshot_schedule_and_refresh():
    model = MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(
        anchor=dict(type='SnapshotTeacher', modules=('backbone', ), at=2, every=3),
        of_target=dict(type='SnapshotTeacher', source='target'))))
    anchor = model.teachers['anchor']
    assert [i for i in range(12) if anchor.due(i)] == [2, 5, 8, 11]
    assert [i for i in range(4) if model.teachers['of_target'].due(i)] == [0]
    assert list(anchor.parameters()) == []
    with torch.no_grad():
        model.backbone.conv1.weight.fill_(0.5)
        model.target_backbone.conv1.weight.fill_(-1.0)
    anchor.refresh(model, 5)
    model.teachers['of_target'].refresh(model, 0)
    assert torch.equal(anchor.backbone.conv1.weight, model.backbone.conv1.weight)
    assert int(anchor.refreshed_at) == 5
    assert (model.teachers['of_target'].backbone.conv1.weight == -1).all()
    assert model.teacher_hooks() == {'anchor': 'SnapshotTeacherHook',
                                     'of_target': 'SnapshotTeacherHook',
                                     'target': 'MomentumEncoderHook'}
    with pytest.raises(ValueError, match="source 'ema' is neither 'online', 'target'"):
        MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(
            a=dict(type='SnapshotTeacher', source='ema'))))


def test_teacher_names_and_types_are_checked():
    with pytest.raises(ValueError, match="teacher name 'target' is taken"):
        MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(
            target=dict(type='SnapshotTeacher'))))
    with pytest.raises(ValueError, match="teacher 'x' must build a Teacher .* got ConvMLPNeck"):
        MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(
            x=dict(type='ConvMLPNeck'))))
    with pytest.raises(ValueError, match=r"EMATeacher: PixContrast has no online module "
                       r"\['decoder'\]"):
        MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(
            x=dict(type='EMATeacher', modules=('decoder', )))))
    assert isinstance(MODELS.build(dict(type='SnapshotTeacher')), SnapshotTeacher)
    assert isinstance(MODELS.build(dict(type='EMATeacher')), EMATeacher)


def test_frozen_teacher_reads_safetensors_and_ddp_files_through_the_one_reader(tmp_path):
    """Any file ``read_weights`` reads: ``.safetensors`` and a DDP save (``module.``), with
    the SHA-256 of the file recorded as the teacher's source; bad files are one-line
    BadInputErrors naming the file."""
    from safetensors.torch import save_file
    from dense_ssl_mm.models.teachers.frozen import file_sha256
    from dense_ssl_mm.utils.errors import BadInputError
    cfg = tiny_model_cfg()['backbone']
    torch.manual_seed(3)
    source = MODELS.build(cfg)
    weights = {f'backbone.{k}': v.contiguous() for k, v in source.state_dict().items()}
    save_file(weights, str(tmp_path / 'teacher.safetensors'))
    torch.save({f'module.{k}': v for k, v in weights.items()}, tmp_path / 'ddp.pth')
    for name in ('teacher.safetensors', 'ddp.pth'):
        path = str(tmp_path / name)
        teacher = FrozenTeacher(backbone=cfg, checkpoint=path)
        for key, value in source.state_dict().items():
            assert torch.equal(teacher.backbone.state_dict()[key], value), (name, key)
        assert teacher.sources == {path: file_sha256(path)}
    # the prefix option still selects a part of the file, whatever its container
    teacher = FrozenTeacher(backbone=cfg, checkpoint=str(tmp_path / 'ddp.pth'),
                            prefix='backbone.')
    assert torch.equal(teacher.backbone.conv1.weight, source.conv1.weight)
    with pytest.raises(BadInputError, match=r"FrozenTeacher: '.*ddp\.pth' has no tensor under "
                       r"'teacher_'"):
        FrozenTeacher(backbone=cfg, checkpoint=str(tmp_path / 'ddp.pth'), prefix='teacher_')
    torch.save([1, 2], tmp_path / 'list.pth')
    with pytest.raises(BadInputError, match=r"FrozenTeacher: '.*list\.pth' holds no state dict "
                       r'\(found list\)'):
        FrozenTeacher(backbone=cfg, checkpoint=str(tmp_path / 'list.pth'))
    wide = dict(cfg, base_channels=8)
    with pytest.raises(BadInputError, match=r"FrozenTeacher: '.*teacher\.safetensors' does not "
                       r'fit the teacher: 0 missing \[\], 0 unexpected \[\], \d+ of another '
                       r"shape \[\('backbone\.conv1\.weight', \(16, 3, 7, 7\), \(8, 3, 7, 7\)\)"):
        FrozenTeacher(backbone=wide, checkpoint=str(tmp_path / 'teacher.safetensors'))
    state = teacher.state_dict()
    state['_extra_state']['sources'][str(tmp_path / 'ddp.pth')] = 'f' * 64
    with pytest.raises(BadInputError, match=r"trained with teacher file '.*ddp\.pth' of SHA-256 "
                       r'ffffffffffff\.\.\., but that file now has [0-9a-f]{12}\.\.\.; restore'):
        teacher.load_state_dict(state)


def test_snapshot_teacher_reads_its_file_through_the_one_reader(tmp_path):
    from safetensors.torch import save_file
    from dense_ssl_mm.utils.errors import BadInputError
    model = MODELS.build(tiny_model_cfg('PixContrast'))
    model.init_weights()
    weights = {f'module.target_backbone.{k}': v.contiguous()
               for k, v in model.target_backbone.state_dict().items()}
    save_file(weights, str(tmp_path / 'run.safetensors'))
    snap = MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(anchor=dict(
        type='SnapshotTeacher', checkpoint=str(tmp_path / 'run.safetensors'),
        prefix='target_'))))
    for key, value in model.target_backbone.state_dict().items():
        assert torch.equal(snap.teachers['anchor'].backbone.state_dict()[key], value), key
    with pytest.raises(BadInputError, match=r"SnapshotTeacher: '.*run\.safetensors' has no "
                       r"tensor under 'online_backbone\.'"):
        MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(anchor=dict(
            type='SnapshotTeacher', checkpoint=str(tmp_path / 'run.safetensors'),
            prefix='online_'))))
    with pytest.raises(BadInputError, match=r"SnapshotTeacher: weights file '.*nope\.pth' does "
                       'not exist'):
        MODELS.build(tiny_model_cfg('PixContrast', teachers=dict(anchor=dict(
            type='SnapshotTeacher', checkpoint=str(tmp_path / 'nope.pth')))))
