"""A pretrained ViT exported for mmseg's VisionTransformer loads strictly (0 missing keys)
and gives the same features, LayerScale folded into the projections, never dropped."""
import pytest
import torch

from dense_ssl_mm.apis.export import export_checkpoint
from dense_ssl_mm.registry import MODELS


def vit_pixpro():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='PixPro', data_preprocessor=dict(type='ViewDataPreprocessor'),
        backbone=dict(type='ViT', arch='small', patch_size=16, layer_scale=1e-5,
                      out_indices=(2, 5, 8, 11)),
        neck=dict(type='ConvMLPNeck', in_channels=384, hid_channels=64, out_channels=32),
        ppm=dict(type='PixelPropagationModule', channels=32),
        head=dict(type='DenseContrastHead', loss=dict(type='PixProConsistencyLoss'))))
    with torch.no_grad():  # LayerScale far from its 1e-5 start, so a dropped gamma shows
        for name, p in model.backbone.named_parameters():
            if name.endswith('gamma'):
                p.copy_(torch.rand_like(p) + 0.5)
    return model.eval()


def test_mmseg_vit_export_keeps_the_features(tmp_path):
    from mmseg.models.backbones import VisionTransformer
    model = vit_pixpro()
    ckpt = tmp_path / 'pretrain.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp_path / 'vit_mmseg.pth'
    written = export_checkpoint(str(ckpt), str(out), layout='mmseg-vit')
    assert written == {str(out): 4 + 2 + 12 * 12}
    mmseg_vit = VisionTransformer(img_size=224, patch_size=16, embed_dims=384, num_layers=12,
                                  num_heads=6, patch_bias=True, final_norm=True,
                                  norm_cfg=dict(type='LN', eps=1e-6), out_indices=(2, 5, 8, 11),
                                  with_cls_token=True)
    mmseg_vit.eval()  # (mmseg's train() returns None)
    report = mmseg_vit.load_state_dict(torch.load(out), strict=True)
    assert not report.missing_keys and not report.unexpected_keys
    x = torch.randn(2, 3, 224, 224)
    backbone = model.backbone
    with torch.no_grad():
        theirs = mmseg_vit(x)
        ours = backbone(x)
        tokens = backbone.norm_pre(backbone._pos_embed(backbone.patch_embed(x)))
        raw = []
        for block in backbone.blocks:  # mmseg outputs the blocks' tokens before the final
            tokens = block(tokens)      # norm except at the last block (final_norm)
            raw.append(tokens[:, 1:].transpose(1, 2).reshape(2, 384, 14, 14))
    for k, i in enumerate((2, 5, 8)):
        assert (theirs[k] - raw[i]).abs().max() < 1e-4
    assert (theirs[3] - ours[3]).abs().max() < 1e-4  # the last, after the final norm
    # without folding (gammas dropped) the features would differ
    state = torch.load(out)
    unfolded = {k: v for k, v in state.items()}
    for i in range(12):
        gamma = model.backbone.blocks[i].ls1.gamma.detach()
        unfolded[f'layers.{i}.attn.attn.out_proj.weight'] = \
            state[f'layers.{i}.attn.attn.out_proj.weight'] / gamma[:, None]
        unfolded[f'layers.{i}.attn.attn.out_proj.bias'] = \
            state[f'layers.{i}.attn.attn.out_proj.bias'] / gamma
    mmseg_vit.load_state_dict(unfolded)
    with torch.no_grad():
        assert (mmseg_vit(x)[3] - ours[3]).abs().max() > 1e-2


def test_registers_and_resnets_are_refused(tmp_path):
    torch.manual_seed(0)
    reg = MODELS.build(dict(type='ViT', arch='tiny', patch_size=16, reg_tokens=4))
    torch.save({f'backbone.{k}': v for k, v in reg.state_dict().items()}, tmp_path / 'r.pth')
    with pytest.raises(ValueError, match='has no register tokens'):
        export_checkpoint(str(tmp_path / 'r.pth'), str(tmp_path / 'o.pth'), layout='mmseg-vit')
    resnet = MODELS.build(dict(type='ResNet', depth=18, base_channels=8))
    torch.save({f'backbone.{k}': v for k, v in resnet.state_dict().items()}, tmp_path / 's.pth')
    with pytest.raises(ValueError, match="layout 'mmseg-vit' exports a ViT backbone"):
        export_checkpoint(str(tmp_path / 's.pth'), str(tmp_path / 'o.pth'), layout='mmseg-vit')


