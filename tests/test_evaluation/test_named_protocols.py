"""eval_dense --protocol: one metrics.json naming every protocol with its settings."""
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO


@pytest.mark.slow
def test_named_protocols_write_settings_beside_numbers(tmp_path):
    mosaics = tmp_path / 'mosaics'
    subprocess.run([sys.executable, 'tools/make_texture_mosaics.py', str(mosaics), '--train',
                    '6', '--val', '3', '--size', '64'], cwd=REPO, check=True,
                   capture_output=True)
    cmd = [sys.executable, 'tools/eval_dense.py', 'configs/demo/pixpro_r18_demo.py',
           '--work-dir', str(tmp_path / 'eval'), '--seg-root', str(mosaics), '--images',
           'configs/demo/images', '--num-images', '2', '--view-size', '64', '--size', '64',
           '--epochs', '2', '--ks', '3', '8', '--cluster-seeds', '0', '--memory-size', '200',
           '--protocol', 'hummingbird', 'overcluster', 'linear', 'correspondence', 'health']
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads((tmp_path / 'eval' / 'metrics.json').read_text())
    hb = metrics['hummingbird']
    assert 0 <= hb['miou'] <= 1 and hb['settings']['k'] == 30
    assert hb['settings']['memory_rows'] == 6 * 2 * (200 // 12)
    assert hb['settings']['search'] == 'faiss IndexFlatIP'
    assert set(metrics['overcluster']) >= {'miou_k3', 'miou_k8', 'settings'}
    assert metrics['overcluster']['matching_k8'] == 'many_to_one'
    assert metrics['linear']['settings']['resolution'] == '100 x 100'
    assert 0 <= metrics['correspondence']['corr/pck@1'] <= 1
    health = metrics['health']
    assert health['pck1_gain'] == pytest.approx(0.0, abs=1e-9)  # random init vs itself
    assert health['verdict'].startswith('not learning spatial correspondence')
    assert 'verdict: not learning' in proc.stdout
