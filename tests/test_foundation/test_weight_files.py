"""The weight files users actually have: a DDP save (``module.``), a DINOv2 training
checkpoint (teacher by default, student on request), ``.safetensors``; register files into
plain configs and the reverse; each read by the one reader, said in one log line."""
import logging

import pytest
import torch
from safetensors.torch import save_file

from dense_ssl_mm.apis.export import write_random_dinov2
from dense_ssl_mm.models.backbones.vit_layouts import read_vit_weights
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.checkpoint import UnreadableCheckpointError, read_weights
from dense_ssl_mm.utils.errors import BadInputError


def official(tmp_path, name='dinov2.pth', reg=0, seed=0) -> dict:
    """A random ViT-T/14 in the official DINOv2 layout, written and read back."""
    path = str(tmp_path / name)
    write_random_dinov2(path, 'tiny', 14, reg, seed=seed)
    return torch.load(path)


def vit(path, reg=0, **init):
    model = MODELS.build(dict(type='ViT', arch='tiny', patch_size=14, img_size=518,
                              reg_tokens=reg, layer_scale=1e-5,
                              init_cfg=dict(type='DINOv2', checkpoint=str(path), **init)))
    model.init_weights()
    return model


class LogLines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    from mmengine.logging import MMLogger
    handler = LogLines()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def assert_same(model, reference):
    ours, theirs = model.state_dict(), reference.state_dict()
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert torch.equal(ours[key], value), key


def test_a_ddp_file_loads_with_the_prefix_stripped_said_once(tmp_path, log_lines):
    state = official(tmp_path)
    direct = vit(tmp_path / 'dinov2.pth')
    torch.save({f'module.{k}': v for k, v in state.items()}, tmp_path / 'ddp.pth')
    assert_same(vit(tmp_path / 'ddp.pth'), direct)
    lines = [line for line in log_lines if 'ddp.pth' in line]
    assert len(lines) == 1 and "DDP prefix 'module.' stripped" in lines[0], log_lines
    assert 'the official DINOv2 layout' in lines[0]


def test_a_dinov2_training_checkpoint_gives_its_teacher_or_on_request_its_student(
        tmp_path, log_lines):
    teacher, student = official(tmp_path, 't.pth', seed=1), official(tmp_path, 's.pth', seed=2)
    head = {'dino_head.mlp.0.weight': torch.randn(8, 192)}
    # the training state, FSDP's chunked blocks (blocks.<chunk>.<index>) as block_chunks=4 saves
    chunked = {(f'blocks.{int(k.split(".")[1]) // 3}.' + k.split('.', 1)[1]
                if k.startswith('blocks.') else k): v for k, v in teacher.items()}
    training = {'model': {**{f'teacher.backbone.{k}': v for k, v in chunked.items()},
                          **{f'student.backbone.{k}': v for k, v in student.items()},
                          **{f'teacher.{k}': v for k, v in head.items()},
                          **{f'student.{k}': v for k, v in head.items()}},
                'iteration': 12}
    torch.save(training, tmp_path / 'model_0000012.rank_0.pth')
    torch.save({'teacher': {**{f'backbone.{k}': v for k, v in teacher.items()}, **head}},
               tmp_path / 'teacher_checkpoint.pth')
    want_teacher, want_student = vit(tmp_path / 't.pth'), vit(tmp_path / 's.pth')
    assert_same(vit(tmp_path / 'model_0000012.rank_0.pth'), want_teacher)
    assert_same(vit(tmp_path / 'teacher_checkpoint.pth'), want_teacher)
    assert_same(vit(tmp_path / 'model_0000012.rank_0.pth', branch='student'), want_student)
    lines = [line for line in log_lines if 'model_0000012' in line]
    assert len(lines) == 2
    assert "its teacher backbone (branch='student' for the student)" in lines[0]
    assert "its student backbone (branch='teacher' for the teacher)" in lines[1]
    with pytest.raises(BadInputError, match=r"teacher_checkpoint\.pth' is a DINOv2 training "
                                            r"checkpoint without a 'student' entry"):
        read_weights(tmp_path / 'teacher_checkpoint.pth', branch='student')
    with pytest.raises(BadInputError, match=r"branch must be one of \('teacher', 'student'\)"):
        read_weights(tmp_path / 't.pth', branch='ema')


def test_safetensors_files_are_read_and_a_truncated_one_is_named(tmp_path, log_lines):
    state = official(tmp_path)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / 'w.safetensors'))
    assert_same(vit(tmp_path / 'w.safetensors'), vit(tmp_path / 'dinov2.pth'))
    read, notes = read_vit_weights(str(tmp_path / 'w.safetensors'))
    assert notes == ['the official DINOv2 layout'] and len(read) == len(state) - 1
    blob = (tmp_path / 'w.safetensors').read_bytes()
    (tmp_path / 'cut.safetensors').write_bytes(blob[:len(blob) // 2])
    with pytest.raises(UnreadableCheckpointError,
                       match=r"cut\.safetensors' is a safetensors file that cannot be read"):
        vit(tmp_path / 'cut.safetensors')
    (tmp_path / 'head.safetensors').write_bytes(blob[:64])
    with pytest.raises(UnreadableCheckpointError, match=r"is a truncated safetensors file "
                                                        r"\(64 bytes"):
        vit(tmp_path / 'head.safetensors')


def test_register_mismatches_say_which_config(tmp_path):
    official(tmp_path, 'reg4.pth', reg=4)
    official(tmp_path, 'plain.pth', reg=0)
    with pytest.raises(BadInputError, match=r"reg4\.pth' does not fit this ViT: this file has 4 "
                                            r"register tokens and the model none: use the reg4 "
                                            r"config .*/ reg_tokens=4; "):
        vit(tmp_path / 'reg4.pth', reg=0)
    with pytest.raises(BadInputError, match=r"plain\.pth' does not fit this ViT: this file has "
                                            r"no register tokens and the model 4: use the plain "
                                            r"config .*/ reg_tokens=0; .*missing \['reg_token'\]"):
        vit(tmp_path / 'plain.pth', reg=4)
    assert vit(tmp_path / 'reg4.pth', reg=4).reg_token.shape == (1, 4, 192)


def test_strict_pretrained_reads_through_the_same_reader(tmp_path, log_lines):
    """mmdet / mmseg's ``init_cfg`` loader: a DDP ``.safetensors`` file of a ResNet."""
    from dense_ssl_mm.models.utils import StrictPretrainedInit
    torch.manual_seed(0)
    source = MODELS.build(dict(type='ResNet', depth=18, base_channels=8))
    save_file({f'module.{k}': v for k, v in source.state_dict().items()},
              str(tmp_path / 'r18.safetensors'))
    target = MODELS.build(dict(type='ResNet', depth=18, base_channels=8))
    StrictPretrainedInit(checkpoint=str(tmp_path / 'r18.safetensors'))(target)
    assert_same(target, source)
    assert any("DDP prefix 'module.' stripped" in line and 'r18.safetensors' in line
               for line in log_lines), log_lines
    with pytest.raises(BadInputError, match=r"have no tensor under prefix 'backbone\.'"):
        StrictPretrainedInit(checkpoint=str(tmp_path / 'r18.safetensors'),
                             prefix='backbone.')(target)
