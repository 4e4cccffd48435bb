"""Export and loading into mmdet / mmseg / torchvision / detectron2 names; the tiny CPU
transfer path end to end."""
import csv
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
import torchvision
from mmengine.config import Config

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.apis.export import export_checkpoint as export
from dense_ssl_mm.apis.launch import replace_pretrained
from ..conftest import REPO
from ..helpers import build_tiny

BENCH = osp.join(REPO, 'configs', 'benchmarks')


def pixpro_checkpoint(tmp_path, depth=18, **backbone):
    """A Runner-style checkpoint of a PixPro model whose target differs from its online net."""
    model = build_tiny(backbone=dict(type='ResNet', depth=depth, out_indices=(3, ),
                                     norm_eval=False, **backbone),
                       neck=dict(type='ConvMLPNeck', in_channels=512 if depth < 50 else 2048,
                                 hid_channels=32, out_channels=16),
                       ppm=dict(type='PixelPropagationModule', channels=16))
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p) * 0.01)
        for b in model.backbone.buffers():
            if b.dtype.is_floating_point:
                b.add_(torch.rand_like(b))
    path = tmp_path / 'pretrain.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(cfg='')), path)
    return path, model


def test_export_loads_into_torchvision_and_names_detectron2(tmp_path):
    ckpt, model = pixpro_checkpoint(tmp_path)
    out, d2 = str(tmp_path / 'bb.pth'), str(tmp_path / 'bb.pkl')
    written = export(str(ckpt), out, detectron2=d2)
    exported = torch.load(out)
    assert written[out] == len(model.backbone.state_dict()) == len(exported)
    tv = torchvision.models.resnet18()
    result = tv.load_state_dict(exported, strict=False)
    assert sorted(result.missing_keys) == ['fc.bias', 'fc.weight']
    assert result.unexpected_keys == []
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(tv.state_dict()[key], value), key
    blob = pickle.load(open(d2, 'rb'))
    names = blob['model']
    assert blob['matching_heuristics'] is True
    assert (names['stem.conv1.norm.running_var'] == model.backbone.bn1.running_var.numpy()).all()
    assert (names['res5.1.conv2.weight'] == model.backbone.layer4[1].conv2.weight.detach()
            .numpy()).all()
    assert (names['res3.0.shortcut.norm.bias'] == model.backbone.layer2[0].downsample[1].bias
            .detach().numpy()).all()
    assert not any('num_batches_tracked' in k or k.startswith('layer') for k in names)


@pytest.mark.slow
def test_export_momentum_branch_and_errors(tmp_path):
    ckpt, model = pixpro_checkpoint(tmp_path)
    out = str(tmp_path / 'm.pth')
    export(str(ckpt), out, branch='momentum')
    exported = torch.load(out)
    for key, value in model.target_backbone.state_dict().items():
        assert torch.equal(exported[key], value), key
    assert not torch.equal(exported['conv1.weight'], model.backbone.conv1.weight)
    bad = tmp_path / 'classifier.pth'
    torch.save(dict(state_dict=dict(fc=torch.zeros(2))), bad)
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'export_backbone.py'),
                           str(bad), str(tmp_path / 'x.pth')], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "no tensors under 'backbone.'" in proc.stderr and "['fc']" in proc.stderr
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'export_backbone.py'),
                           str(ckpt), str(tmp_path / 'y.pth')], capture_output=True, text=True)
    assert proc.returncode == 0
    assert f'wrote {len(model.backbone.state_dict())} tensors (online)' in proc.stdout


def test_training_checkpoint_loads_with_prefix(tmp_path):
    ckpt, model = pixpro_checkpoint(tmp_path)
    resnet = MODELS.build(dict(type='mmdet.ResNet', depth=18, init_cfg=dict(
        type='Pretrained', prefix='backbone.', checkpoint=str(ckpt))))
    resnet.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(resnet.state_dict()[key], value), key


def build_benchmark_model(config, pretrained):
    cfg = Config.fromfile(config)
    assert replace_pretrained(cfg.model, cfg.pretrained, pretrained) >= 1
    scope = cfg.default_scope
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model = registry.build(cfg.model)
    model.init_weights()
    return model


