"""Views made on the device: geometry on ramp images, distributions against the CPU ops,
seeded reproducibility, and the switch that moves a config's pipeline there."""
import math
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from dense_ssl_mm.datasets.transforms import (ColorJitter, PackImageForDeviceViews,
                                              RandomResizedCropWithBox)
from dense_ssl_mm.engine.speed import apply_speed_config
from dense_ssl_mm.geometry.crop_boxes import draw_crop_boxes
from dense_ssl_mm.image_ops import color
from dense_ssl_mm.image_ops.color import adjust_hue_image as cpu_hue
from dense_ssl_mm.models.data_preprocessors import ViewDataPreprocessor
from dense_ssl_mm.models.data_preprocessors import view_ops as ops
from dense_ssl_mm.models.data_preprocessors.device_views import DeviceViewMaker
from ..conftest import REPO

PHOTO = osp.join(REPO, 'configs', 'demo', 'images', 'chelsea.jpg')
CROP_FLIP = [dict(type='RandomResizedCropWithBox', size=16, scale=(0.1, 1.0)),
             dict(type='RandomFlip', prob=0.5, direction='horizontal')]


def packed(img):
    out = PackImageForDeviceViews(max_short_side=None)(dict(img=img, ori_shape=img.shape[:2]))
    return out['inputs'], out['data_samples']


