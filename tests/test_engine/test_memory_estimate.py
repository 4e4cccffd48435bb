"""The fake-tensor memory estimate against the real CPU allocator during the same step."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from torch.profiler import ProfilerActivity, profile

from dense_ssl_mm.operations.benchmark import build_for_benchmark, synthetic_data
from dense_ssl_mm.operations.memory import config_view_size, estimate_step_memory
from tests.helpers import REPO


def allocator_peak(model, optim_wrapper, batch) -> float:
    """Measured: the peak, over one real training step, of the bytes the CPU allocator holds
    beyond what it held before the step (torch.profiler's memory records), in GiB."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        model.train_step(batch, optim_wrapper)
    records = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                     if e.name() == '[memory]')
    current = peak = 0
    for _, nbytes in records:
        current += nbytes
        peak = max(peak, current)
    return peak / 2**30


def demo(name='pixpro_r18_demo'):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', f'{name}.py'))
    torch.manual_seed(0)
    return cfg, build_for_benchmark(cfg, torch.device('cpu'))


@pytest.mark.parametrize('name, batch', [('pixpro_r18_demo', 8), ('vader_r18_fpn_demo', 4),
                                         ('densecl_r18_demo', 8)])
@pytest.mark.slow
def test_estimate_equals_the_allocator_peak_of_a_real_step(name, batch):
    cfg, (model, optim_wrapper) = demo(name)
    data = synthetic_data(batch, config_view_size(cfg))
    measured = allocator_peak(model, optim_wrapper, data)
    cfg, (model, optim_wrapper) = demo(name)  # fresh optimizer state: the same first step
    estimate = estimate_step_memory(model, optim_wrapper, data)
    assert estimate['first_step'] == pytest.approx(measured, rel=0.05), (estimate, measured)
    assert estimate['step'] >= estimate['first_step'] * 0.99  # optimizer state now present


@pytest.mark.slow
def test_estimate_grows_with_the_batch_and_counts_the_model():
    cfg, (model, optim_wrapper) = demo()
    small = estimate_step_memory(model, optim_wrapper, synthetic_data(4, 128))
    cfg, (model, optim_wrapper) = demo()
    large = estimate_step_memory(model, optim_wrapper, synthetic_data(16, 128))
    params = sum(p.numel() * 4 for p in model.parameters()) / 2**30
    assert small['model'] >= params  # online + target parameters, plus buffers
    per_image = (large['step'] - small['step']) / 12
    assert per_image > 0.005  # activations: several MiB per image at 128 px
    assert large['total'] == pytest.approx(large['model'] + large['step'])


def test_config_view_size_reads_the_crop():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    assert config_view_size(cfg) == 128
    assert config_view_size(Config.fromfile(osp.join(REPO, 'configs', 'pixpro_r50_coco.py'))) \
        == 224
