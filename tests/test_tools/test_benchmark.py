"""The benchmark times the real training step and splits off the data wait correctly."""
import os.path as osp

import torch
from mmengine.config import Config

from dense_ssl_mm.models.algorithms import MomentumTarget
from dense_ssl_mm.operations.benchmark import (build_for_benchmark, folder_loader,
                                               synthetic_data, time_train_steps)
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData
from ..conftest import REPO
from ..helpers import tiny_model_cfg

DEMO = osp.join(REPO, 'configs', 'demo')


class FakeClock:
    now = 0.0

    def __call__(self):
        return self.now


def test_step_time_and_data_wait_by_hand():
    clock = FakeClock()

    class Batches:
        def __next__(self):
            clock.now += 1.0  # 1 s waiting for each batch
            return dict(inputs=[0] * 5)

    class Model(MomentumTarget):
        steps = 0

        def train_step(self, data, optim_wrapper):
            clock.now += 3.0  # 3 s of compute
            return dict(loss=torch.tensor(2.5))

        def momentum_update(self, m):
            self.steps += 1

    model = Model()
    out = time_train_steps(model, None, Batches(), iters=4, warmup=2,
                           device=torch.device('cpu'), clock=clock)
    assert out == dict(step_s=4.0, data_wait=0.25, images=5, loss=2.5)
    assert model.steps == 6  # warm-up steps update the target too

    class TargetFree:  # a model without a momentum target: no EMA call
        def train_step(self, data, optim_wrapper):
            clock.now += 3.0
            return dict(loss=torch.tensor(1.0))

    out = time_train_steps(TargetFree(), None, Batches(), iters=2, warmup=0,
                           device=torch.device('cpu'), clock=clock)
    assert out['loss'] == 1.0 and out['step_s'] == 4.0


def test_real_train_step_with_the_data_preprocessor():
    cfg = Config.fromfile(osp.join(DEMO, 'pixpro_r18_demo.py'))
    cfg.model = tiny_model_cfg()
    model, optim_wrapper = build_for_benchmark(cfg, torch.device('cpu'))
    before = model.backbone.conv1.weight.clone()
    data = synthetic_data(3, 64)
    assert isinstance(data['data_samples'][0], ViewData)
    batches = iter([data] * 4)
    out = time_train_steps(model, optim_wrapper, batches, iters=3, warmup=1,
                           device=torch.device('cpu'))
    assert int(model.momentum_steps) == 4 and out['images'] == 3
    assert not torch.equal(model.backbone.conv1.weight, before)  # the optimizer stepped
    assert 0 <= out['data_wait'] < 1 and out['step_s'] > 0 and out['loss'] < 0


def test_folder_loader_runs_the_configs_pipeline():
    cfg = Config.fromfile(osp.join(DEMO, 'vader_r18_fpn_demo.py'))
    batch = next(iter(folder_loader(cfg, osp.join(DEMO, 'images'), 2, 0)))
    assert len(batch['inputs']) == 2 and batch['inputs'][0].shape == (2, 3, 128, 128)
    assert batch['data_samples'][0].boxes.shape == (2, 4)


def test_synthetic_batches_follow_the_configs_views_and_masks():
    from dense_ssl_mm.operations.benchmark import synthetic_batch
    vicregl = Config.fromfile(osp.join(DEMO, 'vicregl_r18_demo.py'))
    batch = synthetic_batch(vicregl, 3)
    groups = batch['inputs'][0]
    assert [tuple(g.shape) for g in groups] == [(2, 3, 128, 128), (2, 3, 64, 64)]
    assert batch['data_samples'][0].boxes.shape == (4, 4)
    scaled = synthetic_batch(vicregl, 1, size=224)['inputs'][0]
    assert [g.shape[-1] for g in scaled] == [224, 112]  # the others in proportion
    detcon = synthetic_batch(Config.fromfile(osp.join(DEMO, 'detconb_r18_demo.py')), 2)
    assert tuple(detcon['data_samples'][0].masks.shape) == (2, 128, 128)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(osp.join(DEMO, 'detconb_r18_demo.py')).model)
    data = model.data_preprocessor(detcon, True)
    assert torch.isfinite(model(**data, mode='loss')['loss_detcon'])
