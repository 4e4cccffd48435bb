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


def test_train_with_a_wrong_pretrained_file_ends_in_the_import_error(tmp_path):
    """A register file as the NeCo demo's (plain) ViT-S/14 start: the import's own one-line
    error, exit code 1, no traceback; so is a file that does not exist."""
    from dense_ssl_mm.apis.export import write_random_dinov2
    from dense_ssl_mm.registry import MODELS
    from dense_ssl_mm.utils.errors import BadInputError
    reg4 = tmp_path / 'dinov2_vits14_reg4_pretrain.pth'
    write_random_dinov2(str(reg4), 'small', 14, 4, seed=0)
    vit = MODELS.build(dict(type='ViT', arch='small', patch_size=14, img_size=518,
                            layer_scale=1e-5, init_cfg=dict(type='DINOv2', checkpoint=str(reg4))))
    with pytest.raises(BadInputError) as direct:
        vit.init_weights()
    assert 'this file has 4 register tokens and the model none' in str(direct.value)
    for path, expected in ((reg4, f'train: {direct.value}'),
                           (tmp_path / 'nope.pth', f"weights file '{tmp_path / 'nope.pth'}' "
                                                   'does not exist')):
        proc = run('tools/train.py', 'configs/demo/neco_vit-s14_demo.py', '--work-dir',
                   tmp_path / 'w', '--cfg-options', f'model.backbone.init_cfg.checkpoint={path}',
                   'train_cfg.max_iters=1')
        assert proc.returncode == 1
        one_line_error(proc, expected)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]


def test_the_tool_error_path_keeps_tracebacks_of_unknown_errors(capsys):
    from dense_ssl_mm.utils.cli import run_tool
    from dense_ssl_mm.utils.errors import BadInputError

    def bad_input(argv):
        raise BadInputError("file 'x.pth' holds no\nstate dict")

    def bug(argv):
        raise KeyError('an unknown failure')

    with pytest.raises(SystemExit) as stop:
        run_tool('tool', bad_input)
    assert stop.value.code == 1
    assert capsys.readouterr().err == "tool: file 'x.pth' holds no state dict\n"
    with pytest.raises(KeyError, match='an unknown failure'):
        run_tool('tool', bug)
    with pytest.raises(SystemExit) as stop:
        run_tool('tool', lambda argv: 3)
    assert stop.value.code == 3


def test_train_with_a_bad_config_value_ends_in_one_line(tmp_path):
    """A value refused when the model is built (``check_choice`` / ``check_number``) is the
    same one-line error through the Runner, exit code 1."""
    proc = run('tools/train.py', 'configs/demo/neco_vit-s14_demo.py', '--work-dir',
               tmp_path / 'w', '--cfg-options', 'model.backbone.arch=huge')
    assert proc.returncode == 1
    one_line_error(proc, "ViT: arch must be one of ('tiny', 'small', 'base', 'large'), got "
                         "'huge'")
    proc = run('tools/train.py', DEMO, '--work-dir', tmp_path / 'w2', '--cfg-options',
               'model.head.matcher.pos_threshold=high')
    assert proc.returncode == 1
    one_line_error(proc, "pos_threshold must be a number and be > 0, got 'high' (str)")
