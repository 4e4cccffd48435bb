"""The labelled-set readers agree, the hook evaluates while training at a bounded cost, and
tools/eval_dense.py writes metrics and pictures."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from dense_ssl_mm.evaluation import (build_eval_model, dense_eval, folder_pairs, load_pairs,
                                     mmseg_pairs)
from ..conftest import DEMO_IMAGES, REPO
from ..helpers import demo_cfg
from ..helpers import tiny_model_cfg

TINY_VOC = osp.join(REPO, 'configs', 'benchmarks', 'tiny', 'fcn_r18-d8_tiny-voc.py')


@pytest.fixture(scope='module')
def tiny_voc(tmp_path_factory):
    out = tmp_path_factory.mktemp('tiny')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'make_tiny_datasets.py'),
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return osp.join(str(out), 'voc', 'VOC2012')


def tiny_eval_model():
    cfg = Config(dict(model=tiny_model_cfg(), default_scope='dense_ssl_mm'))
    return build_eval_model(cfg, seed=0)


@pytest.mark.slow
def test_folder_layout_and_mmseg_config_give_the_same_miou(tmp_path, tiny_voc):
    folder = tmp_path / 'folder'
    shutil.copytree(osp.join(tiny_voc, 'JPEGImages'), folder / 'images')
    shutil.copytree(osp.join(tiny_voc, 'SegmentationClass'), folder / 'masks')
    for split in ('train', 'val'):
        shutil.copy(osp.join(tiny_voc, 'ImageSets', 'Segmentation', f'{split}.txt'),
                    folder / f'{split}.txt')
    cfg = tmp_path / 'voc.py'
    cfg.write_text(f"_base_ = '{TINY_VOC}'\n"
                   f"train_dataloader = dict(dataset=dict(data_root='{tiny_voc}'))\n"
                   f"val_dataloader = dict(dataset=dict(data_root='{tiny_voc}'))\n")
    pairs, num_classes, reduce = mmseg_pairs(str(cfg), 'train')
    assert num_classes == 21 and not reduce and len(pairs) == 3
    assert [osp.basename(p) for p, _ in pairs] == \
        [osp.basename(p) for p, _ in folder_pairs(str(folder), 'train')]
    images, labels = load_pairs(pairs, 64)
    assert set(torch.unique(labels).tolist()) <= {0, 8, 15, 255} and labels.max() > 0
    model = tiny_eval_model()
    a = dense_eval(model, str(tmp_path / 'a'), seg_config=str(cfg), seg_size=64,
                   level='C4', progress=False)
    b = dense_eval(model, str(tmp_path / 'b'), seg_root=str(folder), seg_size=64,
                   level='C4', progress=False)
    knn, linear = 'seg/knn_miou@k20,T0.07', 'seg/linear_miou@adam300,lr0.01'
    assert a[knn] == b[knn] and a[linear] == b[linear]
    # the folder reader counts classes from the labels (16), the config from its metainfo (21):
    # the mIoU is over classes that occur, so both agree
    assert a['seg/num_classes'] == 21 and b['seg/num_classes'] == 16


def test_same_seed_same_numbers(tmp_path):
    model = tiny_eval_model()
    runs = [dense_eval(model, str(tmp_path / str(k)), images=DEMO_IMAGES, level='C4',
                       view_size=64, seed=seed, progress=False, pairs_per_image=2)
            for k, seed in enumerate((3, 3, 4))]
    for run in runs:
        run.pop('seconds')
    assert runs[0] == runs[1] and runs[0] != runs[2]


@pytest.mark.slow
def test_eval_tool_writes_metrics_pictures_and_a_summary(tmp_path):
    ckpt = tmp_path / 'tv.pth'
    import torchvision
    torch.save(torchvision.models.resnet18().state_dict(), ckpt)  # a torchvision baseline
    cmd = [sys.executable, 'tools/eval_dense.py', 'configs/demo/pixpro_r18_demo.py', str(ckpt),
           '--images', DEMO_IMAGES, '--work-dir', str(tmp_path / 'ev'), '--view-size', '96',
           '--level', 'C5']
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith('dense eval (C5): corr/pck@1 ')
    metrics = json.load(open(tmp_path / 'ev' / 'metrics.json'))
    assert 0 <= metrics['corr/pck@1'] <= metrics['corr/pck@2'] <= 1
    assert metrics['corr/num_images'] == 6
    assert sorted(os.listdir(tmp_path / 'ev' / 'pictures')) == [
        'matches.png', 'pca.png', 'similarity.png']
    bad = subprocess.run(cmd[:3] + [str(tmp_path / 'nope.pth'), '--work-dir', 'x'], cwd=REPO,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "checkpoint '" in bad.stderr and 'does not exist' in bad.stderr


def test_hook_logs_pck_while_training_within_its_cost(tmp_path):
    torch.set_num_threads(1)
    cfg = demo_cfg(tmp_path, 4)
    cfg.custom_hooks.append(dict(type='DenseEvalHook', interval=2, num_images=3, view_size=64,
                                 level='C4', allow_training_images=True))
    runner = Runner.from_cfg(cfg)
    runner.train()
    lines = [json.loads(line) for line in open(tmp_path / 'dense_eval' / 'metrics.jsonl')]
    assert [r['iter'] for r in lines] == [0, 2, 4]
    assert all(0 < r['health/rankme_share'] <= 1 and 0 <= r['health/spatial_share'] <= 1
               for r in lines)
    assert all(0 <= r['corr/pck@1'] <= 1 for r in lines)
    assert osp.isfile(tmp_path / 'dense_eval' / 'curves.png')
    assert osp.isfile(tmp_path / 'dense_eval' / 'pca_iter_4.png')
    assert runner.model.training  # the hook puts the model back in training mode
    scalars = [json.loads(line) for line in open(
        osp.join(runner.log_dir, 'vis_data', 'scalars.json'))]
    logged = [s['corr/pck@1'] for s in scalars if 'corr/pck@1' in s]
    assert logged == [r['corr/pck@1'] for r in lines]


def test_texture_mosaics_label_every_pixel_by_its_photo_and_split(tmp_path):
    import cv2
    import numpy as np
    from dense_ssl_mm.evaluation.mosaics import make_texture_mosaics
    paths = []
    for k, (left, right) in enumerate(((10, 60), (120, 240))):  # per photo: left | right half
        photo = np.zeros((64, 128, 3), np.uint8)
        photo[:, :64], photo[:, 64:] = left, right
        paths.append(str(tmp_path / f't{k}.png'))
        cv2.imwrite(paths[-1], photo)
    make_texture_mosaics(paths, str(tmp_path / 'm'), num_train=3, num_val=2, size=32,
                         regions=4)
    for split, values in (('train', (10, 120)), ('val', (60, 240))):
        for pair in folder_pairs(str(tmp_path / 'm'), split):
            image = cv2.imread(pair[0])[..., 0]
            label = cv2.imread(pair[1], cv2.IMREAD_UNCHANGED)
            assert set(np.unique(label)) <= {0, 1}
            assert (image == np.array(values)[label]).all(), split


def test_configs_list_tensorboard_without_requiring_it(tmp_path):
    from dense_ssl_mm.registry import VISBACKENDS
    from dense_ssl_mm.visualization.optional_tensorboard import tensorboard_available
    backend = VISBACKENDS.build(dict(type='OptionalTensorboardVisBackend',
                                     save_dir=str(tmp_path)))
    backend.add_scalars({'corr/pck@1': 0.5}, step=1)
    backend.add_scalar('loss', 1.0, step=1)
    backend.close()
    assert backend.enabled == tensorboard_available()
    wrote_events = any('events.out.tfevents' in name for name in os.listdir(tmp_path))
    assert wrote_events == tensorboard_available()


@pytest.mark.slow
def test_demo_hook_costs_under_five_percent(tmp_path):
    """The demo config's DenseEvalHook (every 25 iterations, six photos at 128 px) over 50
    iterations of the real demo model: its measured share of the run stays under 5 %."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    cfg.work_dir = str(tmp_path)
    cfg.train_cfg.max_iters = 50
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.default_hooks.checkpoint.interval = 1000
    Runner.from_cfg(cfg).train()
    lines = [json.loads(line) for line in open(tmp_path / 'dense_eval' / 'metrics.jsonl')]
    assert [r['iter'] for r in lines] == [0, 25, 50]
    assert lines[-1]['cost'] < 0.05, lines[-1]


