"""Command-line handling shared by tools/train.py and tools/test.py."""
import os.path as osp
from argparse import Namespace

import pytest
import torch
from mmengine.config import Config

from dense_ssl_mm.apis.launch import prepare_config
from ..conftest import REPO

C4 = osp.join(REPO, 'configs', 'benchmarks', 'mmdet', 'faster-rcnn_r50-c4_syncbn_24k_voc0712.py')
PIXPRO = osp.join(REPO, 'configs', 'pixpro_r50_coco.py')


def args(config, **kw):
    base = dict(config=config, cfg_options=None, launcher='none', work_dir=None, resume=None,
                amp=False, auto_scale_lr=False)
    base.update(kw)
    return Namespace(**base)


def test_pretrained_option_repoints_every_init_cfg_using_it():
    cfg = prepare_config(Config.fromfile(C4), args(C4, cfg_options={'pretrained': '/x.pth'}))
    assert cfg.model.backbone.init_cfg.checkpoint == '/x.pth'
    assert cfg.model.roi_head.shared_head.init_cfg.checkpoint == '/x.pth'
    assert cfg.work_dir == './work_dirs/faster-rcnn_r50-c4_syncbn_24k_voc0712'


def test_pretrained_option_without_a_user_is_an_error():
    cfg = Config.fromfile(C4)
    cfg.model.backbone.init_cfg.checkpoint = 'elsewhere.pth'
    cfg.model.roi_head.shared_head.init_cfg = None
    with pytest.raises(KeyError, match="pretrained='/x.pth' given, but no Pretrained init_cfg"):
        prepare_config(cfg, args(C4, cfg_options={'pretrained': '/x.pth'}))


def test_amp_falls_back_without_gpu_and_resume_checks_path(tmp_path):
    cfg = prepare_config(Config.fromfile(PIXPRO), args(PIXPRO, amp=True, resume='auto'))
    if torch.cuda.is_available():
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    else:  # mmengine allows AMP on GPUs only: fp32 instead
        assert cfg.optim_wrapper.type == 'OptimWrapper' and 'loss_scale' not in cfg.optim_wrapper
    assert cfg.resume is True and cfg.load_from is None
    with pytest.raises(FileNotFoundError, match="--resume checkpoint '.*nope.pth' does not exist"):
        prepare_config(Config.fromfile(PIXPRO), args(PIXPRO, resume=str(tmp_path / 'nope.pth')))
    cfg = prepare_config(Config.fromfile(PIXPRO), args(PIXPRO, auto_scale_lr=True))
    assert cfg.auto_scale_lr.enable is True


def test_resume_auto_skips_a_truncated_latest_checkpoint(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    torch.save({'a': torch.ones(3)}, work / 'iter_10.pth')
    torch.save({'a': torch.ones(300)}, work / 'iter_20.pth')
    data = (work / 'iter_20.pth').read_bytes()
    (work / 'iter_20.pth').write_bytes(data[:100])
    cfg = prepare_config(Config.fromfile(PIXPRO), args(PIXPRO, resume='auto',
                                                       work_dir=str(work)))
    assert cfg.resume is True and cfg.load_from == str(work / 'iter_10.pth')
    (work / 'iter_10.pth').write_bytes(b'')
    with pytest.raises(RuntimeError, match=r"no readable checkpoint in '.*work'; skipped: "
                       r".*iter_20\.pth: is truncated.*iter_10\.pth: is empty"):
        prepare_config(Config.fromfile(PIXPRO), args(PIXPRO, resume='auto', work_dir=str(work)))


def test_multi_process_run_without_gpu_falls_back_from_sync_bn():
    cfg = prepare_config(Config.fromfile(PIXPRO), args(PIXPRO, launcher='pytorch'))
    assert cfg.sync_bn == (None if not torch.cuda.is_available() else 'torch')
    cfg = prepare_config(Config.fromfile(PIXPRO), args(PIXPRO))
    assert cfg.sync_bn == 'torch'  # one process: mmengine keeps BN anyway
