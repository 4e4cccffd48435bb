"""Export never destroys its input, writes all outputs or none, refuses NaN weights and
non-checkpoints; pretrained weights that do not fit a benchmark model are an error."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.apis.export import export_checkpoint
from ..conftest import REPO
from .test_transfer import pixpro_checkpoint

EXPORT = osp.join(REPO, 'tools', 'export_backbone.py')


def run_export(*argv):
    return subprocess.run([sys.executable, EXPORT, *map(str, argv)], capture_output=True,
                          text=True)


@pytest.mark.slow
def test_export_refuses_to_overwrite_its_input(tmp_path):
    ckpt, _ = pixpro_checkpoint(tmp_path)
    size = osp.getsize(ckpt)
    os.symlink(ckpt, tmp_path / 'link.pth')
    for out in (ckpt, tmp_path / 'link.pth'):
        proc = run_export(ckpt, out)
        assert proc.returncode == 1
        assert 'is the input checkpoint' in proc.stderr and 'destroy' in proc.stderr
    proc = run_export(ckpt, tmp_path / 'x.pth', '--detectron2', ckpt)
    assert proc.returncode == 1 and "--detectron2 '" in proc.stderr
    assert osp.getsize(ckpt) == size and not osp.exists(tmp_path / 'x.pth')


@pytest.mark.slow
def test_export_to_a_folder_is_a_clear_error(tmp_path):
    ckpt, _ = pixpro_checkpoint(tmp_path)
    (tmp_path / 'out').mkdir()
    proc = run_export(ckpt, tmp_path / 'out')
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert f"output '{tmp_path / 'out'}' is a folder; give a file name" in proc.stderr


def test_export_is_all_or_nothing(tmp_path):
    ckpt, _ = pixpro_checkpoint(tmp_path)  # PixPro has no FPN neck to export
    with pytest.raises(KeyError, match="no tensors under 'neck.fpn.'"):
        export_checkpoint(str(ckpt), str(tmp_path / 'bb.pth'),
                          detectron2=str(tmp_path / 'bb.pkl'), neck=str(tmp_path / 'fpn.pth'))
    assert sorted(os.listdir(tmp_path)) == ['pretrain.pth']


@pytest.mark.slow
def test_export_refuses_non_finite_weights(tmp_path):
    ckpt, model = pixpro_checkpoint(tmp_path)
    state = model.state_dict()
    state['backbone.layer1.0.conv1.weight'][0, 0] = float('nan')
    torch.save(dict(state_dict=state), ckpt)
    proc = run_export(ckpt, tmp_path / 'bb.pth')
    assert proc.returncode == 1
    assert "non-finite (NaN/inf) online weights in 1 tensors, e.g. ['layer1.0.conv1.weight']" \
        in proc.stderr
    assert not osp.exists(tmp_path / 'bb.pth')
    export_checkpoint(str(ckpt), str(tmp_path / 'target.pth'), branch='momentum')  # finite


@pytest.mark.parametrize('content,reason', [
    (b'', 'is empty (0 bytes)'),
    (b'\xff\xd8\xff\xe0\x00\x10JFIF', 'is not a PyTorch checkpoint (it looks like a JPEG image'),
])
@pytest.mark.slow
def test_export_says_a_file_is_not_a_checkpoint(tmp_path, content, reason):
    path = tmp_path / 'photo.pth'
    path.write_bytes(content)
    proc = run_export(path, tmp_path / 'bb.pth')
    assert proc.returncode == 1 and reason in proc.stderr
    assert 'weights_only' not in proc.stderr and 'Traceback' not in proc.stderr


def strict_resnet(checkpoint, depth=50, **init):
    return MODELS.build(dict(type='mmdet.ResNet', depth=depth, init_cfg=dict(
        type='dense_ssl_mm.StrictPretrained', checkpoint=str(checkpoint), **init)))


def test_backbone_that_does_not_fit_is_an_error(tmp_path):
    ckpt, _ = pixpro_checkpoint(tmp_path, depth=18)
    export_checkpoint(str(ckpt), str(tmp_path / 'r18.pth'))
    model = strict_resnet(tmp_path / 'r18.pth')
    with pytest.raises(ValueError, match=r"pretrained weights '.*r18\.pth' do not fit ResNet: "
                       r'\d+ tensors of another shape \(layer1\.0\.conv1\.weight: file '
                       r'\(64, 64, 3, 3\) vs model \(64, 64, 1, 1\).*\d+ missing keys'):
        model.init_weights()
    # deliberate partial loading is possible where shapes fit: a ResNet-18 into a 3-stage one
    partial = MODELS.build(dict(type='mmdet.ResNet', depth=18, num_stages=3, out_indices=(2, ),
                                strides=(1, 2, 2), dilations=(1, 1, 1),
                                init_cfg=dict(type='dense_ssl_mm.StrictPretrained',
                                              checkpoint=str(tmp_path / 'r18.pth'))))
    with pytest.raises(ValueError, match=r'\d+ unexpected keys \(e\.g\. \[.layer4'):
        partial.init_weights()
    partial = MODELS.build(dict(type='mmdet.ResNet', depth=18, num_stages=3, out_indices=(2, ),
                                strides=(1, 2, 2), dilations=(1, 1, 1),
                                init_cfg=dict(type='dense_ssl_mm.StrictPretrained',
                                              checkpoint=str(tmp_path / 'r18.pth'),
                                              allow_unexpected=True)))
    partial.init_weights()
    exported = torch.load(tmp_path / 'r18.pth')
    assert torch.equal(partial.layer3[1].conv2.weight, exported['layer3.1.conv2.weight'])


def test_strict_pretrained_accepts_a_torchvision_classifier_state_dict(tmp_path):
    import torchvision
    tv = torchvision.models.resnet18()
    torch.save(tv.state_dict(), tmp_path / 'tv.pth')
    model = strict_resnet(tmp_path / 'tv.pth', depth=18)
    model.init_weights()  # fc.* is ignored, every backbone tensor fits
    assert torch.equal(model.layer4[1].bn2.running_var, tv.layer4[1].bn2.running_var)