def test_the_upernet_benchmark_config_loads_the_export_strictly(tmp_path):
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS as SEG_MODELS

    from ..conftest import REPO
    model = vit_pixpro()
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'pretrain.pth')
    export_checkpoint(str(tmp_path / 'pretrain.pth'), str(tmp_path / 'vit.pth'),
                      layout='mmseg-vit')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'benchmarks', 'mmseg',
                                   'upernet_vit-s16_ln_mln_160k_ade20k-512x512.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'vit.pth')
    init_default_scope('mmseg')
    seg = SEG_MODELS.build(cfg.model)
    seg.init_weights()  # StrictPretrained: any missing or mis-shaped tensor is an error
    seg.eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        theirs = seg.backbone(x)
        ours = model.backbone(x)
        logits = seg(x, mode='tensor')
    assert (theirs[3] - ours[3]).abs().max() < 1e-4
    assert tuple(logits.shape) == (1, 150, 56, 56)


def vit_t_checkpoint(tmp_path):
    import os.path as osp

    from mmengine.config import Config

    from ..conftest import REPO
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_vit-t16_demo.py'))
    torch.manual_seed(1)
    model = MODELS.build(cfg.model)
    path = tmp_path / 'vit_pretrain.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path), model


def test_vitdet_style_mask_rcnn_loads_the_pretrained_vit(tmp_path):
    import os.path as osp

    from .test_transfer import BENCH, build_benchmark_model
    ckpt, pretrained = vit_t_checkpoint(tmp_path)
    detector = build_benchmark_model(
        osp.join(BENCH, 'tiny', 'mask-rcnn_vit-t16_simplefpn_tiny-coco.py'), ckpt)
    ours = pretrained.backbone.state_dict()
    theirs = detector.backbone.state_dict()
    assert set(theirs) == set(ours)  # every ViT tensor, nothing else
    for key, value in ours.items():
        assert torch.equal(theirs[key], value), key
    detector.eval()
    x = torch.randn(1, 3, 224, 320)
    with torch.no_grad():
        levels = detector.neck(detector.backbone(x))
        assert torch.equal(detector.backbone(x)[-1], pretrained.backbone.eval()(x)[-1])
    assert [tuple(p.shape[-2:]) for p in levels] == [(56, 80), (28, 40), (14, 20), (7, 10),
                                                     (4, 5)]


@pytest.mark.slow
def test_vit_mask_rcnn_fine_tunes_on_the_tiny_coco_set(tmp_path):
    import os
    import os.path as osp
    import subprocess
    import sys

    from ..conftest import REPO
    ckpt, _ = vit_t_checkpoint(tmp_path)
    subprocess.run([sys.executable, osp.join(REPO, 'tools', 'make_tiny_datasets.py'),
                    'data/tiny'], cwd=tmp_path, check=True, capture_output=True)
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'train.py'),
         osp.join(REPO, 'configs/benchmarks/tiny/mask-rcnn_vit-t16_simplefpn_tiny-coco.py'),
         '--work-dir', str(tmp_path / 'det'), '--cfg-options', f'pretrained={ckpt}',
         'train_cfg.max_iters=3', 'train_cfg.val_interval=3'],
        cwd=tmp_path, env=dict(os.environ), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = proc.stdout + proc.stderr
    assert 'coco/bbox_mAP' in log and 'loaded' in log and ckpt in log


