"""The pretrain set-up profile: a fresh venv from wheels only, no compiled OpenMMLab op."""
import os
import subprocess

import pytest

from tests.helpers import REPO


def test_unknown_profile_is_refused_by_name(tmp_path):
    proc = subprocess.run(['bash', 'tools/setup_env.sh', 'gpu'], cwd=REPO, capture_output=True,
                          text=True, env=dict(os.environ, DSSL_VENV=str(tmp_path / 'v')))
    assert proc.returncode == 2
    assert "unknown profile 'gpu': expected 'pretrain' or 'full'" in proc.stderr
    assert not (tmp_path / 'v').exists()


@pytest.mark.slow
def test_pretrain_profile_builds_nothing_and_trains(tmp_path):
    venv = tmp_path / 'venv'
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('PIP_FIND_LINKS', 'VIRTUAL_ENV'))}
    env.update(DSSL_VENV=str(venv), PIP_VERBOSE='1')
    setup = subprocess.run(['bash', 'tools/setup_env.sh', 'pretrain'], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=1800)
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    log = setup.stdout + setup.stderr
    assert 'Building wheel' not in log and 'setup.py bdist_wheel' not in log
    python = str(venv / 'bin' / 'python')
    listing = subprocess.run([python, '-m', 'pip', 'list', '--format=freeze'],
                             capture_output=True, text=True, check=True).stdout.lower()
    names = {line.split('==')[0] for line in listing.split()}
    assert {'mmcv-lite', 'mmengine', 'torch'} <= names
    assert not names & {'mmcv', 'mmdet', 'mmsegmentation', 'mmpretrain', 'pycocotools'}
    probe = ('import importlib.util as u; import dense_ssl_mm; '
             'print(u.find_spec("mmcv._ext") is None, u.find_spec("mmdet") is None)')
    out = subprocess.run([python, '-c', probe], capture_output=True, text=True, cwd=REPO,
                         check=True).stdout.split()
    assert out == ['True', 'True']
    # a second run only checks (seconds) and says so
    again = subprocess.run(['bash', 'tools/setup_env.sh', 'pretrain'], cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert 'is up to date (pretrain)' in again.stdout
    train = subprocess.run([python, 'tools/train.py', 'configs/demo/pixpro_r18_demo.py',
                            '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                            'train_cfg.max_iters=2', 'train_dataloader.batch_size=2'],
                           cwd=REPO, capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    assert (tmp_path / 'w' / 'iter_2.pth').is_file()
