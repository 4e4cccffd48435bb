"""One contract over every registered algorithm, collected from the registry: each has a
demo config in configs/demo/, and each demo config builds, trains two steps with finite
``loss_*`` terms, resumes exactly after a stop at step 1, exports a backbone that loads
strictly downstream, and is evaluated densely on one image. A new method is covered by adding
its demo config; this file does not change."""
import glob
import itertools
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from dense_ssl_mm.apis.export import export_checkpoint
from dense_ssl_mm.evaluation.features import build_eval_model
from dense_ssl_mm.evaluation.images import load_images
from dense_ssl_mm.evaluation.protocols.correspondence import evaluate_correspondence
from dense_ssl_mm.models.algorithms import DenseAlgorithm
from dense_ssl_mm.registry import HOOKS, MODELS

from .helpers import REPO, config_with_demo_files

#: What matchers log beside the loss terms (``statistics`` of GeometricPositives and
#: MatchedPixelPairs).
MATCHER_STATISTICS = {'pos_ratio', 'valid_pairs'}
DEMOS = sorted(glob.glob(osp.join(REPO, 'configs', 'demo', '*.py')))
_RUNS = itertools.count()


def registered_algorithms():
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, DenseAlgorithm))


def demo_types():
    return {osp.basename(p): Config.fromfile(p).model.type for p in DEMOS}


def test_every_registered_algorithm_has_a_demo_config():
    covered = set(demo_types().values())
    missing = [a for a in registered_algorithms() if a not in covered]
    assert not missing, f'registered algorithms without a configs/demo/ config: {missing}'
    assert len(registered_algorithms()) >= 10


def contract_cfg(path, root, max_iters, resume=False):
    """The demo config at two-step scale: batch 2, no worker processes, a checkpoint every
    step, a constant lr, its files (``demo_files``) written by their tools under ``root``,
    and the periodic dense evaluation left out (the contract evaluates once at the end)."""
    cfg = config_with_demo_files(path, root)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_cfg.max_iters = max_iters
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    cfg.default_hooks.logger.interval = 1
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] != 'DenseEvalHook']
    cfg.work_dir = osp.join(str(root), 'run')
    cfg.randomness = dict(seed=5, deterministic=True)
    cfg.resume = resume
    cfg.experiment_name = f'contract{next(_RUNS)}'
    return cfg


class Stop(RuntimeError):
    pass


@HOOKS.register_module(force=True)
class ContractProbe(Hook):
    """Records each step's outputs; with ``stop_after`` ends the run after that step."""
    priority = 'LOWEST'

    def __init__(self, stop_after=None):
        self.stop_after, self.outputs = stop_after, []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.outputs.append({k: v.detach().clone() for k, v in outputs.items()})
        if self.stop_after is not None and runner.iter + 1 == self.stop_after:
            raise Stop('stopped by the contract test')


def strict_downstream_load(backbone_cfg: dict, exported: str) -> None:
    """Load an export strictly into the downstream model: mmdet's ResNet for a ResNet, mmseg's
    VisionTransformer for a ViT (the formats the transfer configs read)."""
    state = torch.load(exported)
    kind = backbone_cfg['type'].split('.')[-1]
    if kind == 'ResNet':
        from mmdet.models.backbones import ResNet
        net = ResNet(depth=backbone_cfg['depth'])
    elif kind == 'ViT':
        from mmseg.models.backbones import VisionTransformer
        from dense_ssl_mm.models.backbones.vit import ARCHS
        width, depth, heads = ARCHS[backbone_cfg.get('arch', 'small')]
        net = VisionTransformer(img_size=backbone_cfg.get('img_size', 224),
                                patch_size=backbone_cfg.get('patch_size', 16), embed_dims=width,
                                patch_bias=True,
                                num_layers=depth, num_heads=heads, final_norm=True,
                                norm_cfg=dict(type='LN', eps=1e-6), with_cls_token=True)
    else:
        raise AssertionError(f'no downstream format known for backbone {kind}')
    report = net.load_state_dict(state, strict=True)
    assert not report.missing_keys and not report.unexpected_keys


#: The demo whose contract the quick tier (``-m "not slow"``) runs; the others are ``slow``
#: (20 to 65 s each on 2 cores) and run in the full suite and CI.
QUICK_DEMO = 'pixpro_r18_demo.py'


@pytest.mark.parametrize('config', [
    pytest.param(osp.basename(p), marks=() if osp.basename(p) == QUICK_DEMO else pytest.mark.slow)
    for p in DEMOS])
def test_demo_config_contract(config, tmp_path):
    torch.set_num_threads(1)
    path = osp.join(REPO, 'configs', 'demo', config)
    straight_cfg = contract_cfg(path, tmp_path / 'a', 2)
    probe = ContractProbe()
    straight = Runner.from_cfg(straight_cfg)
    straight.register_hook(probe)
    straight.train()
    # two steps, every term finite; every loss term named loss_<name>
    assert len(probe.outputs) == 2
    for out in probe.outputs:
        losses = [k for k in out if 'loss' in k and k != 'loss']
        assert losses and all(k.startswith('loss_') for k in losses), sorted(out)
        # the loss is the sum of the logged terms; what else is logged is a matcher's
        # statistic, not a loss under another name
        assert torch.allclose(sum(out[k] for k in losses), out['loss'], rtol=1e-6), out
        assert set(out) - set(losses) - {'loss'} <= MATCHER_STATISTICS, sorted(out)
        assert all(torch.isfinite(v).all() for v in out.values()), out
    # a stop after step 1 and a resume give the uninterrupted run's weights, bit for bit
    stopping = contract_cfg(path, tmp_path / 'b', 2)
    stopping.custom_hooks = list(stopping.custom_hooks) + [dict(type='ContractProbe',
                                                                stop_after=1)]
    with pytest.raises(Stop):
        Runner.from_cfg(stopping).train()
    resumed = Runner.from_cfg(contract_cfg(path, tmp_path / 'b', 2, resume=True))
    resumed.train()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert set(a) == set(b)
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
    groups = [[(g['lr'], g.get('weight_decay')) for g in r.optim_wrapper.optimizer.param_groups]
              for r in (straight, resumed)]
    assert groups[0] == groups[1]
    buffers = [k for k in a if k.endswith(('momentum_steps', 'sampling_steps'))]
    assert all(int(a[k]) == 2 for k in buffers)  # every schedule counter at the step count
    # export of the backbone loads strictly into the downstream format
    backbone_cfg = straight_cfg.model.backbone
    layout = 'mmseg-vit' if backbone_cfg['type'].endswith('ViT') else 'mmdet'
    exported = str(tmp_path / 'backbone.pth')
    export_checkpoint(osp.join(straight_cfg.work_dir, 'iter_2.pth'), exported, layout=layout)
    strict_downstream_load(backbone_cfg, exported)
    # dense evaluation of the checkpoint on one held-out image: correspondence PCK in [0, 1]
    model = build_eval_model(straight_cfg, osp.join(straight_cfg.work_dir, 'iter_2.pth'),
                             level='dense')
    image = load_images([osp.join(REPO, 'configs', 'demo', 'images', 'coffee.jpg')])
    metrics, first = evaluate_correspondence(model, image, 'dense', view_size=112)
    assert 0.0 <= metrics['corr/pck@1'] <= metrics['corr/pck@2'] <= 1.0
    assert torch.isfinite(first['feats']).all() and first['feats'].shape[:2] == (2, 1)
