"""Speed switches: each one config setting, each leaves the loss as it was (CPU)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.runner.amp import autocast

from dense_ssl_mm.engine.speed import apply_model_switches, apply_speed_config
from dense_ssl_mm.operations.benchmark import synthetic_data
from dense_ssl_mm.registry import MODELS
from ..helpers import tiny_model_cfg, tiny_moco_cfg, tiny_vader_cfg

CFGS = dict(PixPro=tiny_model_cfg, VADeR=lambda: tiny_vader_cfg(queue_size=64),
            DenseCL=lambda: tiny_moco_cfg('DenseCL', 16))


def build(name):
    torch.manual_seed(0)
    model = MODELS.build(CFGS[name]())
    model.init_weights()
    return model.train()


def raw_batch():
    """What the dataloader gives: uint8 views and per-image ViewData."""
    return synthetic_data(3, 64)


def loss_of(model, data, seed=0):
    torch.manual_seed(seed)
    out = model(**model.data_preprocessor(data, True), mode='loss')
    return sum(v for k, v in out.items() if 'loss' in k)


@pytest.mark.parametrize('name', list(CFGS))
def test_channels_last_gives_the_same_loss(name):
    reference = loss_of(build(name), raw_batch())
    model = apply_model_switches(build(name), channels_last=True)
    assert model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    views = model.data_preprocessor(raw_batch(), True)['inputs']
    assert views[0].is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(loss_of(model, raw_batch()), reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('name', list(CFGS))
def test_bf16_autocast_stays_close_to_fp32(name):
    # The context mmengine's AmpOptimWrapper(dtype='bfloat16') enters, on the CPU.
    model = build(name)
    reference = loss_of(model, raw_batch())
    model = build(name)  # fresh queues and counters
    with autocast(device_type='cpu', dtype=torch.bfloat16):
        loss = loss_of(model, raw_batch())
    assert torch.isfinite(loss) and abs(loss.item() - reference.item()) < 0.03 * abs(
        reference.item()) + 0.02, (loss.item(), reference.item())


def test_speed_config_translates_to_mmengine_settings(monkeypatch):
    cfg = Config(dict(speed=dict(bf16=True, pin_memory=True),
                      optim_wrapper=dict(type='OptimWrapper', loss_scale='dynamic'),
                      train_dataloader=dict(pin_memory=False),
                      model=dict(data_preprocessor=dict(type='ViewDataPreprocessor'))))
    with pytest.raises(RuntimeError, match='speed.bf16 uses mmengine\'s AmpOptimWrapper, which '
                       'needs a GPU'):
        apply_speed_config(cfg)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    apply_speed_config(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.optim_wrapper.dtype == 'bfloat16'
    assert 'loss_scale' not in cfg.optim_wrapper
    assert cfg.train_dataloader.pin_memory and cfg.model.data_preprocessor.non_blocking
    with pytest.raises(KeyError, match='speed.fast is not a speed switch; known: channels_last'):
        apply_speed_config(Config(dict(speed=dict(fast=True))))
    with pytest.raises(TypeError, match="speed.channels_last must be True or False, got 'yes'"):
        apply_speed_config(Config(dict(speed=dict(channels_last='yes'))))


def test_non_blocking_copies_give_the_same_loss():
    reference = loss_of(build('PixPro'), raw_batch())
    model = build('PixPro')
    model.data_preprocessor._non_blocking = True
    assert torch.equal(loss_of(model, raw_batch()), reference)


@pytest.mark.slow
def test_compiled_backbone_gives_the_same_loss_and_checkpoint_keys():
    reference = loss_of(build('PixPro'), raw_batch())
    model = build('PixPro')
    keys = list(model.state_dict())
    apply_model_switches(model, compile_backbone=True)
    assert list(model.state_dict()) == keys  # checkpoints and export unchanged
    assert torch.allclose(loss_of(model, raw_batch()), reference, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_pretrain_runner_applies_the_switches(tmp_path):
    from dense_ssl_mm.engine.runners import PretrainRunner
    from ..helpers import demo_cfg
    cfg = demo_cfg(tmp_path, 2)
    cfg.speed = dict(channels_last=True, device_views=True, pin_memory=True)
    runner = PretrainRunner.from_cfg(cfg)
    model = runner.model
    assert model.backbone.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert model.data_preprocessor.view_maker is not None and model.data_preprocessor.channels_last
    assert model.data_preprocessor._non_blocking and runner.cfg.train_dataloader.pin_memory
    runner.train()
    assert int(model.momentum_steps) == 2 and (tmp_path / 'iter_2.pth').is_file()
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert loss == loss and loss < 0  # finite, and PixPro's loss is negative
