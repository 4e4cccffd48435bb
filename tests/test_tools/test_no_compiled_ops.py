"""Pretraining, dense evaluation and export run where mmdet, mmseg and mmcv.ops are absent.

Each tool runs in a subprocess whose import system answers ``mmdet``, ``mmseg``,
``mmpretrain``, ``mmcv.ops`` and ``mmcv._ext`` as a missing module would (``import`` raises
ImportError, ``importlib.util.find_spec`` finds no loader): the situation of a machine with
``mmcv-lite`` and no OpenMMLab task package (the ``pretrain`` set-up profile).
"""
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch

from tests.helpers import REPO

BLOCKED = ('mmdet', 'mmseg', 'mmpretrain', 'mmcv.ops', 'mmcv._ext')

SITECUSTOMIZE = textwrap.dedent(f"""
    import sys
    from importlib.machinery import ModuleSpec

    BLOCKED = {BLOCKED!r}


    class HideCompiledStack:
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + '.') for b in BLOCKED):
                return ModuleSpec(name, None)  # no loader: import fails, find_loader is None
            return None


    sys.meta_path.insert(0, HideCompiledStack())
""")


@pytest.fixture(scope='module')
def hidden_env(tmp_path_factory):
    folder = tmp_path_factory.mktemp('hide')
    (folder / 'sitecustomize.py').write_text(SITECUSTOMIZE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(folder), REPO]))
    return env


def run(env, *argv, timeout=600):
    proc = subprocess.run([sys.executable, *map(str, argv)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_the_blocker_hides_the_compiled_stack(hidden_env):
    code = ('import importlib.util, pkgutil\n'
            'for name in ("mmdet", "mmseg", "mmcv.ops"):\n'
            '    try:\n'
            '        __import__(name)\n'
            '    except ImportError:\n'
            '        print("hidden", name)\n'
            'print("ext", pkgutil.find_loader("mmcv._ext"))\n'
            'import dense_ssl_mm, sys\n'
            'print("loaded", sorted(m for m in sys.modules if m.split(".")[0] in '
            '("mmdet", "mmseg", "mmpretrain") or m.startswith("mmcv.ops")))\n')
    out = run(hidden_env, '-c', code).stdout
    assert 'hidden mmdet' in out and 'hidden mmseg' in out and 'hidden mmcv.ops' in out
    assert 'ext None' in out and 'loaded []' in out


@pytest.mark.slow
@pytest.mark.parametrize('config, neck', [('pixpro_r18_demo', False),
                                          ('vader_r18_fpn_demo', True)])
def test_pretrain_evaluate_and_export_without_compiled_ops(hidden_env, tmp_path, config, neck):
    work = tmp_path / 'work'
    run(hidden_env, 'tools/train.py', f'configs/demo/{config}.py', '--work-dir', work,
        '--cfg-options', 'train_cfg.max_iters=2', 'train_dataloader.batch_size=2')
    ckpt = work / 'iter_2.pth'
    state = torch.load(ckpt, map_location='cpu', weights_only=False)['state_dict']
    assert int(state['momentum_steps']) == 2
    run(hidden_env, 'tools/eval_dense.py', f'configs/demo/{config}.py', ckpt,
        '--work-dir', tmp_path / 'eval', '--images', 'configs/demo/images',
        '--num-images', 2, '--view-size', 64)
    metrics = (tmp_path / 'eval').glob('**/*.json')
    assert any('pck' in p.read_text() for p in metrics)
    extra = ['--neck', tmp_path / 'fpn.pth'] if neck else []
    run(hidden_env, 'tools/export_backbone.py', ckpt, tmp_path / 'bb.pth', *extra)
    exported = torch.load(tmp_path / 'bb.pth', map_location='cpu')
    online = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    assert exported.keys() == online.keys()
    assert all(torch.equal(exported[k], online[k]) for k in online)
    if neck:
        assert osp.getsize(tmp_path / 'fpn.pth') > 0
