"""Tool argument errors are one line that names the argument, before any work starts."""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch

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


@pytest.mark.slow
def test_train_refuses_a_hydra_style_key_in_one_line():
    one_line_error(run('tools/train.py', DEMO, '--cfg-options', '+model.x=1'),
                   "key '+model.x' is not a config key path", 'Hydra-style')
    one_line_error(run('tools/train.py', DEMO, '--cfg-options', 'model.x'),
                   "expects key=value, got 'model.x'")


@pytest.mark.parametrize('tool', ['tools/train.py', 'tools/benchmark_pretrain.py',
                                  'tools/eval_dense.py'])
@pytest.mark.slow
def test_missing_config_and_directory_for_a_file(tool, tmp_path):
    extra = ['--work-dir', str(tmp_path / 'w')] if 'eval_dense' in tool else []
    one_line_error(run(tool, tmp_path / 'nope.py', *extra),
                   f"config file '{tmp_path / 'nope.py'}' does not exist")
    one_line_error(run(tool, tmp_path, *extra),
                   f"config file '{tmp_path}' is a directory, expected a file")


@pytest.mark.slow
def test_pretraining_tools_refuse_a_config_of_another_kind(tmp_path):
    expected = ("is not a pretraining config: its model type is 'MaskRCNN'", 'PixPro')
    one_line_error(run('tools/benchmark_pretrain.py', MMDET), *expected)
    one_line_error(run('tools/eval_dense.py', MMDET, '--work-dir', tmp_path / 'w'), *expected)
    one_line_error(run('tools/compare_methods.py', '--configs', MMDET, '--work-dir',
                       tmp_path / 'c'), *expected)
    one_line_error(run('tools/benchmark_pretrain.py', DEMO, '--cfg-options', '++x=1'),
                   "key '++x' is not a config key path")


@pytest.mark.slow
def test_export_refuses_missing_checkpoint_and_directory_outputs(tmp_path):
    one_line_error(run('tools/export_backbone.py', tmp_path / 'no.pth', tmp_path / 'o.pth'),
                   f"checkpoint '{tmp_path / 'no.pth'}' does not exist")
    one_line_error(run('tools/export_backbone.py', tmp_path, tmp_path / 'o.pth'),
                   'is a directory, expected a file')
    ckpt = tmp_path / 'c.pth'
    ckpt.write_bytes(b'x')
    one_line_error(run('tools/export_backbone.py', ckpt, tmp_path),
                   f"output '{tmp_path}' is a folder; give a file name")


@pytest.mark.slow
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


@pytest.mark.slow
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


def test_a_known_bad_input_from_a_dataloader_worker_is_its_own_line(capsys):
    """torch re-raises a worker's error in the main process with the worker's traceback as
    its message: the tool prints the original message alone."""
    from torch._utils import ExceptionWrapper
    from dense_ssl_mm.utils.cli import run_tool
    from dense_ssl_mm.utils.errors import BadInputStateError

    def worker_failure(argv):
        try:
            raise BadInputStateError("cannot load image 'a/b.jpg' (ValueError: bad); set\n"
                                     "on_bad_image='skip'")
        except BadInputStateError:
            wrapped = ExceptionWrapper(where='in DataLoader worker process 0')
        wrapped.reraise()

    with pytest.raises(SystemExit) as stop:
        run_tool('train', worker_failure)
    assert stop.value.code == 1
    assert capsys.readouterr().err == ("train: cannot load image 'a/b.jpg' (ValueError: bad); "
                                       "set on_bad_image='skip'\n")


