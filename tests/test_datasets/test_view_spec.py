"""One description of a view: each setting changed once in a view pipeline config reaches
the CPU transforms, the device view maker and the evaluation's view pairs alike (no path
re-reads a setting by name with a default of its own), and the evaluation normalises as the
model's own data preprocessor does."""
import copy

import numpy as np
import pytest
import torch

from dense_ssl_mm.datasets.transforms import MultiViewTransform
from dense_ssl_mm.datasets.transforms.view_spec import ViewSpec
from dense_ssl_mm.evaluation.views import eval_view_spec, make_view_pair, normalize
from dense_ssl_mm.models.data_preprocessors import ViewDataPreprocessor
from dense_ssl_mm.models.data_preprocessors.device_views import DeviceViewMaker

BASE = [
    dict(type='RandomResizedCropWithBox', size=32, scale=(0.3, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True, channel_weights=(1., 1., 2.)),
    dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
    dict(type='Solarize', threshold=128, prob=0.2),
]
# (transform index, setting, new value, where the spec holds it, the CPU transform's attribute)
CHANGES = [
    (0, 'scale', (0.5, 0.6), lambda s: s.crop.scale, 'scale'),
    (0, 'ratio', (1.0, 1.0), lambda s: s.crop.ratio, 'ratio'),
    (0, 'size', 48, lambda s: s.crop.size, 'size'),
    (0, 'max_attempts', 3, lambda s: s.crop.max_attempts, 'max_attempts'),
    (1, 'prob', 1.0, lambda s: s.flip, 'prob'),
    (2, 'brightness', 0.7, lambda s: s.ops[0].strengths[0], 'brightness'),
    (2, 'contrast', 0.1, lambda s: s.ops[0].strengths[1], 'contrast'),
    (2, 'saturation', 0.9, lambda s: s.ops[0].strengths[2], 'saturation'),
    (2, 'hue', 0.2, lambda s: s.ops[0].strengths[3], 'hue'),
    (2, 'prob', 0.6, lambda s: s.ops[0].prob, 'prob'),
    (3, 'channel_weights', (0., 0., 1.), lambda s: s.ops[1].weights, 'channel_weights'),
    (4, 'sigma_range', (1.0, 1.5), lambda s: s.ops[2].sigma_range, 'sigma_range'),
    (5, 'threshold', 50, lambda s: s.ops[3].threshold, 'threshold'),
]
EVAL_READS = {'scale', 'ratio', 'max_attempts', 'brightness', 'contrast', 'saturation'}


def expected(setting, value):
    if setting == 'size':
        return (value, value)
    return tuple(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize('index,setting,value,held,attribute', CHANGES,
                         ids=[f'{c[0]}-{c[1]}' for c in CHANGES])
def test_a_setting_reaches_every_path(index, setting, value, held, attribute):
    pipeline = copy.deepcopy(BASE)
    before = held(ViewSpec.from_pipeline(pipeline))
    pipeline[index][setting] = value
    want = expected(setting, value)
    assert before != want
    # 1. the CPU transform
    cpu = MultiViewTransform([pipeline, BASE]).pipelines[0].transforms[index]
    got = getattr(cpu, attribute)
    assert (tuple(got) if isinstance(got, (list, tuple)) else got) == want
    # 2. the device view maker
    assert held(DeviceViewMaker([pipeline, BASE]).views[0]) == pytest.approx(want)
    # 3. the evaluation's view pairs (crop, flip, jitter: the protocol has no other ops)
    crop_flip_jitter = pipeline[:3]
    crop_flip_jitter[2] = dict(crop_flip_jitter[2])
    if setting == 'hue' or (index == 2 and setting == 'prob'):
        with pytest.raises(ValueError, match='evaluation views jitter brightness, contrast'):
            eval_view_spec(crop_flip_jitter)
    elif index <= 2:
        assert held(eval_view_spec(crop_flip_jitter)) == pytest.approx(want)


def test_crop_and_flip_changes_show_in_what_each_path_draws():
    pipeline = copy.deepcopy(BASE[:2])
    pipeline[0].update(scale=(0.5, 0.6), ratio=(1.0, 1.0))
    pipeline[1]['prob'] = 1.0
    image = np.zeros((200, 200, 3), np.uint8)
    np.random.seed(0)
    cpu = [MultiViewTransform([pipeline, pipeline])(dict(img=image)) for _ in range(20)]
    cpu_boxes = np.concatenate([o['view_boxes'] for o in cpu])
    cpu_flips = np.concatenate([o['view_flips'] for o in cpu])
    maker = DeviceViewMaker([pipeline, pipeline], seed=0)
    _, dev_boxes, dev_flips, _ = maker(torch.zeros(20, 3, 200, 200),
                                       torch.tensor([[200, 200]] * 20), torch.ones(20, 2))
    dev_boxes = dev_boxes.flatten(0, 1).numpy()
    spec = eval_view_spec(pipeline)
    pairs = [make_view_pair(torch.zeros(3, 200, 200), 32, seed, spec) for seed in range(20)]
    eval_boxes = torch.cat([p[1] for p in pairs]).numpy()
    eval_flips = torch.cat([p[2] for p in pairs]).numpy()
    for boxes in (cpu_boxes, dev_boxes, eval_boxes):
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        area = w * h / 200 ** 2
        assert (area > 0.5 * 0.97).all() and (area < 0.6 * 1.03).all()
        assert (np.abs(w - h) <= 1).all()  # ratio 1
    assert cpu_flips.all() and dev_flips.all() and eval_flips.all()


@pytest.mark.parametrize('bgr_to_rgb', [True, False])
def test_evaluation_normalises_as_the_models_preprocessor(bgr_to_rgb):
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.data_preprocessor = ViewDataPreprocessor(mean=[10., 20., 30.],
                                                          std=[2., 4., 8.],
                                                          bgr_to_rgb=bgr_to_rgb)
    rgb = torch.rand(2, 3, 4, 4) * 255
    out = normalize(rgb, Model())
    # what training feeds: the loaded BGR image through the model's own preprocessor
    bgr_views = rgb.flip(1)[:, None].round().to(torch.uint8)  # (N, V=1, 3, H, W)
    pre = Model().data_preprocessor
    trained = (bgr_views.float().flip(2) if bgr_to_rgb else bgr_views.float()) - pre.mean
    trained = (trained / pre.std)[:, 0]
    assert torch.allclose(out, trained, atol=0.5 / 2)  # up to the uint8 rounding
    assert not torch.allclose(normalize(rgb), out, atol=1e-3)  # not ImageNet's statistics
