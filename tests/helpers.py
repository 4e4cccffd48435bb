"""Small models, batches and run configs shared by the tests."""
import itertools
import os.path as osp
import subprocess
import sys

import torch
from mmengine.config import Config

from dense_ssl_mm.registry import MODELS

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
_RUNS = itertools.count()


def _relocate(value, root):
    """Every ``work_dirs/...`` string of a config, moved under ``root``."""
    if isinstance(value, str) and value.startswith('work_dirs/'):
        return osp.join(root, value)
    if isinstance(value, dict):
        return type(value)({k: _relocate(v, root) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return type(value)(_relocate(v, root) for v in value)
    return value


def config_with_demo_files(path: str, root) -> Config:
    """The config at ``path`` with every ``work_dirs/...`` path moved under ``root`` and the
    files it declares in ``demo_files`` (``[out, tool, args...]``) written there by their
    tools, as ``tools/run_demo.sh`` does on a fresh clone."""
    cfg = Config(_relocate(Config.fromfile(path).to_dict(), str(root)))
    for out, tool, *args in cfg.get('demo_files', []):
        if not osp.isfile(out):
            subprocess.run([sys.executable, osp.join(REPO, tool), out, *args],
                           check=True, cwd=REPO, capture_output=True)
    return cfg


def tiny_model_cfg(algorithm: str = 'PixPro', **overrides) -> dict:
    """A ResNet-18 with 16 base channels (C5 = 128 channels), a 128-64-32 projector."""
    cfg = dict(
        type=algorithm,
        data_preprocessor=dict(type='ViewDataPreprocessor'),
        backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(3, ),
                      norm_eval=False, zero_init_residual=False),
        neck=dict(type='ConvMLPNeck', in_channels=128, hid_channels=64, out_channels=32),
        head=dict(type='DenseContrastHead', loss=dict(
            type='PixProConsistencyLoss' if algorithm == 'PixPro' else 'PixContrastLoss')))
    if algorithm == 'PixPro':
        cfg['ppm'] = dict(type='PixelPropagationModule', channels=32)
    cfg.update(overrides)
    return cfg


def tiny_vader_cfg(queue_size: int = 100, out_channels: int = 32, num_samples: int = 8) -> dict:
    """VADeR on a ResNet-18 with 16 base channels and a 32-wide FPN."""
    return dict(
        type='VADeR', data_preprocessor=dict(type='ViewDataPreprocessor'),
        backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(0, 1, 2, 3),
                      norm_eval=False),
        neck=dict(type='DenseFPNNeck', in_channels=(16, 32, 64, 128), fpn_channels=32,
                  out_channels=out_channels),
        head=dict(type='DenseContrastHead',
                  matcher=dict(type='MatchedPixelPairs', num_samples=num_samples),
                  loss=dict(type='QueueInfoNCELoss', temperature=0.07, name='vader')),
        queue_size=queue_size)


def tiny_moco_cfg(algorithm: str = 'DenseCL', queue_size: int = 16) -> dict:
    """MoCo v2 or DenseCL on a ResNet-18 with 16 base channels, 128-64-32 projectors."""
    cfg = dict(type=algorithm, data_preprocessor=dict(type='ViewDataPreprocessor'),
               backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(3, ),
                             norm_eval=False, zero_init_residual=False),
               neck=dict(type='ConvMLPNeck', in_channels=128, hid_channels=64, out_channels=32,
                         norm_cfg=None, with_avg_pool=True),
               head=dict(type='DenseContrastHead', matcher=dict(type='WholeImage'),
                         loss=dict(type='QueueInfoNCELoss', temperature=0.2,
                                   name='global' if algorithm == 'DenseCL' else 'moco'),
                         pairs='one_way'),
               queue_size=queue_size)
    if algorithm == 'DenseCL':
        cfg['head']['loss']['loss_weight'] = 0.5
        cfg['dense_neck'] = dict(type='ConvMLPNeck', in_channels=128, hid_channels=64,
                                 out_channels=32, norm_cfg=None)
        cfg['dense_head'] = dict(type='DenseContrastHead', matcher=dict(type='FeatureArgmax'),
                                 loss=dict(type='QueueInfoNCELoss', temperature=0.2,
                                           loss_weight=0.5, name='dense'),
                                 pairs='one_way')
    return cfg


def tiny_vicregl_cfg(feature_matches=None, location_matches=(20, 4)) -> dict:
    """VICRegL on a ResNet-18 with 16 base channels: 128-64-64-32 expander, 128-32-32-16
    local projector (three layers each, as the paper's)."""
    def head(matcher, name):
        return dict(type='DenseContrastHead', matcher=matcher, pairs='global_to_all',
                    reduction='mean',
                    loss=dict(type='VICRegLocalLoss', loss_weight=0.25, name=name))
    return dict(
        type='VICRegL', data_preprocessor=dict(type='ViewDataPreprocessor'),
        backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(3, ),
                      norm_eval=False, zero_init_residual=False),
        neck=dict(type='ConvMLPNeck', in_channels=128, hid_channels=64, out_channels=32,
                  num_layers=3, with_avg_pool=True, bias_last=False),
        local_neck=dict(type='ConvMLPNeck', in_channels=128, hid_channels=32, out_channels=16,
                        num_layers=3, bias_last=False),
        global_loss=dict(type='VICRegGlobalLoss', loss_weight=0.75),  # alpha = 0.75
        feature_head=head(dict(type='FeatureNearest', num_matches=feature_matches),
                          'local_feature'),
        location_head=head(dict(type='LocationNearest', num_matches=location_matches),
                           'local_location'))


