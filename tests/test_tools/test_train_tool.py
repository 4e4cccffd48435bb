"""tools/train.py runs the 8-GPU COCO config on CPU on a tiny COCO-layout folder."""
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest
import torch

from ..conftest import DEMO_IMAGES, REPO


def tiny_coco(root):
    os.makedirs(osp.join(root, 'train2017'))
    os.makedirs(osp.join(root, 'annotations'))
    images = []
    for i, name in enumerate(sorted(f for f in os.listdir(DEMO_IMAGES) if f.endswith('.jpg'))):
        shutil.copy(osp.join(DEMO_IMAGES, name), osp.join(root, 'train2017', name))
        images.append(dict(id=i + 1, file_name=name, width=0, height=0))
    with open(osp.join(root, 'annotations', 'instances_train2017.json'), 'w') as f:
        json.dump(dict(images=images[:4], annotations=[], categories=[]), f)


@pytest.mark.slow
@pytest.mark.parametrize('config,loss_key,low,high', [
    ('pixpro_r50_coco.py', 'loss_pixpro', -4, 4),
    ('vader_r50_fpn_coco.py', 'loss_vader', 0, 30),
])
def test_coco_config_runs_on_cpu(tmp_path, config, loss_key, low, high):
    data = tmp_path / 'coco'
    tiny_coco(str(data))
    work = tmp_path / 'work'
    cmd = [sys.executable, 'tools/train.py', f'configs/{config}', '--work-dir',
           str(work), '--cfg-options', f'train_dataloader.dataset.data_root={data}/',
           'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
           'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=1',
           'default_hooks.logger.interval=1']
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert ('AmpOptimWrapper replaced by fp32 OptimWrapper' in log) != torch.cuda.is_available()
    losses = [float(x) for x in re.findall(loss_key + r': (-?[\d.]+)', log)]
    assert len(losses) == 2 and all(low <= v <= high for v in losses), losses
    ckpt = torch.load(work / 'epoch_1.pth', weights_only=False)
    assert int(ckpt['state_dict']['momentum_steps']) == 2
    assert ckpt['state_dict']['backbone.layer4.2.conv3.weight'].shape == (2048, 512, 1, 1)


def test_train_tool_names_missing_config(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/train.py', 'configs/nope.py'], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "config file 'configs/nope.py' does not exist" in proc.stderr


@pytest.mark.slow
def test_diverging_run_exits_with_an_error_and_exports_nothing(tmp_path):
    """The issue's probe: lr=1e30 on the demo config must not end with exit 0 and NaN
    checkpoints."""
    work = tmp_path / 'work'
    cmd = [sys.executable, 'tools/train.py', 'configs/demo/pixpro_r18_demo.py', '--work-dir',
           str(work), '--cfg-options', 'optim_wrapper.optimizer.lr=1e30',
           'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
           'train_dataloader.batch_size=2', 'default_hooks.checkpoint.interval=1']
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 1, log[-3000:]
    match = re.search(r'stopped: non-finite (loss|weights) at iteration (\d+)', log)
    assert match, log[-3000:]
    assert 'done.' not in log
    for path in work.glob('*.pth'):
        state = torch.load(path, weights_only=False)['state_dict']
        assert all(bool(torch.isfinite(v).all()) for v in state.values()
                   if v.is_floating_point()), path
