"""ViT backbone: official DINOv2 files (with and without registers) give timm's DINOv2 patch
tokens exactly at the native 518 px and the official positional-embedding rule at 224 px;
wrong files are errors that name the keys; PixPro runs on ViT-S/16's 14 x 14 cells with
exact positive masks."""
import pytest
import timm
import torch
import torch.nn.functional as F

from dense_ssl_mm.models.backbones import ViT
from dense_ssl_mm.geometry.correspondence import cell_centers, positive_mask
from dense_ssl_mm.registry import MODELS
from ..helpers import fixed_batch

TIMM = {0: 'vit_small_patch14_dinov2', 4: 'vit_small_patch14_reg4_dinov2'}


def random_timm(reg: int, img_size: int = 518):
    """timm's DINOv2 ViT-S/14 (no download) with every tensor random, LayerScale near 1."""
    torch.manual_seed(reg)
    model = timm.create_model(TIMM[reg], pretrained=False, num_classes=0, img_size=img_size)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.randn_like(p) * (0.1 if 'gamma' not in name else 0.2) +
                    (1.0 if 'gamma' in name or name.endswith('norm1.weight') or
                     name.endswith('norm2.weight') or name == 'norm.weight' else 0.0))
    return model.eval()


def official_layout(model, reg: int) -> dict:
    """The same weights as the official DINOv2 file stores them (written from the layout
    facts, independently of the converter under test)."""
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state['mask_token'] = torch.randn(1, state['cls_token'].shape[-1])
    if reg:
        state['register_tokens'] = state.pop('reg_token')
        cls_pos = torch.randn_like(state['cls_token'])
        state['cls_token'] = state['cls_token'] - cls_pos  # the official file keeps the
        state['pos_embed'] = torch.cat([cls_pos, state['pos_embed']], 1)  # class position
    return state


def ours(reg: int, path: str, rule: str = 'dinov2') -> ViT:
    model = MODELS.build(dict(type='ViT', arch='small', patch_size=14, img_size=518,
                              reg_tokens=reg, layer_scale=1e-5, pos_interpolation=rule,
                              init_cfg=dict(type='DINOv2', checkpoint=path)))
    model.init_weights()
    return model.eval()


def official_pos(pos: torch.Tensor, reg: int, grid: int) -> torch.Tensor:
    """The official rule, transcribed: bicubic from 37 x 37; plain models by the scale
    (grid + 0.1) / 37 without antialiasing, register models to the size, antialiased."""
    prefix = 0 if reg else 1
    patch = pos[:, prefix:].reshape(1, 37, 37, -1).permute(0, 3, 1, 2)
    if reg:
        patch = F.interpolate(patch, size=(grid, grid), mode='bicubic', antialias=True)
    else:
        patch = F.interpolate(patch, scale_factor=((grid + 0.1) / 37, ) * 2, mode='bicubic',
                              antialias=False)
    patch = patch.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)
    return patch if reg else torch.cat([pos[:, :1], patch], 1)


@pytest.mark.parametrize('reg', [0, 4])
def test_dinov2_file_gives_timms_tokens_and_the_official_rule(reg, tmp_path):
    reference = random_timm(reg)
    path = str(tmp_path / 'dinov2.pth')
    torch.save(official_layout(reference, reg), path)
    model = ours(reg, path)
    x = torch.randn(2, 3, 518, 518)
    with torch.no_grad():
        want = reference.forward_features(x)[:, reference.num_prefix_tokens:]
        got = model(x)[-1].flatten(2).transpose(1, 2)
    assert got.shape == (2, 37 * 37, 384)
    assert (got - want).abs().max() < 1e-5
    # 224 px: the official interpolation, through timm's blocks at a 16 x 16 grid
    small = random_timm(reg, img_size=224)
    small.load_state_dict({**reference.state_dict(),
                           'pos_embed': official_pos(reference.pos_embed.detach(), reg, 16)})
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        want = small.forward_features(x)[:, small.num_prefix_tokens:]
        got = model(x)[-1].flatten(2).transpose(1, 2)
        timm_rule = ours(reg, path, 'timm')(x)[-1].flatten(2).transpose(1, 2)
    assert (got - want).abs().max() < 1e-5
    if reg:  # register models: the official rule is timm's (exact size, antialiased)
        assert (timm_rule - want).abs().max() < 1e-5
    else:  # plain models: the 0.1 offset without antialiasing differs from timm's rule
        assert (timm_rule - want).abs().max() > 1e-3


def test_wrong_files_name_the_keys(tmp_path):
    reference = random_timm(0)
    state = official_layout(reference, 0)
    del state['blocks.3.mlp.fc2.weight']
    torch.save(state, tmp_path / 'partial.pth')
    with pytest.raises(ValueError, match=r"1 missing \['blocks.3.mlp.fc2.weight'\]"):
        ours(0, str(tmp_path / 'partial.pth'))
    torch.save(official_layout(reference, 0), tmp_path / 'plain.pth')
    with pytest.raises(ValueError, match=r"missing \['reg_token'\].*of another shape "
                                         r"\['pos_embed: file \(1, 1370, 384\)"):
        ours(4, str(tmp_path / 'plain.pth'))  # a plain file into a register model
    with pytest.raises(ValueError, match=r"init_cfg must be dict\(type='Pretrained' or "):
        ViT(init_cfg=dict(type='Kaiming'))


