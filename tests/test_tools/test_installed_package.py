"""The package works as installed, not only from a checkout: a non-editable install into a
target folder runs a two-method comparison end to end from outside the repository (the
library runs ``python -m dense_ssl_mm.apis.train``, never a ``tools/*.py`` by path)."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest

from ..conftest import REPO

SCRIPT = """
import json, os, sys
import dense_ssl_mm
from dense_ssl_mm.apis.compare import compare_methods
from dense_ssl_mm.evaluation.mosaics import make_texture_mosaics
target, repo, work = sys.argv[1:4]
assert dense_ssl_mm.__file__.startswith(target), dense_ssl_mm.__file__
seg_root = os.path.join(work, 'mosaics')
textures = sorted(os.path.join(repo, 'configs', 'eval', 'textures', f)
                  for f in os.listdir(os.path.join(repo, 'configs', 'eval', 'textures'))
                  if f.endswith('.jpg'))
make_texture_mosaics(textures[:4], seg_root, 4, 2, 64, seed=0)
demo = os.path.join(repo, 'configs', 'demo')
rows = compare_methods([os.path.join(demo, 'pixpro_r18_demo.py'),
                        os.path.join(demo, 'vicregl_r18_demo.py')], work, iters=3,
                       batch_size=2, eval_args=dict(images=os.path.join(demo, 'images'),
                                                    view_size=64, seg_root=seg_root,
                                                    seg_size=64, pairs_per_image=2))
print(json.dumps([dict(method=r['method'], status=r['status'], pck=r.get('PCK@1'))
                  for r in rows]))
"""


@pytest.mark.slow
def test_non_editable_install_runs_a_comparison(tmp_path):
    source = tmp_path / 'src'  # a copy, so the build leaves nothing in the checkout
    for name in ('dense_ssl_mm', 'requirements'):
        shutil.copytree(osp.join(REPO, name), source / name,
                        ignore=shutil.ignore_patterns('__pycache__'))
    for name in ('setup.py', 'README.md'):
        shutil.copy(osp.join(REPO, name), source / name)
    target = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index',
                    '--no-build-isolation', '--target', str(target), str(source)], check=True)
    assert not (target / 'dense_ssl_mm' / 'apis' / 'train.py').is_symlink()
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target))  # the installed copy first, no checkout
    proc = subprocess.run([sys.executable, '-c', SCRIPT, str(target), REPO, str(outside)],
                          cwd=outside, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(proc.stdout.strip().splitlines()[-1])
    assert [r['method'] for r in rows] == ['random init', 'PixPro', 'VICRegL']
    assert all(r['status'] == 'ok' and 0 <= r['pck'] <= 1 for r in rows), rows
    train_log = open(outside / 'vicregl_r18_demo' / 'train.log').read()
    assert train_log.startswith(f'$ {sys.executable} -m dense_ssl_mm.apis.train')
