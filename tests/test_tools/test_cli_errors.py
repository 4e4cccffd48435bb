"""Tool argument errors are one line that names the argument, before any work starts."""
import re
import subprocess
import sys

import pytest

from dense_ssl_mm.utils.cli import check_config_key
from tests.helpers import REPO

DEMO = 'configs/demo/pixpro_r18_demo.py'
MMDET = 'configs/benchmarks/tiny/mask-rcnn_r18_fpn_tiny-coco.py'


def run(*argv):
    return subprocess.run([sys.executable, *map(str, argv)], cwd=REPO, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize('key', ['a', 'model.head.pos_threshold', 'custom_hooks.0.interval',
                                 '_base_', 'train_dataloader.batch_size'])
def test_config_key_paths_pass(key):
    assert check_config_key(key) == key


@pytest.mark.parametrize('key, hint', [('+a.b', 'Hydra-style'), ('~model', 'Hydra-style'),
                                       ('model..head', ''), ('model.head-1', ''),
                                       ('0model', ''), ('', '')])
def test_other_keys_are_refused_by_name(key, hint):
    with pytest.raises(ValueError, match=re.escape(f'key {key!r} is not a config key path')
                       + f'.*{hint}'):
        check_config_key(key)


def one_line_error(proc, *expected):
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert 'Traceback' not in proc.stderr and 'Failed to format' not in proc.stderr
    assert all(e in lines[-1] for e in expected), proc.stderr[-2000:]


def test_train_refuses_a_hydra_style_key_in_one_line():
    one_line_error(run('tools/train.py', DEMO, '--cfg-options', '+model.x=1'),
                   "key '+model.x' is not a config key path", 'Hydra-style')
    one_line_error(run('tools/train.py', DEMO, '--cfg-options', 'model.x'),
                   "expects key=value, got 'model.x'")


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/benchmark_pretrain.py',
                                  'tools/eval_dense.py'])
def test_missing_config_and_directory_for_a_file(tool, tmp_path):
    extra = ['--work-dir', str(tmp_path / 'w')] if 'eval_dense' in tool else []
    one_line_error(run(tool, tmp_path / 'nope.py', *extra),
                   f"config file '{tmp_path / 'nope.py'}' does not exist")
    one_line_error(run(tool, tmp_path, *extra),
                   f"config file '{tmp_path}' is a directory, expected a file")


def test_pretraining_tools_refuse_a_config_of_another_kind(tmp_path):
    expected = ("is not a pretraining config: its model type is 'MaskRCNN'", 'PixPro')
    one_line_error(run('tools/benchmark_pretrain.py', MMDET), *expected)
    one_line_error(run('tools/eval_dense.py', MMDET, '--work-dir', tmp_path / 'w'), *expected)
    one_line_error(run('tools/compare_methods.py', '--configs', MMDET, '--work-dir',
                       tmp_path / 'c'), *expected)
    one_line_error(run('tools/benchmark_pretrain.py', DEMO, '--cfg-options', '++x=1'),
                   "key '++x' is not a config key path")


def test_export_refuses_missing_checkpoint_and_directory_outputs(tmp_path):
    one_line_error(run('tools/export_backbone.py', tmp_path / 'no.pth', tmp_path / 'o.pth'),
                   f"checkpoint '{tmp_path / 'no.pth'}' does not exist")
    one_line_error(run('tools/export_backbone.py', tmp_path, tmp_path / 'o.pth'),
                   'is a directory, expected a file')
    ckpt = tmp_path / 'c.pth'
    ckpt.write_bytes(b'x')
    one_line_error(run('tools/export_backbone.py', ckpt, tmp_path),
                   f"output '{tmp_path}' is a folder; give a file name")