def ramp(height, width, step=1.0):
    """uint8 BGR image: channel 0 = x * step, channel 1 = y * step."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * step, y * step, np.zeros_like(x)], -1).round().astype(np.uint8)


def expected_coords(boxes, flips, size, scale=1.0):
    """Original-image pixel coordinate at each output pixel centre, per axis."""
    h, w = size
    fx = (torch.arange(w) + 0.5) / w
    fy = (torch.arange(h) + 0.5) / h
    fx = torch.where(flips[:, None], 1 - fx, fx)
    xs = boxes[:, 0:1] + fx * (boxes[:, 2:3] - boxes[:, 0:1])
    ys = boxes[:, 1:2] + fy * (boxes[:, 3:4] - boxes[:, 1:2])
    return xs, ys  # [N, w], [N, h]


@pytest.mark.parametrize('shrink,num_views', [(False, 2), (True, 2), (False, 1)])
def test_device_crops_show_the_recorded_boxes(shrink, num_views):
    # A ramp image: the value at a pixel is its coordinate (halved, to fit in uint8 at 2x).
    original = ramp(240, 400, step=0.5) if shrink else ramp(200, 250)
    step = 0.5 if shrink else 1.0
    pack = PackImageForDeviceViews(max_short_side=120 if shrink else None)
    samples = [pack(dict(img=original, ori_shape=original.shape[:2])) for _ in range(8)]
    pre = ViewDataPreprocessor(mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False,
                               device_views=dict(view_pipelines=[CROP_FLIP] * num_views,
                                                 seed=1))
    out = pre(dict(inputs=[s['inputs'] for s in samples],
                   data_samples=[s['data_samples'] for s in samples]))
    views, geometry = out['inputs'], out['data_samples']
    assert geometry.image_sizes[0].tolist() == [float(s) for s in original.shape[:2]]
    assert views.shape[:2] == (num_views, 8) and geometry.boxes.shape[:2] == (num_views, 8)
    assert geometry.flips.any() and not geometry.flips.all()
    for v in range(num_views):
        xs, ys = expected_coords(geometry.boxes[v].double(), geometry.flips[v], (16, 16))
        got_x = views[v, :, 0].double().mean(1)  # [N, w]: columns of the x ramp
        got_y = views[v, :, 1].double().mean(2)  # [N, h]
        # pixel value = (centre coordinate - 0.5) * step, away from the clamped borders
        inner_x = (xs > 2) & (xs < original.shape[1] - 2)
        inner_y = (ys > 2) & (ys < original.shape[0] - 2)
        tol = 0.6 if shrink else 0.02  # the shrunk image was rounded to uint8 once
        assert ((got_x - (xs - 0.5) * step).abs()[inner_x] < tol).all()
        assert ((got_y - (ys - 0.5) * step).abs()[inner_y] < tol).all()


def test_crop_boxes_follow_the_cpu_distribution():
    n = 4000
    gen = torch.Generator().manual_seed(0)
    for height, width, scale, ratio in ((480, 640, (0.08, 1.0), (3 / 4, 4 / 3)),
                                        (60, 900, (0.5, 1.0), (3 / 4, 4 / 3))):
        sizes = torch.tensor([[float(height), float(width)]]).expand(n, 2)
        dev, dev_fallback = draw_crop_boxes(sizes, scale, ratio, 10, gen)
        crop = RandomResizedCropWithBox(size=8, scale=scale, ratio=ratio)
        np.random.seed(0)
        drawn = [crop.sample_box(height, width) for _ in range(n)]
        cpu = torch.tensor([b for b, _ in drawn])
        cpu_fallback = torch.tensor([f for _, f in drawn])

        def stats(b):
            w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
            return torch.stack([w * h / (height * width), torch.log(w / h),
                                (b[:, 0] + b[:, 2]) / 2 / width, (b[:, 1] + b[:, 3]) / 2 / height])
        a, b = stats(dev), stats(cpu)
        se = torch.sqrt(a.var(1) / n + b.var(1) / n)
        assert ((a.mean(1) - b.mean(1)).abs() < 4 * se + 1e-3).all(), (a.mean(1), b.mean(1))
        assert abs(dev_fallback.float().mean() - cpu_fallback.float().mean()) < 0.03
        assert (dev[:, 2] <= width).all() and (dev[:, 3] <= height).all() and (dev >= 0).all()
        assert torch.equal(dev, dev.round())  # integer pixels, as the CPU crop


def test_overlap_constrained_crops_follow_the_cpu_rule():
    # VADeR: view 2 shares >= min_area pixels with view 1, else it is view 1's box
    n, min_area = 3000, 6000.0
    gen = torch.Generator().manual_seed(1)
    sizes = torch.tensor([[120., 160.]]).expand(n, 2)
    first, _ = draw_crop_boxes(sizes, (0.08, 1.0), (3 / 4, 4 / 3), 10, gen)
    second, fallback = draw_crop_boxes(sizes, (0.08, 1.0), (3 / 4, 4 / 3), 10, gen,
                                       (first, min_area))
    lo, hi = torch.maximum(first[:, :2], second[:, :2]), torch.minimum(first[:, 2:], second[:, 2:])
    shared = (hi - lo).clamp(min=0).prod(1)
    assert (shared[~fallback] >= min_area).all()
    assert torch.equal(second[fallback], first[fallback])
    crop = RandomResizedCropWithBox(size=8)
    np.random.seed(1)
    cpu_fallback = np.mean([crop.sample_box(120, 160, (tuple(first[i].tolist()), min_area))[1]
                            for i in range(n)])
    assert abs(float(fallback.float().mean()) - cpu_fallback) < 0.03


def photo(size=96):
    return cv2.resize(cv2.imread(PHOTO), (size, size), interpolation=cv2.INTER_AREA)


def as_views(*imgs):
    return torch.stack([torch.from_numpy(i).permute(2, 0, 1).float() for i in imgs])


def back(x):
    return x[0].permute(1, 2, 0).numpy()


def test_each_op_matches_its_cpu_twin():
    img = photo()
    x = as_views(img)
    one = torch.ones(1)
    pairs = [
        (color.adjust_brightness(x, one * 1.3), mmcv.adjust_brightness(img, 1.3)),
        (color.adjust_contrast(x, one * 0.6), mmcv.adjust_contrast(img, 0.6)),
        (color.adjust_saturation(x, one * 1.4), mmcv.adjust_color(img, 1.4)),
        (color.adjust_hue(x, one * 0.13), cpu_hue(img, 0.13)),
        (color.adjust_hue(x, one * -0.4), cpu_hue(img, -0.4)),
        (ops.gaussian_blur(x, one * 1.7), cv2.GaussianBlur(img, (0, 0), 1.7)),
        (ops.gaussian_blur(x, one * 0.3), cv2.GaussianBlur(img, (0, 0), 0.3)),
        (ops.solarize(x, 128), mmcv.solarize(img, 128)),
        (ops.grayscale(x, torch.tensor([True])),
         np.repeat(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)[..., None], 3, 2)),
    ]
    for k, (device, cpu) in enumerate(pairs):
        diff = np.abs(back(device) - cpu.astype(np.float32))
        assert diff.mean() < 0.6 and diff.max() <= 2.5, (k, diff.mean(), diff.max())


def test_blur_uses_each_views_own_sigma():
    x = as_views(photo(), photo())
    out = ops.gaussian_blur(x, torch.tensor([0.5, 2.0]))
    for k, sigma in enumerate((0.5, 2.0)):
        cpu = cv2.GaussianBlur(photo(), (0, 0), sigma).astype(np.float32)
        assert np.abs(out[k].permute(1, 2, 0).numpy() - cpu).max() <= 2.5


def test_color_jitter_distribution_matches_the_cpu_transform():
    img = photo(48)
    n = 600
    gen = torch.Generator().manual_seed(0)
    dev = color.color_jitter(as_views(*[img] * n), (0.4, 0.4, 0.2, 0.1), 0.8, gen)
    jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8)
    np.random.seed(0)
    cpu = as_views(*[jitter(dict(img=img.copy()))['img'] for _ in range(n)])
    for stat in (lambda v: v.mean((1, 2, 3)), lambda v: v.std((1, 2, 3)),
                 lambda v: (v[:, 2] - v[:, 0]).mean((1, 2))):  # brightness, contrast, hue
        a, b = stat(dev), stat(cpu)
        se = math.sqrt(float(a.var() / n + b.var() / n))
        assert abs(float(a.mean() - b.mean())) < 4 * se, (float(a.mean()), float(b.mean()))
        assert abs(float(a.std() / b.std()) - 1) < 0.15
    unchanged = (dev == as_views(img)).flatten(1).all(1).float().mean()
    assert abs(float(unchanged) - 0.2) < 0.06  # prob 0.8: a fifth are left as they were


def test_jitter_order_is_per_view():
    img = photo(32)
    x = as_views(img, img)
    factors = torch.tensor([[1.3, 1.3], [0.5, 0.5], [1.0, 1.0], [0.0, 0.0]])
    order = torch.tensor([[0, 1, 2, 3], [1, 0, 2, 3]])  # brightness first / contrast first
    out = color.color_jitter(x, (0.4, 0.5, 0.0, 0.0), 1.0, None,
                             drawn=(torch.tensor([True, True]), order, factors))
    one = torch.ones(1)
    b_then_c = color.adjust_contrast(color.adjust_brightness(x[:1], one * 1.3), one * 0.5)
    c_then_b = color.adjust_brightness(color.adjust_contrast(x[1:], one * 0.5), one * 1.3)
    assert torch.allclose(out[:1], b_then_c) and torch.allclose(out[1:], c_then_b)
    assert not torch.allclose(b_then_c, c_then_b, atol=1.0)  # the order matters here
    gen = torch.Generator().manual_seed(0)  # and every order is drawn, uniformly
    orders = torch.rand(24000, 4, generator=gen).argsort(1)
    counts = torch.unique(orders, dim=0, return_counts=True)[1]
    assert len(counts) == 24 and counts.min() > 850 and counts.max() < 1150


def test_a_seed_gives_identical_batches():
    img = cv2.imread(PHOTO)
    pipeline = CROP_FLIP + [dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                                 saturation=0.2, hue=0.1, prob=0.8),
                            dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
                            dict(type='GaussianBlur', sigma_range=(0.1, 2.0), prob=0.5),
                            dict(type='Solarize', prob=0.2)]
    images = torch.from_numpy(img).permute(2, 0, 1).float()[None].repeat(4, 1, 1, 1)
    sizes = torch.tensor([img.shape[:2]] * 4)
    scales = torch.ones(4, 2)
    runs = [DeviceViewMaker([pipeline] * 2, seed=s)(images, sizes, scales) for s in (5, 5, 6)]
    assert all(torch.equal(a, b) for a, b in zip(runs[0], runs[1]))
    assert not torch.equal(runs[0][0], runs[2][0])


def test_the_switch_moves_the_pipeline_and_the_cpu_path_stays_default():
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'pixpro_r18_demo.py'))
    views = cfg.train_dataloader.dataset.pipeline[1].view_pipelines
    assert cfg.get('speed') is None and 'device_views' not in cfg.model.data_preprocessor
    cfg.speed = dict(device_views=True)
    apply_speed_config(cfg)
    assert [t['type'] for t in cfg.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'PackImageForDeviceViews']
    assert cfg.model.data_preprocessor.device_views.view_pipelines == [list(v) for v in views]
    vader = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'vader_r18_fpn_demo.py'))
    vader.speed = dict(device_views=True)
    assert apply_speed_config(vader).model.data_preprocessor.device_views.min_overlap_area == 32
    vader.train_dataloader.dataset.pipeline = [dict(type='LoadImageFromFile'),
                                               dict(type='MultiViewTransform',
                                                    view_pipelines=[CROP_FLIP] * 2),
                                               dict(type='PackViews'),
                                               dict(type='Collect')]
    with pytest.raises(ValueError, match="must only pack .*found \\['PackViews', "
                       "'Collect'\\]"):
        apply_speed_config(vader)
    with pytest.raises(ValueError, match='no view spec describes Resize: the views made from '
                                         'specs .* reproduce RandomResizedCropWithBox'):
        DeviceViewMaker([CROP_FLIP + [dict(type='Resize', scale=(8, 8))], CROP_FLIP])


def test_whole_pipeline_statistics_match_the_cpu_pipeline():
    """The PixPro (BYOL) view pipelines at 32 px: CPU transforms against device views, 500
    image pairs each, statistics of every view compared."""
    from mmengine.config import Config
    from dense_ssl_mm.datasets.transforms import MultiViewTransform
    cfg = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'datasets', 'pixpro_views.py'))
    pipelines = [[dict(t, size=32) if t['type'] == 'RandomResizedCropWithBox' else dict(t)
                  for t in p] for p in (cfg.view_pipeline1, cfg.view_pipeline2)]
    img = cv2.resize(cv2.imread(PHOTO), (160, 120), interpolation=cv2.INTER_AREA)
    n = 500
    np.random.seed(0)
    paired = MultiViewTransform(pipelines)
    cpu = torch.stack([torch.from_numpy(np.stack(paired(dict(img=img))['views'])).permute(
        0, 3, 1, 2).float() for _ in range(n)], 1)  # [2, n, 3, 32, 32]
    images = torch.from_numpy(img).permute(2, 0, 1).float()[None].expand(n, -1, -1, -1)
    dev, _, flips, _ = DeviceViewMaker(pipelines, seed=0)(
        images.contiguous(), torch.tensor([[120, 160]] * n), torch.ones(n, 2))
    assert abs(flips.float().mean() - 0.5) < 0.06

    def stats(v):  # per view: brightness, contrast, colourfulness, grey or not
        return [v.mean((1, 2, 3)), v.std((1, 2, 3)), (v[:, 2] - v[:, 1]).abs().mean((1, 2)),
                ((v[:, 0] - v[:, 1]).abs().amax((1, 2)) < 1.5).float()]
    for view in range(2):
        for k, (a, b) in enumerate(zip(stats(dev[view]), stats(cpu[view]))):
            se = math.sqrt(float(a.var() / n + b.var() / n))
            gap = abs(float(a.mean() - b.mean()))
            assert gap < 4 * se + 0.5, (view, k, float(a.mean()), float(b.mean()))


def test_views_stay_float32_inside_the_amp_context():
    from mmengine.runner.amp import autocast
    img = torch.from_numpy(cv2.imread(PHOTO)).permute(2, 0, 1)
    sample = PackImageForDeviceViews(max_short_side=None)(dict(
        img=cv2.imread(PHOTO), ori_shape=img.shape[1:]))
    pipeline = CROP_FLIP + [dict(type='GaussianBlur', sigma_range=(1.0, 2.0), prob=1.0)]
    outs = []
    for amp in (False, True):
        pre = ViewDataPreprocessor(device_views=dict(view_pipelines=[pipeline] * 2,
                                                     seed=0))
        with autocast(device_type='cpu', dtype=torch.bfloat16, enabled=amp):
            outs.append(pre(dict(inputs=[sample['inputs']],
                                 data_samples=[sample['data_samples']]))['inputs'])
    assert outs[1].dtype == torch.float32 and torch.equal(outs[0], outs[1])


def test_maker_keeps_the_overlap_in_original_pixels():
    # images shrunk to half size: the area bound applies in original pixels all the same
    n, min_area = 200, 8000.0
    maker = DeviceViewMaker([CROP_FLIP] * 2, min_overlap_area=min_area, seed=2)
    images = torch.rand(n, 3, 60, 80) * 255
    _, boxes, _, fallbacks = maker(images, torch.tensor([[60, 80]] * n),
                                   torch.full((n, 2), 0.5))
    lo = torch.maximum(boxes[0, :, :2], boxes[1, :, :2])
    hi = torch.minimum(boxes[0, :, 2:], boxes[1, :, 2:])
    shared = (hi - lo).clamp(min=0).prod(1)
    assert (shared[~fallbacks[1]] >= min_area).all() and (~fallbacks[1]).any()
    assert torch.equal(boxes[1][fallbacks[1]], boxes[0][fallbacks[1]]) and fallbacks[1].any()
    assert boxes.max() > 80  # the boxes are in original pixels (160 x 120), not loaded ones