def test_known_bad_inputs_are_bad_input_errors_of_their_old_types(tmp_path):
    """Each known bad input raises a BadInputError (one line from every tool, no traceback)
    that is still the built-in type callers caught before (FileNotFoundError, KeyError,
    RuntimeError, TypeError, ValueError), its message naming the values."""
    from argparse import Namespace
    from mmengine.config import Config
    from dense_ssl_mm.apis.launch import prepare_config
    from dense_ssl_mm.datasets import COCOImageDataset, ImageFolderDataset, ImageListDataset
    from dense_ssl_mm.datasets.fh_masks import mask_path
    from dense_ssl_mm.engine.hooks import (DenseEvalHook, MomentumEncoderHook,
                                           SnapshotTeacherHook)
    from dense_ssl_mm.engine.runners.pretrain_runner import check_teacher_hooks
    from dense_ssl_mm.utils.errors import (BadInputError, BadInputFileError, BadInputKeyError,
                                           BadInputStateError, BadInputTypeError)
    demo = osp.join(REPO, DEMO)

    def args(**kw):
        base = dict(config=demo, cfg_options=None, launcher='none', work_dir=str(tmp_path),
                    resume=None, amp=False, auto_scale_lr=False)
        return Namespace(**dict(base, **kw))

    nope = str(tmp_path / 'nope.pth')
    with pytest.raises(BadInputFileError, match=f"--resume checkpoint '{nope}' does not exist"):
        prepare_config(Config.fromfile(demo), args(resume=nope))
    (tmp_path / 'iter_5.pth').write_bytes(b'')
    with pytest.raises(BadInputStateError, match=rf"--resume: no readable checkpoint in "
                       rf"'{tmp_path}'; skipped: .*iter_5\.pth: is empty"):
        prepare_config(Config.fromfile(demo), args(resume='auto'))
    cfg = Config.fromfile(demo)
    cfg.pop('optim_wrapper')
    with pytest.raises(BadInputKeyError, match=f'--amp needs an optim_wrapper in {demo}') as err:
        prepare_config(cfg, args(amp=True))
    assert str(err.value) == f'--amp needs an optim_wrapper in {demo}'  # no KeyError quotes
    with pytest.raises(BadInputKeyError, match='--auto-scale-lr needs '
                       f'auto_scale_lr.base_batch_size in {demo}'):
        prepare_config(Config.fromfile(demo), args(auto_scale_lr=True))
    cfg = Config.fromfile(demo)
    cfg.pretrained = 'old.pth'
    with pytest.raises(BadInputKeyError, match=r"pretrained='new\.pth' given, but no Pretrained "
                       "init_cfg in .* uses its pretrained path 'old.pth'"):
        prepare_config(cfg, args(cfg_options={'pretrained': 'new.pth'}))

    missing = str(tmp_path / 'photos')
    with pytest.raises(BadInputFileError, match=f"ImageFolderDataset: image folder '{missing}/?' "
                       'does not exist'):
        ImageFolderDataset(data_root=missing, pipeline=[])
    for cls in (ImageListDataset, COCOImageDataset):
        with pytest.raises(BadInputFileError, match=rf"{cls.__name__}: ann_file '.*list\.txt' "
                           'does not exist'):
            cls(data_root=str(tmp_path), ann_file='list.txt', pipeline=[])
    (tmp_path / 'broken.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    dataset = ImageFolderDataset(data_root=str(tmp_path), pipeline=[
        dict(type='LoadImageFromFile')])
    with pytest.raises(BadInputStateError, match=r"cannot load image '.*broken\.jpg'"):
        dataset[0]
    with pytest.raises(BadInputError, match=r"image '/a/b\.jpg' is not under the image root "
                       "'/c'"):
        mask_path('/a/b.jpg', '/c', '/c_fh_masks')

    with pytest.raises(BadInputError, match='DenseEvalHook needs images=FOLDER of held-out '
                       'images'):
        DenseEvalHook()

    class Runner:
        model = torch.nn.Linear(1, 1)

    with pytest.raises(BadInputTypeError, match='MomentumEncoderHook needs a model with an EMA '
                       'teacher .* Linear has none'):
        MomentumEncoderHook().before_train(Runner())
    with pytest.raises(BadInputTypeError, match='SnapshotTeacherHook needs a model with a '
                       'SnapshotTeacher; Linear has none'):
        SnapshotTeacherHook().before_train(Runner())

    class Model:
        def teacher_hooks(self):
            return {'target': 'MomentumEncoderHook'}

    with pytest.raises(BadInputStateError, match=r"Model has teacher\(s\) \['target'\] that "
                       'need MomentumEncoderHook, which is not registered'):
        check_teacher_hooks(Model(), [])
    with pytest.raises(BadInputStateError, match='SnapshotTeacherHook is registered but Model '
                       'has no teacher that needs it'):
        check_teacher_hooks(Model(), [MomentumEncoderHook(), SnapshotTeacherHook()])
    with pytest.raises(BadInputError, match=r"'x\.py' is not a pretraining config: its model "
                       "type is 'MaskRCNN'"):
        from dense_ssl_mm.registry import MODELS
        from dense_ssl_mm.utils.cli import check_pretraining_config
        check_pretraining_config(Config(dict(model=dict(type='MaskRCNN'))), 'x.py', MODELS)