@pytest.mark.parametrize('config,parts,depth', [
    ('mmdet/mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py', ['backbone'], 50),
    ('mmdet/faster-rcnn_r50-c4_syncbn_24k_voc0712.py', ['backbone', 'roi_head.shared_head'], 50),
    ('mmseg/fcn_r50-d8_syncbn_40k_cityscapes-769x769.py', ['backbone'], 50),
    ('mmseg/fcn_r50-d8_syncbn_20k_voc12aug-512x512.py', ['backbone'], 50),
    ('tiny/mask-rcnn_r18_fpn_tiny-coco.py', ['backbone'], 18),
    ('tiny/fcn_r18-d8_tiny-voc.py', ['backbone'], 18),
])
def test_benchmark_models_load_every_backbone_weight(tmp_path, config, parts, depth):
    ckpt, _ = pixpro_checkpoint(tmp_path, depth=depth)
    out = str(tmp_path / 'backbone.pth')
    export(str(ckpt), out)
    exported = torch.load(out)
    model = build_benchmark_model(osp.join(BENCH, config), out)
    loaded = {}
    for part in parts:
        module = model.get_submodule(part)
        loaded.update(module.state_dict())
    # no missing and no unexpected backbone keys, and every loaded value equals the export
    assert set(loaded) == set(exported)
    for key, value in exported.items():
        assert torch.equal(loaded[key], value), key


def test_pretrained_is_one_setting():
    cfg = Config.fromfile(osp.join(BENCH, 'mmdet', 'faster-rcnn_r50-c4_syncbn_24k_voc0712.py'))
    assert replace_pretrained(cfg.model, cfg.pretrained, '/new.pth') == 2
    assert cfg.model.backbone.init_cfg.checkpoint == '/new.pth'
    assert cfg.model.roi_head.shared_head.init_cfg.checkpoint == '/new.pth'
    m = Config.fromfile(osp.join(BENCH, 'mmdet', 'mask-rcnn_r50_fpn_syncbn-4conv1fc_1x_coco.py'))
    assert m.model.backbone.norm_cfg.type == 'SyncBN' and m.model.backbone.frozen_stages == -1
    assert m.model.backbone.norm_eval is False and m.model.neck.norm_cfg.type == 'SyncBN'
    assert m.model.roi_head.bbox_head.type == 'Shared4Conv1FCBBoxHead'
    assert m.model.roi_head.mask_head.norm_cfg.type == 'SyncBN'
    seg = Config.fromfile(osp.join(BENCH, 'mmseg', 'fcn_r50-d8_syncbn_40k_cityscapes-769x769.py'))
    assert seg.model.backbone.type == 'ResNet' and seg.model.backbone.deep_stem is False
    assert seg.crop_size == (769, 769)


@pytest.mark.slow
def test_tiny_transfer_path_end_to_end(tmp_path):
    """demo pretraining -> export -> Mask R-CNN and FCN fine-tuning -> COCO / mIoU numbers."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    py = sys.executable
    tool = lambda name: osp.join(REPO, 'tools', name)  # noqa: E731
    subprocess.run([py, tool('train.py'), osp.join(REPO, 'configs/demo/pixpro_r18_demo.py'),
                    '--work-dir', 'pre', '--cfg-options', 'train_cfg.max_iters=4',
                    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False'],
                   cwd=tmp_path, env=env, check=True, capture_output=True)
    subprocess.run([py, tool('make_tiny_datasets.py'), 'data/tiny'], cwd=tmp_path, check=True,
                   capture_output=True)
    assert osp.isfile(tmp_path / 'data/tiny/LICENSE.md')
    configs = [osp.join(BENCH, 'tiny', 'mask-rcnn_r18_fpn_tiny-coco.py'),
               osp.join(BENCH, 'tiny', 'fcn_r18-d8_tiny-voc.py')]
    proc = subprocess.run([py, tool('benchmark_transfer.py'), 'pre', '--work-dir', 'out',
                           '--name', 'PixPro demo', '--configs', *configs,
                           '--cfg-options', 'train_cfg.max_iters=4'],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = list(csv.DictReader(open(tmp_path / 'out' / 'results.csv')))
    ours = {(r['benchmark'], r['metric']): float(r['value']) for r in rows
            if r['method'] == 'PixPro demo'}
    assert set(ours) == {('mask-rcnn_r18_fpn_tiny-coco', 'box AP'),
                         ('mask-rcnn_r18_fpn_tiny-coco', 'mask AP'),
                         ('fcn_r18-d8_tiny-voc', 'mIoU')}
    assert all(0.0 <= v <= 100.0 for v in ours.values())
    assert all(r['method'] == 'PixPro demo' for r in rows)  # no paper rows for the tiny sets
    assert '| fcn_r18-d8_tiny-voc | PixPro demo | mIoU |' in proc.stdout
    # the fine-tuned detector started from the exported backbone: its log says so
    log = open(tmp_path / 'out' / 'mask-rcnn_r18_fpn_tiny-coco' / 'train.log').read()
    assert 'online_backbone.pth' in log
