"""The comparison command: one budget for every method, numbers read back correctly."""
import json
import os.path as osp

import pytest

from dense_ssl_mm.apis.compare import (comparison_config, format_table,
                                       read_training_log)
from ..conftest import REPO

DEMO = osp.join(REPO, 'configs', 'demo')


@pytest.mark.parametrize('config', ['pixpro_r18_demo.py', 'densecl_r18_demo.py'])
def test_every_method_gets_the_same_budget(config, tmp_path):
    cfg = comparison_config(osp.join(DEMO, config), str(tmp_path), iters=40, batch_size=4,
                            data_root='/data/photos', seed=3)
    assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=40)
    assert cfg.train_dataloader.batch_size == 4
    assert cfg.train_dataloader.dataset.data_root == '/data/photos'
    assert cfg.train_dataloader.dataset.pipeline[1].type == 'MultiViewTransform'  # its own
    warmup, cosine = cfg.param_scheduler
    assert (warmup.end, cosine.begin, cosine.end, cosine.eta_min) == (2, 2, 40, 0.0)
    assert all(h.type != 'DenseEvalHook' for h in cfg.custom_hooks)
    assert any(h.type == 'MomentumEncoderHook' for h in cfg.custom_hooks)
    assert cfg.randomness.seed == 3 and cfg.work_dir == str(tmp_path)


def test_training_log_numbers_by_hand(tmp_path):
    log = tmp_path / '20261130_000000' / 'vis_data'
    log.mkdir(parents=True)
    entries = [dict(loss=10.0 - i, time=5.0 if i < 2 else 1.0 + 0.1 * (i % 2), iter=i + 1)
               for i in range(10)]
    entries.insert(3, dict(lr=0.1, iter=3))  # other scalars are skipped
    (log / 'scalars.json').write_text('\n'.join(json.dumps(e) for e in entries))
    out = read_training_log(str(tmp_path))
    assert out['loss at end'] == pytest.approx(1.0)  # the last 10 % = the last entry
    assert out['step (s)'] == pytest.approx(sum(1.0 + 0.1 * (i % 2) for i in range(2, 10)) / 8)
    with pytest.raises(FileNotFoundError, match='no vis_data/scalars.json under'):
        read_training_log(str(tmp_path / 'nothing'))


def test_table_marks_failures_and_missing_values():
    rows = [dict(method='random init', config='a.py', status='ok', **{'PCK@1': 0.1234}),
            dict(method='PixPro', config='a.py', iters=5, batch=6, status='ok',
                 **{'loss at end': -3.6, 'step (s)': 0.5, 'img/s': 12.0, 'PCK@1': 0.2}),
            dict(method='VADeR', config='b.py', status='training failed, see x/train.log')]
    table = format_table(rows).splitlines()
    assert table[2].startswith('| random init | a.py | - | - | - | - | - | 0.123 |')
    assert table[3].startswith('| PixPro | a.py | 5 | 6 | -3.600 | 0.500 | 12.000 | 0.200 | - |')
    assert table[4] == '| VADeR | b.py | training failed, see x/train.log |'


@pytest.mark.slow
def test_compare_tool_trains_evaluates_and_tabulates(tmp_path):
    import subprocess
    import sys
    cmd = [sys.executable, osp.join(REPO, 'tools', 'compare_methods.py'), '--configs',
           osp.join(DEMO, 'pixpro_r18_demo.py'), osp.join(DEMO, 'mocov2_r18_demo.py'),
           '--work-dir', str(tmp_path), '--iters', '4', '--batch-size', '3',
           '--pairs-per-image', '1', '--view-size', '64', '--seg-size', '64']
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = json.loads((tmp_path / 'compare.json').read_text())
    assert [r['method'] for r in rows] == ['random init', 'PixPro', 'MoCoV2']
    for row in rows[1:]:
        assert row['iters'] == 4 and row['batch'] == 3 and row['step (s)'] > 0
        assert (tmp_path / row['config'][:-3] / 'iter_4.pth').is_file()
    for row in rows:
        assert 0 <= row['PCK@1'] <= row['PCK@2'] <= 1 and 0 < row['kNN mIoU'] <= 1
    assert (tmp_path / 'compare.md').read_text().count('\n') == 5


def test_seeds_aggregate_to_mean_and_half_range():
    from dense_ssl_mm.apis.compare import aggregate_seeds
    runs = [[dict(method='PixPro', config='a.py', status='ok', iters=150, batch=4,
                  **{'PCK@1': pck, 'loss at end': loss})] for pck, loss in
            ((0.2, -3.0), (0.3, -3.5), (0.25, -3.2))]
    row, = aggregate_seeds(runs)
    assert row['PCK@1'] == pytest.approx((0.25, 0.05)) and row['seeds'] == 3
    assert row['loss at end'] == pytest.approx((-3.2333333, 0.25))
    assert row['iters'] == 150  # settings stay as they are
    assert '0.250 ± 0.050' in format_table([row])
    failed = [dict(runs[0][0])], [dict(runs[1][0], status='training failed, see x')]
    assert aggregate_seeds(failed)[0]['status'] == 'training failed, see x'
    with pytest.raises(ValueError, match='the seeds compared different methods'):
        aggregate_seeds([runs[0], [dict(runs[1][0], method='VADeR')]])


def test_held_out_images_from_a_list_file(tmp_path):
    from dense_ssl_mm.evaluation.images import list_images
    listed = list_images(osp.join(DEMO, 'heldout_photos.txt'))
    assert [osp.basename(p) for p in listed] == ['chelsea.jpg', 'coffee.jpg']
    trained = list_images(osp.join(DEMO, 'train_photos.txt'))
    assert not set(listed) & set(trained) and len(listed) + len(trained) == 6
    bad = tmp_path / 'list.txt'
    bad.write_text('images/nope.jpg\n')
    with pytest.raises(FileNotFoundError, match="lists images that do not exist"):
        list_images(str(bad))