def test_pixpro_on_vit_s16_has_14x14_cells_and_exact_positives():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='PixPro', data_preprocessor=dict(type='ViewDataPreprocessor'),
        backbone=dict(type='ViT', arch='small', patch_size=16),
        neck=dict(type='ConvMLPNeck', in_channels=384, hid_channels=64, out_channels=32),
        ppm=dict(type='PixelPropagationModule', channels=32),
        head=dict(type='DenseContrastHead', loss=dict(type='PixProConsistencyLoss'))))
    model.init_weights()
    assert model.dense_stride(224) == 16
    batch = fixed_batch(n=2, size=224)
    seen = {}
    match = model.head.match
    model.head.match = lambda *a, **k: seen.setdefault('m', match(*a, **k))
    loss = model(batch, mode='loss')['loss_pixpro']
    loss.backward()
    assert torch.isfinite(loss) and model.backbone.blocks[0].attn.qkv.weight.grad is not None
    mask = seen['m'].matches[0].mask  # view 1 -> view 2, (N, 196, 196)
    assert mask.shape == (2, 196, 196)
    boxes, flips = batch['boxes'], batch['flips']
    c1 = cell_centers(boxes[0], flips[0], (14, 14))
    c2 = cell_centers(boxes[1], flips[1], (14, 14))
    diag = (16.0 ** 2 + 16.0 ** 2) ** 0.5  # both views: 224 px over 14 cells
    loop = torch.zeros_like(mask)
    for i in range(196):
        for j in range(196):
            loop[:, i, j] = (c1[:, i] - c2[:, j]).norm(dim=-1) < 0.7 * diag
    assert torch.equal(mask, loop) and int(mask.sum()) > 0
    assert torch.equal(mask, positive_mask(boxes[0], flips[0], (14, 14), boxes[1], flips[1],
                                           (14, 14), 0.7))


@pytest.mark.parametrize('reg', [0, 4])
def test_the_written_dinov2_file_is_laid_out_as_the_release_and_round_trips(reg, tmp_path):
    """``write_random_dinov2`` (the demo's stand-in for a release file) has exactly the keys
    and shapes of timm's DINOv2 ViT-S/14 in the official layout; loading it back gives the
    writer's tokens; ViT -> DINOv2 -> ViT is the identity."""
    from dense_ssl_mm.apis.export import write_random_dinov2
    from dense_ssl_mm.models.backbones.vit_layouts import dinov2_to_vit, vit_to_dinov2
    path = str(tmp_path / 'dinov2.pth')
    write_random_dinov2(path, 'small', 14, reg, seed=3)
    written = torch.load(path)
    release = official_layout(random_timm(reg), reg)
    assert {k: tuple(v.shape) for k, v in written.items()} == \
        {k: tuple(v.shape) for k, v in release.items()}
    torch.manual_seed(3)
    source = ViT(arch='small', patch_size=14, img_size=518, reg_tokens=reg,
                 layer_scale=1.0).eval()
    x = torch.randn(2, 3, 98, 126)
    with torch.no_grad():
        assert (ours(reg, path, 'timm')(x)[-1] - source(x)[-1]).abs().max() < 1e-5
    state = source.state_dict()
    back = dinov2_to_vit(vit_to_dinov2(state))
    assert back.keys() == state.keys() and all(torch.equal(back[k], state[k]) for k in state)


def test_a_neco_checkpoint_exports_to_the_dinov2_layout(tmp_path):
    """``export_backbone --layout dinov2``: the online ViT of a pretraining checkpoint in the
    official layout, loading strictly with the same features."""
    from dense_ssl_mm.apis.export import export_checkpoint
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='NeCo', backbone=dict(type='ViT', arch='small', patch_size=14, img_size=518,
                                   layer_scale=1e-5, reg_tokens=4),
        neck=dict(type='ConvMLPNeck', in_channels=384, hid_channels=32, out_channels=16,
                  num_layers=2, norm_cfg=None), queue_size=8))
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(torch.randn_like(p) * 0.05)  # not timm's initialisation any more
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'iter_1.pth')
    out = str(tmp_path / 'vits14_reg4_dinov2.pth')
    export_checkpoint(str(tmp_path / 'iter_1.pth'), out, layout='dinov2')
    assert {'mask_token', 'register_tokens'} <= set(torch.load(out))
    x = torch.randn(1, 3, 70, 84)
    with torch.no_grad():
        assert (ours(4, out, 'timm')(x)[-1] - model.backbone.eval()(x)[-1]).abs().max() < 1e-5


@pytest.mark.parametrize('algorithm', ['PixPro', 'PixContrast', 'DenseCL', 'MoCoV2',
                                       'VICRegL', 'DetConB'])
def test_every_method_takes_the_vit_by_config(algorithm):
    """The ResNet of each method's tiny config swapped for a ViT-Tiny/16 by config alone:
    4 x 4 patch cells at 64 px, a finite loss whose gradient reaches the first block, none
    reaching a target network."""
    from .. import helpers
    from .test_detcon import masked_batch
    cfg = {'PixPro': lambda: helpers.tiny_model_cfg('PixPro'),
           'PixContrast': lambda: helpers.tiny_model_cfg('PixContrast'),
           'DenseCL': lambda: helpers.tiny_moco_cfg('DenseCL'),
           'MoCoV2': lambda: helpers.tiny_moco_cfg('MoCoV2'),
           'VICRegL': helpers.tiny_vicregl_cfg,
           'DetConB': helpers.tiny_detconb_cfg}[algorithm]()
    cfg['backbone'] = dict(type='ViT', arch='tiny', patch_size=16, img_size=64)
    for key in ('neck', 'dense_neck', 'local_neck'):
        if key in cfg:
            cfg[key] = dict(cfg[key], in_channels=192)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    batch = masked_batch(n=4) if algorithm == 'DetConB' else fixed_batch(n=4, size=64)
    losses = model(batch, mode='loss')
    loss = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith('target_'))
    assert model.backbone(batch['views'][0])[-1].shape[-2:] == (4, 4)
