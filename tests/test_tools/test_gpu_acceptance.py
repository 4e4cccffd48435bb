"""The GPU acceptance command: its budget rule, and a dry run on the CPU with every stage."""
import json
import subprocess
import sys

import pytest

from dense_ssl_mm.operations.acceptance import SHARES, Budget, format_report, official_stage
from tests.helpers import REPO


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_budget_shares_carry_over_and_run_out():
    clock = Clock()
    budget = Budget(100.0, clock)
    assert budget.begin('environment') == pytest.approx(100 * SHARES['environment'])
    assert budget.begin('step') == pytest.approx(100 * (SHARES['environment'] + SHARES['step']))
    clock.now += 70  # the step stage overran its share (and the next two stages')
    assert budget.begin('vit') == 0.0 and budget.begin('end_to_end') == 0.0
    assert budget.stage_left() < 0
    assert budget.begin('official') == pytest.approx(
        100 * (SHARES['environment'] + SHARES['step'] + SHARES['vit'] + SHARES['end_to_end']
               + SHARES['official']) - 70)
    clock.now += 100
    assert budget.begin('eval_dense') == 0.0 and budget.left() < 0
    assert sum(SHARES.values()) == pytest.approx(1.0)


def test_report_table_lists_every_key_of_every_row():
    report = dict(mode='x', budget_s=10.0, seconds=3.0, stages=dict(
        step=dict(seconds=1.0, rows=[dict(a=1.23456, b='ok'), dict(a=None, c=2000.5)])))
    text = format_report(report)
    assert '| a | b | c |' in text and '| 1.23 | ok | - |' in text and '| - | - | 2000 |' in text


@pytest.mark.slow
def test_dry_run_writes_every_stage_with_numbers(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/gpu_acceptance.py', '--dry-run', '--out',
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / 'gpu_report.json').read_text())
    stages = report['stages']
    assert list(stages) == list(SHARES)
    assert stages['environment']['rows'][0]['torch']
    steps = stages['step']['rows']
    assert len(steps) == 6 and all(r['status'] == 'ok' for r in steps)
    assert all(r['img_s'] > 0 and r['estimate_gib'] > 0 for r in steps)
    vit = stages['vit']['rows']
    assert [r['method'] for r in vit] == ['PixPro ViT-S/16', 'NeCo ViT-S/14', 'NeCo ViT-B/14']
    assert all(r['status'] == 'ok' and r['img_s'] > 0 for r in vit)
    assert vit[1]['views'] == '2 x 224 px + 4 x 98 px'  # NeCo's global and local crops
    e2e = stages['end_to_end']['rows']
    assert [r['pipeline'] for r in e2e] == ['CPU views', 'device views']
    assert all(r['status'] == 'ok' and 0 <= r['data_wait'] < 1 for r in e2e)
    assert stages['official']['rows'][0]['status'].startswith('skipped')
    assert stages['eval_dense']['rows'][0]['pairs_per_s'] > 0
    assert stages['nan_guard']['rows'][0]['check_ms'] > 0
    assert stages['ddp']['rows'][0]['status'] == 'ok'  # two gloo processes on the CPU
    md = (tmp_path / 'gpu_report.md').read_text()
    assert all(f'## {name}' in md for name in SHARES)


# A stand-in for a checkout of github.com/zdaxie/PixPro with the layout and call signatures
# the stage uses (contrast/resnet.py: resnet50(head_type=...); contrast/models/PixPro.py:
# PixPro(base_encoder, args), forward(im_1, im_2, coord1, coord2) -> loss), written here.
FAKE_RESNET = '''
import torch.nn as nn


def resnet50(head_type='early_return', **_):
    return nn.Sequential(nn.Conv2d(3, 8, 3, stride=4), nn.BatchNorm2d(8), nn.ReLU())
'''
FAKE_PIXPRO = '''
import torch.nn as nn
from torch.distributed import get_world_size


class PixPro(nn.Module):
    def __init__(self, base_encoder, args):
        super().__init__()
        self.encoder = base_encoder(head_type=args.head_type)
        self.steps_per_epoch = args.num_instances // get_world_size() // args.batch_size

    def forward(self, im_1, im_2, coord1, coord2):
        return (self.encoder(im_1) - self.encoder(im_2)).pow(2).mean() + coord1.sum() * 0
'''


def test_official_stage_imports_the_checkout_from_its_own_path(tmp_path):
    """The official step runs from the checkout's files in a child process (the row names the
    file it imported), and this process never loads a module called ``contrast``."""
    models = tmp_path / 'PixPro' / 'contrast' / 'models'
    models.mkdir(parents=True)
    (models.parent / 'resnet.py').write_text(FAKE_RESNET)
    (models / '__init__.py').write_text('from .PixPro import PixPro\n')
    (models / 'PixPro.py').write_text(FAKE_PIXPRO)
    logged = []
    budget = Budget(600.0)
    budget.begin('official')
    [row] = official_stage(REPO, None, True, budget, str(tmp_path / 'PixPro'), logged.append)
    assert row['status'] == 'ok', row
    assert row['official_code'] == str(models / 'PixPro.py')
    assert row['official_step_s'] > 0 and row['ours_step_s'] > 0 and row['rounds'] == 1
    assert row['speedup'] == pytest.approx(row['official_step_s'] / row['ours_step_s'])
    assert logged and logged[0].startswith('official ')
    assert 'contrast' not in sys.modules


def test_official_stage_says_what_the_checkout_lacks(tmp_path):
    [row] = official_stage(REPO, None, True, Budget(1.0), str(tmp_path), print)
    assert row['status'] == f"failed: {str(tmp_path)!r} has no contrast/models/PixPro.py"
