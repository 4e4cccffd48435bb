"""Every config in configs/ loads and its model builds; the recipe numbers are the paper's."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ..conftest import REPO
from ..helpers import config_with_demo_files

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True)
    if '_base_' not in p and f'{osp.sep}images{osp.sep}' not in p)
PRETRAIN = [p for p in CONFIGS if f'{osp.sep}benchmarks{osp.sep}' not in p]


def test_configs_found():
    names = {osp.relpath(p, osp.join(REPO, 'configs')) for p in CONFIGS}
    assert {'pixpro_r50_coco.py', 'pixcontrast_r50_coco.py', 'pixpro_r50_in1k_100e.py',
            'pixpro_r50_in1k_400e.py', 'pixpro_instance_r50_in1k_400e.py',
            'demo/pixpro_r18_demo.py', 'vader_r50_fpn_coco.py', 'vader_r50_fpn_in1k_200e.py',
            'demo/vader_r18_fpn_demo.py'} <= names
    assert len(VADER) == 2 and len(PIXPRO_RECIPE) == 6


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_loads_and_model_builds(path, tmp_path):
    # a demo's files (a teacher, a DINOv2-layout file) written by their tools, as on a fresh
    # clone: building a frozen teacher reads its file
    cfg = config_with_demo_files(path, tmp_path)
    scope = cfg.get('default_scope', 'dense_ssl_mm')
    init_default_scope(scope)
    if scope == 'mmdet':
        from mmdet.registry import MODELS
    elif scope == 'mmseg':
        from mmseg.registry import MODELS
    else:
        from dense_ssl_mm.registry import MODELS
    model = MODELS.build(cfg.model)
    n_params = sum(p.numel() for p in model.parameters())
    assert n_params > 0
    if hasattr(model, 'momentum_update'):
        assert all(not p.requires_grad for n, p in model.named_parameters()
                   if n.startswith('target_'))


PIXPRO_RECIPE = [p for p in PRETRAIN if 'demo' not in p and osp.basename(p).startswith('pix')
                 and 'vit' not in p]
VADER = [p for p in PRETRAIN if 'demo' not in p and 'vader' in p]


@pytest.mark.parametrize('path', VADER, ids=lambda p: osp.basename(p))
def test_vader_recipe(path):
    cfg = Config.fromfile(path)
    total_batch = cfg.train_dataloader.batch_size * 8
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'SGD' and opt.lr == pytest.approx(0.03 * total_batch / 256)
    assert opt.momentum == 0.9 and opt.weight_decay == 1e-4
    hook = [h for h in cfg.custom_hooks if h.type == 'MomentumEncoderHook'][0]
    assert hook.base_target_momentum == 0.999 and hook.schedule == 'constant'
    assert cfg.model.queue_size == 65536 and cfg.model.neck.out_channels == 128
    assert cfg.model.head.loss.temperature == 0.07 and cfg.model.head.matcher.num_samples == 32
    assert cfg.model.backbone.out_indices == (0, 1, 2, 3)
    paired = cfg.train_dataloader.dataset.pipeline[1]
    assert paired.min_overlap_area == 32


@pytest.mark.parametrize('path', PIXPRO_RECIPE, ids=lambda p: osp.basename(p))
def test_pretraining_recipe(path):
    cfg = Config.fromfile(path)
    loader = cfg.train_dataloader
    total_batch = loader.batch_size * 8
    opt = cfg.optim_wrapper.optimizer
    assert opt.type == 'LARS' and opt.eta == 0.001 and opt.weight_decay == 1e-5
    assert opt.lr == pytest.approx(1.0 * total_batch / 256)
    assert cfg.auto_scale_lr.base_batch_size == total_batch
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    warmup, cosine = cfg.param_scheduler
    assert warmup.start_factor == 0.01 and warmup.end == 5 and warmup.convert_to_iter_based
    assert cosine.eta_min == 1e-6 and cosine.end == cfg.train_cfg.max_epochs
    assert cfg.sync_bn == 'torch'
    hook = [h for h in cfg.custom_hooks if h.type == 'MomentumEncoderHook'][0]
    assert hook.base_target_momentum == 0.99 and hook.end_target_momentum == 1.0
    assert cfg.model.backbone.type == 'ResNet' and cfg.model.backbone.norm_eval is False
    assert cfg.model.backbone.zero_init_residual is True
    pipe = loader.dataset.pipeline[1].view_pipelines
    blur = [[t.prob for t in p if t.type == 'GaussianBlur'][0] for p in pipe]
    assert blur == [1.0, 0.1]
    assert [any(t.type == 'Solarize' for t in p) for p in pipe] == [False, True]
    if cfg.model.type == 'PixPro':
        assert cfg.model.ppm.gamma == 2.0 and cfg.model.head.matcher.pos_threshold == 0.7
    else:
        assert cfg.model.head.loss.temperature == 0.3


def test_demo_backbone_is_resnet18():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    assert cfg.model.backbone.depth == 18
    assert osp.isdir(cfg.train_dataloader.dataset.data_root)
    torch.manual_seed(0)


def test_vicregl_recipes():
    """The constants of docs/methods/vicregl.md."""
    r50 = Config.fromfile(osp.join(REPO, 'configs', 'vicregl_r50_in1k_300e.py'))
    m = r50.model
    assert m.pairs == 'global_to_all' and r50.custom_hooks == []
    assert m.global_loss.loss_weight == 0.75  # alpha, and 1 - alpha on each local loss
    assert m.feature_head.loss.loss_weight == m.location_head.loss.loss_weight == 0.25
    assert (m.global_loss.inv_weight, m.global_loss.var_weight, m.global_loss.cov_weight) == \
        (25.0, 25.0, 1.0)
    assert (m.neck.hid_channels, m.neck.out_channels, m.neck.num_layers) == (8192, 8192, 3)
    assert (m.local_neck.hid_channels, m.local_neck.out_channels) == (512, 512)
    assert m.location_head.matcher.num_matches == (20, 4)
    assert m.feature_head.matcher.num_matches is None  # official: every cell matched
    opt = r50.optim_wrapper.optimizer
    assert opt.type == 'LARS' and opt.lr == pytest.approx(0.2 * 2048 / 256)
    assert opt.weight_decay == 1e-6 and r50.train_dataloader.batch_size * 8 == 2048
    assert r50.param_scheduler[1].eta_min == pytest.approx(opt.lr * 1e-3)
    assert r50.train_cfg.max_epochs == 300 and r50.param_scheduler[0].end == 10
    cnx = Config.fromfile(osp.join(REPO, 'configs', 'vicregl_convnext-s_in1k_400e.py'))
    views = cnx.train_dataloader.dataset.pipeline[1].view_pipelines
    crops = [v[0] for v in views]
    assert [c.size for c in crops] == [224] * 2 + [96] * 6
    assert [tuple(c.scale) for c in crops] == [(0.4, 1.0)] * 2 + [(0.08, 0.4)] * 6
    assert cnx.optim_wrapper.optimizer.type == 'AdamW' and cnx.train_cfg.max_epochs == 400
    assert cnx.optim_wrapper.optimizer.weight_decay == 0.05
    assert cnx.train_dataloader.batch_size * 8 == 576 and cnx.model.backbone.arch == 'small'


def test_detcon_recipes():
    """The constants of docs/methods/detcon.md."""
    b = Config.fromfile(osp.join(REPO, 'configs', 'detconb_r50_in1k_1000e.py'))
    assert b.model.num_masks == 16 and b.model.loss.temperature == 0.1
    assert (b.model.neck.in_channels, b.model.neck.hid_channels, b.model.neck.out_channels) \
        == (2048, 4096, 256)
    assert (b.model.predictor.hid_channels, b.model.predictor.out_channels) == (4096, 256)
    hook, = b.custom_hooks
    assert hook.base_target_momentum == 0.996 and hook.schedule == 'cosine'
    opt = b.optim_wrapper.optimizer
    total = b.train_dataloader.batch_size * 16
    assert total == 4096 and opt.lr == pytest.approx(0.2 * total / 256)
    assert opt.weight_decay == 1.5e-6 and opt.eta == 1e-3 and opt.exclude_bias_and_norm
    assert b.param_scheduler[0].end == b.train_cfg.max_epochs // 100  # warm-up epochs / 100
    kinds = [t.type for t in b.train_dataloader.dataset.pipeline]
    assert kinds == ['LoadImageFromFile', 'LoadFHMask', 'MultiViewTransform', 'MasksToViews',
                     'PackViews']
    load = b.train_dataloader.dataset.pipeline[1]
    assert load.get('scale', 1000) == 1000 and load.get('min_size', 1000) == 1000
    s = Config.fromfile(osp.join(REPO, 'configs', 'detcons_r50_in1k_1000e.py'))
    assert s.model.type == 'DetConS' and 'predictor' not in s.model and s.custom_hooks == []


def test_neco_recipes():
    """The constants of docs/methods/neco.md, and what the optimizer and the
    schedules built from the recipe do: per-group lr and decay, the weight-decay cosine."""
    import math
    from mmengine.optim import build_optim_wrapper
    from mmengine.optim.scheduler import CosineAnnealingParamScheduler
    s = Config.fromfile(osp.join(REPO, 'configs', 'neco_vit-s14_dinov2_coco.py'))
    m = s.model
    assert m.type == 'NeCo' and m.backbone.patch_size == 14 and m.backbone.arch == 'small'
    assert m.backbone.drop_path_rate == 0.1 and m.backbone.pos_interpolation == 'dinov2'
    assert (m.neck.in_channels, m.neck.hid_channels, m.neck.out_channels, m.neck.num_layers,
            m.neck.act_cfg.type, m.neck.norm_cfg) == (384, 2048, 256, 3, 'GELU', None)
    assert (m.roi_size, m.queue_size, m.queue_per_image, m.num_global) == (7, 8192, 10, 2)
    assert m.loss.student_steepness == m.loss.teacher_steepness == 100.0
    hook, = s.custom_hooks
    assert (hook.base_target_momentum, hook.end_target_momentum, hook.schedule) == \
        (0.9995, 1.0, 'cosine')
    views = s.train_dataloader.dataset.pipeline[1]
    crops = [v[0] for v in views.view_pipelines]
    assert [c.size for c in crops] == [224] * 2 + [98] * 4
    assert [tuple(c.scale) for c in crops] == [(0.25, 1.0)] * 2 + [(0.05, 0.25)] * 4
    assert not any(t.type == 'RandomFlip' for v in views.view_pipelines for t in v)
    jitter = views.view_pipelines[0][1]
    assert (jitter.brightness, jitter.contrast, jitter.saturation, jitter.hue, jitter.prob) == \
        (0.8, 0.8, 0.8, 0.2, 0.8)
    assert [t.prob for t in views.view_pipelines[3][2:]] == [0.2, 0.5]  # grayscale, blur
    assert views.overlap_anchors == 2 and list(views.min_overlap_fraction) == \
        [0.0, 0.02, 0.01, 0.01, 0.01, 0.01]
    assert s.train_dataloader.batch_size == 64 and s.train_cfg.max_epochs == 25
    opt = s.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-4, 0.04)
    lr_sched, wd_sched = s.param_scheduler
    assert lr_sched.eta_min == 0.0 and lr_sched.T_max == 25 and lr_sched.begin == 0
    # what the optimizer built from the recipe holds, on a small NeCo with the same names
    init_default_scope('dense_ssl_mm')
    from dense_ssl_mm.registry import MODELS
    model = MODELS.build(dict(m, backbone=dict(m.backbone, arch='tiny', init_cfg=None),
                              neck=dict(m.neck, in_channels=192, hid_channels=32,
                                        out_channels=16), queue_size=8))
    wrapper = build_optim_wrapper(model, s.optim_wrapper)
    names = {id(p): n for n, p in model.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            name = names[id(p)]
            assert group['lr'] == pytest.approx(1e-5 if name.startswith('backbone.') else 1e-4)
            assert group['weight_decay'] == (0.0 if p.ndim == 1 else 0.04), name
    steps = 40
    sched = CosineAnnealingParamScheduler(
        wrapper, param_name='weight_decay', T_max=steps, eta_min_ratio=wd_sched.eta_min_ratio,
        by_epoch=False)
    groups = wrapper.optimizer.param_groups
    decayed = [g for g in groups if g['weight_decay'] > 0]
    exempt = [g for g in groups if g['weight_decay'] == 0]
    assert len(decayed) + len(exempt) == len(groups) and exempt
    for step in range(1, steps + 1):
        sched.step()
        want = 0.5 + 0.5 * (0.04 - 0.5) * (1 + math.cos(math.pi * step / steps))
        assert decayed[0]['weight_decay'] == pytest.approx(want, rel=1e-9), step
        assert all(g['weight_decay'] == 0.0 for g in exempt)
    b = Config.fromfile(osp.join(REPO, 'configs', 'neco_vit-b14_dinov2_coco.py'))
    assert b.train_dataloader.batch_size == 16 and b.model.neck.in_channels == 768
    assert b.optim_wrapper.optimizer.lr * \
        b.optim_wrapper.paramwise_cfg.custom_keys['backbone'].lr_mult == pytest.approx(5e-6)
    r = Config.fromfile(osp.join(REPO, 'configs', 'neco_vit-s14-reg4_dinov2_coco.py'))
    assert r.model.backbone.reg_tokens == 4
