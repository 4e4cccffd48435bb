"""Every config in configs/ loads and its model builds; the recipe numbers are the paper's."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from ..conftest import REPO

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
def test_config_loads_and_model_builds(path):
    cfg = Config.fromfile(path)
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
    """The constants of ../shared/docs/algorithms.md (VICRegL)."""
    r50 = Config.fromfile(osp.join(REPO, 'configs', 'vicregl_r50_in1k_300e.py'))
    m = r50.model
    assert m.alpha == 0.75 and m.pairs == 'global_to_all' and r50.custom_hooks == []
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
    """The constants of ../shared/docs/algorithms.md (DetCon)."""
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