def test_weights_that_do_not_fit_the_evaluated_level_are_named(tmp_path):
    from ..helpers import tiny_vader_cfg
    from dense_ssl_mm.registry import MODELS
    vader = MODELS.build(tiny_vader_cfg())
    torch.save({'state_dict': vader.state_dict()}, tmp_path / 'vader.pth')
    pixpro_cfg = Config(dict(model=tiny_model_cfg(), default_scope='dense_ssl_mm'))
    model = build_eval_model(pixpro_cfg, str(tmp_path / 'vader.pth'))  # same backbone: fine
    assert torch.equal(model.backbone.conv1.weight, vader.backbone.conv1.weight)
    with pytest.raises(ValueError, match=r"does not fit the neck of the config: \d+ missing "
                       r"\(e\.g\. \['neck\.mlp"):
        build_eval_model(pixpro_cfg, str(tmp_path / 'vader.pth'), required=('backbone', 'neck'))


def test_hook_refuses_training_images_unless_allowed():
    from dense_ssl_mm.engine.hooks import DenseEvalHook
    with pytest.raises(ValueError, match='DenseEvalHook needs images=FOLDER of held-out'):
        DenseEvalHook(interval=10)
    DenseEvalHook(interval=10, images='held_out/')  # a folder: checked when training starts
    DenseEvalHook(interval=10, allow_training_images=True)