def tiny_detconb_cfg(**overrides) -> dict:
    """DetConB on a ResNet-18 with 16 base channels: 128-64-32 projector, 32-64-32
    predictor, 4 segments per view."""
    cfg = dict(type='DetConB', data_preprocessor=dict(type='ViewDataPreprocessor'),
               backbone=dict(type='ResNet', depth=18, base_channels=16, out_indices=(3, ),
                             norm_eval=False, zero_init_residual=False),
               neck=dict(type='ConvMLPNeck', in_channels=128, hid_channels=64,
                         out_channels=32),
               predictor=dict(type='ConvMLPNeck', in_channels=32, hid_channels=64,
                              out_channels=32),
               num_masks=4)
    cfg.update(overrides)
    return cfg


def build_tiny(algorithm: str = 'PixPro', **overrides):
    torch.manual_seed(0)
    model = MODELS.build(tiny_model_cfg(algorithm, **overrides))
    model.init_weights()
    return model


def fixed_batch(n: int = 4, size: int = 64, seed: int = 0) -> dict:
    """Model inputs: two overlapping views per image (view 2 = shifted crop of view 1)."""
    gen = torch.Generator().manual_seed(seed)
    base = torch.randn(n, 3, size + 16, size + 16, generator=gen)
    views = torch.stack([base[..., :size, :size], base[..., 16:, 16:]])
    boxes = torch.tensor([[0., 0., size, size], [16., 16., size + 16, size + 16]])
    boxes = boxes[:, None].expand(2, n, 4).contiguous()
    flips = torch.zeros(2, n, dtype=torch.bool)
    return dict(views=views, boxes=boxes, flips=flips)


def demo_cfg(work_dir, max_iters, resume=False, algorithm='PixPro'):
    """The demo config on a tiny model, 64 px views, batch 3, checkpoints every 2 iters."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    cfg.model = dict(PixPro=tiny_model_cfg, VADeR=tiny_vader_cfg, VICRegL=tiny_vicregl_cfg,
                     DetConB=tiny_detconb_cfg,
                     DenseCL=lambda: tiny_moco_cfg('DenseCL', 16))[algorithm]()
    crop = dict(type='RandomResizedCropWithBox', size=64, scale=(0.3, 1.0))
    pipe = cfg.train_dataloader.dataset.pipeline[1]
    for view in pipe.view_pipelines:
        view[0] = crop
    if algorithm == 'DetConB':  # FH masks (computed once, cached in the work dir), per view
        cfg.train_dataloader.dataset.pipeline[1:1] = [dict(
            type='LoadFHMask', img_root=cfg.train_dataloader.dataset.data_root,
            mask_root=osp.join(str(work_dir), '..', 'masks'), on_missing='compute_and_cache',
            scale=100, min_size=50)]
        cfg.train_dataloader.dataset.pipeline.insert(3, dict(type='MasksToViews'))
    if algorithm == 'VICRegL':  # multi-crop: 2 x 64 + 2 x 32, the local crops smaller
        local = [dict(crop, size=32, scale=(0.1, 0.3))] + pipe.view_pipelines[1][1:]
        pipe.view_pipelines = pipe.view_pipelines + [local, local]
    cfg.train_dataloader.update(batch_size=3, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = cfg.custom_hooks[:1]  # the momentum hook; tests add others
    cfg.custom_hooks[0].base_target_momentum = 0.9  # make the schedule visible in 4 steps
    if algorithm == 'VICRegL':  # no momentum target, no hook
        cfg.custom_hooks = []
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=7, deterministic=True)
    cfg.resume = resume
    # unique per call: mmengine keeps one visualizer and logger per experiment name, and two
    # runs started in the same second would share one whose folder a finished test removed
    cfg.experiment_name = f'resume{max_iters}{resume}_{next(_RUNS)}'
    return cfg


def neco_demo_cfg(work_dir, max_iters, dinov2_file, resume=False):
    """The NeCo demo config on a ViT-Tiny/14 from ``dinov2_file`` (DINOv2 layout), 2 x 56 +
    4 x 28 px views, batch 3, queue 64, checkpoints every 2 iterations; its cosine lr and
    weight-decay schedules span ``max_iters``."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'neco_vit-s14_demo.py'))
    cfg.model.backbone.update(arch='tiny', init_cfg=dict(type='Pretrained',
                                                         checkpoint=str(dinov2_file)))
    cfg.model.neck.update(in_channels=192, hid_channels=64, out_channels=32)
    cfg.model.queue_size = 64
    views = cfg.train_dataloader.dataset.pipeline[1].view_pipelines
    for k, view in enumerate(views):
        view[0] = dict(view[0], size=56 if k < 2 else 28)
    cfg.train_dataloader.update(batch_size=3, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_iters = max_iters
    for scheduler in cfg.param_scheduler:
        scheduler.T_max = max_iters
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=2, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = cfg.custom_hooks[:1]  # the momentum hook; tests add others
    cfg.custom_hooks[0].base_target_momentum = 0.9  # make the schedule visible in 4 steps
    cfg.work_dir = str(work_dir)
    cfg.randomness = dict(seed=7, deterministic=True)
    cfg.resume = resume
    cfg.experiment_name = f'neco{max_iters}{resume}_{next(_RUNS)}'
    return cfg