def neco_checkpoint(tmp_path, seed):
    """The NeCo ViT-S/14 recipe's model (a small head) whose student starts from a random
    DINOv2-layout file; its state saved as ``tmp_path/neco.pth``."""
    import os.path as osp

    from mmengine.config import Config

    from dense_ssl_mm.apis.export import write_random_dinov2

    from ..conftest import REPO
    write_random_dinov2(str(tmp_path / 'dinov2.pth'), 'small', 14, 0, seed=seed)
    neco = Config.fromfile(osp.join(REPO, 'configs', 'neco_vit-s14_dinov2_coco.py')).model
    neco.backbone.init_cfg.checkpoint = str(tmp_path / 'dinov2.pth')
    neco.update(queue_size=8, neck=dict(neco.neck, hid_channels=16, out_channels=8))
    model = MODELS.build(neco)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'neco.pth')
    return model


@pytest.mark.parametrize('config', ['upernet_vit-s14_dinov2_ln_mln_160k_ade20k-512x512.py',
                                    'upernet_vit-s14_dinov2_ln_mln_20k_voc12aug-512x512.py'])
@pytest.mark.slow
def test_a_neco_vit_from_a_dinov2_file_reaches_upernet_unchanged(tmp_path, config):
    """DINOv2-layout file -> NeCo's student (LayerScale, 14 px patches) -> export
    ``mmseg-vit`` -> the S/14 UPerNet configs (ADE20K, VOC): strict load, the same tokens at
    the native 518 px grid, the configured classes."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS as SEG_MODELS

    from ..conftest import REPO
    model = neco_checkpoint(tmp_path, seed=5)
    export_checkpoint(str(tmp_path / 'neco.pth'), str(tmp_path / 'vit.pth'), layout='mmseg-vit')
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'benchmarks', 'mmseg', config))
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'vit.pth')
    init_default_scope('mmseg')
    seg = SEG_MODELS.build(cfg.model)
    seg.init_weights()
    seg.eval()
    x = torch.randn(1, 3, 518, 518)
    with torch.no_grad():
        theirs = seg.backbone(x)
        ours = model.backbone.eval()(x)
    assert (theirs[3] - ours[3]).abs().max() < 1e-4
    assert seg.decode_head.num_classes == (21 if 'voc' in config else 150)


@pytest.mark.slow
def test_a_neco_vit_loads_into_the_s14_vitdet_mask_rcnn(tmp_path):
    """A NeCo checkpoint (student from a DINOv2-layout file) -> the ViT-S/14 ViTDet-style
    Mask R-CNN: every ViT tensor equal, the same tokens, the /14 map on mmdet's strides 4-64
    after padding to a multiple of 224."""
    import os.path as osp

    from .test_transfer import BENCH, build_benchmark_model
    model = neco_checkpoint(tmp_path, seed=6)
    detector = build_benchmark_model(
        osp.join(BENCH, 'mmdet', 'mask-rcnn_vit-s14_dinov2_simplefpn_1x_coco.py'),
        str(tmp_path / 'neco.pth'))
    ours, theirs = model.backbone.state_dict(), detector.backbone.state_dict()
    assert set(theirs) == set(ours)
    assert all(torch.equal(theirs[k], v) for k, v in ours.items())
    detector.eval()
    batch = detector.data_preprocessor(dict(inputs=[torch.randint(0, 255, (3, 300, 500),
                                                                  dtype=torch.uint8)]))
    x = batch['inputs']
    assert tuple(x.shape[-2:]) == (448, 672)  # padded to multiples of 224
    with torch.no_grad():
        tokens = detector.backbone(x)
        assert torch.equal(tokens[-1], model.backbone.eval()(x)[-1])
        levels = detector.neck(tokens)
    assert [tuple(p.shape[-2:]) for p in levels] == [(112, 168), (56, 84), (28, 42), (14, 21),
                                                     (7, 11)]


@pytest.mark.slow
def test_an_official_dinov2_file_exports_to_every_layout(tmp_path):
    """A release file (no ``backbone.`` prefix: was "no tensors under 'backbone.'"), its
    ``.safetensors`` twin and a DDP save export to ``mmdet`` (the ViT's own names: the
    tensors the ViT import loads), ``dinov2`` (the file back, the training-only mask token
    zeroed) and ``mmseg-vit`` (the S/14 UPerNet config loads it strictly, same tokens)."""
    import os.path as osp
    import subprocess
    import sys

    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS as SEG_MODELS
    from safetensors.torch import save_file

    from dense_ssl_mm.apis.export import write_random_dinov2

    from ..conftest import REPO
    release = tmp_path / 'dinov2_vits14_pretrain.pth'
    write_random_dinov2(str(release), 'small', 14, 0, seed=4)
    official = torch.load(release)
    save_file({k: v.contiguous() for k, v in official.items()}, str(tmp_path / 'w.safetensors'))
    torch.save({f'module.{k}': v for k, v in official.items()}, tmp_path / 'ddp.pth')
    vit = MODELS.build(dict(type='ViT', arch='small', patch_size=14, img_size=518,
                            layer_scale=1e-5, init_cfg=dict(type='DINOv2',
                                                            checkpoint=str(release))))
    vit.init_weights()
    vit.eval()
    for source in (release, tmp_path / 'w.safetensors', tmp_path / 'ddp.pth'):
        out = tmp_path / f'{source.stem}_own.pth'
        export_checkpoint(str(source), str(out), layout='mmdet')
        own = torch.load(out)
        assert set(own) == set(vit.state_dict())
        assert all(torch.equal(own[k], v) for k, v in vit.state_dict().items()), source
    export_checkpoint(str(release), str(tmp_path / 'back.pth'), layout='dinov2')
    back = torch.load(tmp_path / 'back.pth')
    assert set(back) == set(official) and torch.equal(back['mask_token'],
                                                      torch.zeros(1, 384))
    assert all(torch.equal(back[k], v) for k, v in official.items() if k != 'mask_token')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'export_backbone.py'),
                           str(release), str(tmp_path / 'vit_mmseg.pth'), '--layout',
                           'mmseg-vit'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert 'read ' in proc.stdout and 'the official DINOv2 layout' in proc.stdout
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'benchmarks', 'mmseg',
                                   'upernet_vit-s14_dinov2_ln_mln_20k_voc12aug-512x512.py'))
    cfg.model.backbone.init_cfg.checkpoint = str(tmp_path / 'vit_mmseg.pth')
    init_default_scope('mmseg')
    seg = SEG_MODELS.build(cfg.model)
    seg.init_weights()  # StrictPretrained: 0 missing, 0 unexpected, no other shape
    seg.eval()
    x = torch.randn(1, 3, 518, 518)
    with torch.no_grad():
        assert (seg.backbone(x)[3] - vit(x)[-1]).abs().max() < 1e-4


def test_a_dinov2_training_checkpoint_exports_its_teacher_or_its_student(tmp_path):
    from dense_ssl_mm.apis.export import write_random_dinov2
    from dense_ssl_mm.models.backbones.vit_layouts import dinov2_to_vit
    for name, seed in (('t.pth', 1), ('s.pth', 2)):
        write_random_dinov2(str(tmp_path / name), 'tiny', 14, 0, seed=seed)
    teacher, student = torch.load(tmp_path / 't.pth'), torch.load(tmp_path / 's.pth')
    torch.save({'model': {**{f'teacher.backbone.{k}': v for k, v in teacher.items()},
                          **{f'student.backbone.{k}': v for k, v in student.items()}}},
               tmp_path / 'train.pth')
    for branch, want in ((None, teacher), ('momentum', teacher), ('online', student)):
        notes = []
        export_checkpoint(str(tmp_path / 'train.pth'), str(tmp_path / 'o.pth'), branch,
                          notes=notes)
        got, expected = torch.load(tmp_path / 'o.pth'), dinov2_to_vit(want)
        assert set(got) == set(expected)
        assert all(torch.equal(got[k], v) for k, v in expected.items()), branch
        assert notes[0].startswith('a DINOv2 training checkpoint: its '
                                   f"{'student' if branch == 'online' else 'teacher'} backbone")