def test_evaluation_and_export_errors_are_bad_input_errors(tmp_path):
    import numpy as np
    from dense_ssl_mm.apis.export import export_checkpoint
    from dense_ssl_mm.evaluation.seg_data import check_mask, folder_pairs
    from dense_ssl_mm.utils.errors import BadInputError, BadInputFileError
    mask = np.zeros((24, 20), np.int64)
    with pytest.raises(BadInputError, match=r"mask 'm\.png' is 20 x 24 but its image 'i\.jpg' "
                       r'is 32 x 30 \(width x height\)'):
        check_mask(mask, (30, 32, 3), 'i.jpg', 'm.png')
    mask[0, 0] = 200
    with pytest.raises(BadInputError, match=r"mask 'm\.png' holds class id 200, outside the 3 "
                       r'classes \[0, 3\)'):
        check_mask(mask, (24, 20, 3), 'i.jpg', 'm.png', num_classes=3)
    (tmp_path / 'images' / 'val').mkdir(parents=True)
    (tmp_path / 'images' / 'val' / 'a.jpg').write_bytes(b'x')
    with pytest.raises(BadInputFileError, match=r"val sample 'a' of '.*': image .*a\.jpg or "
                       r'mask .*a\.png is missing'):
        folder_pairs(str(tmp_path), 'val')
    ckpt = tmp_path / 'run.pth'
    torch.save(dict(state_dict={'backbone.w': torch.tensor([1.0, float('nan')])}), ckpt)
    with pytest.raises(BadInputError, match=rf"output '{ckpt}' is the input checkpoint "
                       rf"'{ckpt}'; exporting over it would destroy"):
        export_checkpoint(str(ckpt), str(ckpt))
    with pytest.raises(BadInputError, match=rf"'{ckpt}' has non-finite \(NaN/inf\) online "
                       r"weights in 1 tensors, e.g. \['w'\]"):
        export_checkpoint(str(ckpt), str(tmp_path / 'out.pth'))


def only_stderr_line(proc):
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert len(lines) == 1 and 'Traceback' not in proc.stderr, proc.stderr[-2000:]
    return lines[0]


@pytest.mark.slow
def test_train_ends_a_missing_resume_file_and_a_missing_data_root_in_one_line(tmp_path):
    assert only_stderr_line(run('tools/train.py', DEMO, '--work-dir', tmp_path / 'w',
                                '--resume', '/nonexistent.pth')) == \
        "train: --resume checkpoint '/nonexistent.pth' does not exist"
    cfg = tmp_path / 'no_root.py'
    cfg.write_text(f"_base_ = '{osp.join(REPO, DEMO)}'\n"
                   "train_dataloader = dict(dataset=dict(type='ImageFolderDataset', "
                   "data_root='/nonexistent/photos', ann_file=''))\n")
    assert re.fullmatch("train: ImageFolderDataset: image folder '/nonexistent/photos/?' does "
                        'not exist', only_stderr_line(run('tools/train.py', cfg, '--work-dir',
                                                          tmp_path / 'w2')))


@pytest.mark.slow
def test_make_timm_teacher_and_visualize_views_refuse_bad_inputs_in_one_line(tmp_path):
    """Their own ``except ... sys.exit`` is gone: a bad input is a BadInputError, printed by
    ``run_tool`` as one line (exit code 1)."""
    import importlib.util
    from dense_ssl_mm.utils.errors import BadInputError
    spec = importlib.util.spec_from_file_location(
        'make_timm_teacher', osp.join(REPO, 'tools', 'make_timm_teacher.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(BadInputError, match="--model 'vit_nope' is not a timm model name"):
        tool.write_random_timm(str(tmp_path / 't.pth'), 'vit_nope')
    assert not (tmp_path / 't.pth').exists()
    assert only_stderr_line(run('tools/visualize_views.py', DEMO, tmp_path / 'nope.jpg',
                                '--out', tmp_path / 'v.png')) == \
        f"visualize_views: image '{tmp_path / 'nope.jpg'}' does not exist"


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(), reason='the refusal is for machines without GPU')
def test_gpu_acceptance_without_a_gpu_is_one_line(tmp_path):
    assert only_stderr_line(run('tools/gpu_acceptance.py', '--out', tmp_path / 'ga')) == (
        'gpu_acceptance: gpu_acceptance needs a GPU (torch.cuda.is_available() is False); use '
        '--dry-run to check the command on a CPU')
