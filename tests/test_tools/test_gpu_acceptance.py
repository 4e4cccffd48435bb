"""The GPU acceptance command: its budget rule, and a dry run on the CPU with every stage."""
import json
import subprocess
import sys

import pytest

from dense_ssl_mm.operations.acceptance import SHARES, Budget, format_report
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
