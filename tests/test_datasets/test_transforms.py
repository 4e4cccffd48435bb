"""Paired views: recorded geometry matches pixel content; photometric ops; packing."""
import numpy as np
import pytest
import torch

from dense_ssl_mm.datasets.transforms import (ColorJitter, GaussianBlur, PackViews,
                                              MultiViewTransform, RandomResizedCropWithBox,
                                              Solarize)
from dense_ssl_mm.geometry.crop_boxes import box_overlap_area
from dense_ssl_mm.image_ops.color import adjust_hue_image as adjust_hue
from dense_ssl_mm.models.data_preprocessors import ViewDataPreprocessor


def ramp_image(h=120, w=160):
    """Channel 0 = x, channel 1 = y (in pixels, as uint8), channel 2 = 50."""
    x = np.broadcast_to(np.arange(w, dtype=np.uint8)[None], (h, w))
    y = np.broadcast_to(np.arange(h, dtype=np.uint8)[:, None], (h, w))
    return np.ascontiguousarray(np.stack([x, y, np.full((h, w), 50, np.uint8)], -1))


def crop_only(size=32, **kw):
    return [dict(type='RandomResizedCropWithBox', size=size, interpolation='nearest', **kw)]


def test_crop_box_matches_content():
    np.random.seed(0)
    t = RandomResizedCropWithBox(size=40, scale=(0.1, 0.6), interpolation='nearest')
    for _ in range(20):
        out = t(dict(img=ramp_image()))
        x1, y1, x2, y2 = out['crop_box']
        img = out['img']
        assert 0 <= x1 < x2 <= 160 and 0 <= y1 < y2 <= 120
        assert 0.1 * 0.99 <= (x2 - x1) * (y2 - y1) / (160 * 120) <= 0.6 * 1.01
        assert 3 / 4 * 0.9 <= (x2 - x1) / (y2 - y1) <= 4 / 3 * 1.1
        # nearest resize: the first/last columns show x1 / x2 - 1 to within one source pixel
        assert abs(int(img[0, 0, 0]) - x1) <= (x2 - x1) / 40 + 1
        assert abs(int(img[0, -1, 0]) - (x2 - 1)) <= (x2 - x1) / 40 + 1
        assert abs(int(img[-1, 0, 1]) - (y2 - 1)) <= (y2 - y1) / 40 + 1
        assert out['img'].shape == (40, 40, 3) and not out['crop_fallback']


def test_paired_views_record_flip_and_keep_box_unflipped():
    np.random.seed(1)
    flip = dict(type='RandomFlip', prob=1.0, direction='horizontal')
    t = MultiViewTransform([crop_only(), crop_only() + [flip]])
    out = t(dict(img=ramp_image()))
    assert out['view_flips'].tolist() == [False, True]
    x1, _, x2, _ = out['view_boxes'][1]
    view2 = out['views'][1]
    # flipped: the left column shows the right edge of the (unflipped) box
    assert abs(int(view2[0, 0, 0]) - (x2 - 1)) <= (x2 - x1) / 32 + 1
    assert abs(int(view2[0, -1, 0]) - x1) <= (x2 - x1) / 32 + 1


def test_overlap_option_guarantees_area_and_falls_back():
    np.random.seed(2)
    t = MultiViewTransform([crop_only(scale=(0.05, 0.1)), crop_only(scale=(0.05, 0.1))],
                           min_overlap_area=100)
    for _ in range(50):
        out = t(dict(img=ramp_image()))
        b1, b2 = out['view_boxes']
        assert box_overlap_area(b1, b2) >= 100
    impossible = MultiViewTransform([crop_only(scale=(0.05, 0.1)),
                                     crop_only(scale=(0.05, 0.1))],
                                    min_overlap_area=160 * 120)
    out = impossible(dict(img=ramp_image()))
    assert out['view_fallbacks'].tolist() == [False, True]
    assert np.array_equal(out['view_boxes'][0], out['view_boxes'][1])
    assert 'crop_overlap' not in out  # the constraint is an argument, not a dict entry
    with pytest.raises(ValueError, match='min_overlap_area=...\\) needs a '
                       'RandomResizedCropWithBox in view pipeline 1'):
        MultiViewTransform([crop_only(), [dict(type='RandomFlip', prob=0.5)]],
                           min_overlap_area=10)


def test_paired_view_config_errors():
    with pytest.raises(ValueError, match='needs >= 1 view pipeline, got none'):
        MultiViewTransform([])
    one = MultiViewTransform([crop_only()])(dict(img=ramp_image()))  # a single view is legal
    assert len(one['views']) == 1 and one['view_boxes'].shape == (1, 4)
    from dense_ssl_mm.datasets.transforms import PairedViewTransform
    with pytest.raises(ValueError, match='PairedViewTransform needs exactly 2 view pipelines, '
                       'got 3; use MultiViewTransform'):
        PairedViewTransform([crop_only()] * 3)
    paired = PairedViewTransform([crop_only()] * 2, min_overlap_area=10)
    assert isinstance(paired, MultiViewTransform) and paired.overlap_anchors == 1
    assert len(paired(dict(img=ramp_image()))['views']) == 2
    with pytest.raises(KeyError, match='view pipeline 0 wrote no crop_box'):
        MultiViewTransform([[dict(type='Solarize')], crop_only()])(dict(img=ramp_image()))
    vflip = dict(type='RandomFlip', prob=1.0, direction='vertical')
    with pytest.raises(ValueError, match="flipped 'vertical'"):
        MultiViewTransform([crop_only(), crop_only() + [vflip]])(dict(img=ramp_image()))
    with pytest.raises(ValueError,
                       match=r'scale must satisfy 0 < min <= max <= 1, got \(0.5, 0.2\)'):
        RandomResizedCropWithBox(size=8, scale=(0.5, 0.2))


def test_photometric_ops():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert np.array_equal(ColorJitter(0.4, 0.4, 0.2, 0.1, prob=0.0)(dict(img=img))['img'], img)
    np.random.seed(3)
    bright = ColorJitter(brightness=0.5)(dict(img=img.copy()))['img']
    ratio = bright.astype(float).sum() / img.astype(float).sum()
    assert 0.5 <= ratio <= 1.5 and not np.array_equal(bright, img)
    assert np.abs(adjust_hue(img, 0.0).astype(int) - img).max() <= 1  # float HSV round trip
    shifted = adjust_hue(adjust_hue(img, 0.25), -0.25)
    assert np.abs(shifted.astype(int) - img).max() <= 2
    pure_blue = np.zeros((1, 1, 3), np.uint8)
    pure_blue[..., 0] = 255  # BGR blue, hue 240 deg; +1/3 turn -> 360 = red
    assert adjust_hue(pure_blue, 1 / 3).tolist() == [[[0, 0, 255]]]
    sol = Solarize(threshold=128, prob=1.0)(dict(img=img.copy()))['img']
    assert np.array_equal(sol, np.where(img >= 128, 255 - img, img))
    flat = np.full((16, 16, 3), 90, np.uint8)
    assert np.array_equal(GaussianBlur(prob=1.0)(dict(img=flat.copy()))['img'], flat)
    noisy = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    blurred = GaussianBlur(sigma_range=(1.5, 2.0), prob=1.0)(dict(img=noisy.copy()))['img']
    assert blurred.std() < noisy.std() / 2


def test_pack_and_preprocess():
    np.random.seed(4)
    t = MultiViewTransform([crop_only(size=8), crop_only(size=8)])
    samples = [PackViews()(t(dict(img=ramp_image(), img_path=f'{i}.jpg')))
               for i in range(3)]
    assert samples[0]['inputs'].shape == (2, 3, 8, 8) and samples[0]['inputs'].dtype == torch.uint8
    pre = ViewDataPreprocessor(mean=[1., 2., 3.], std=[2., 4., 8.], bgr_to_rgb=True)
    out = pre(dict(inputs=[s['inputs'] for s in samples],
                   data_samples=[s['data_samples'] for s in samples]))
    views, boxes, flips = out['inputs'], out['data_samples'].boxes, out['data_samples'].flips
    assert views.shape == (2, 3, 3, 8, 8) and boxes.shape == (2, 3, 4) and flips.shape == (2, 3)
    raw = samples[1]['inputs'][0].float()  # view 1 of image 1, BGR
    expected = (raw.flip(0) - torch.tensor([1., 2., 3.])[:, None, None]) / torch.tensor(
        [2., 4., 8.])[:, None, None]
    assert torch.allclose(views[0, 1], expected)
    assert torch.equal(boxes[1, 2], samples[2]['data_samples'].boxes[1])
    # every view_<name> key travels to the batch without code for it in between
    fallbacks = out['data_samples'].fallbacks
    assert fallbacks.shape == (2, 3) and fallbacks.dtype == torch.bool


def test_a_new_per_view_datum_reaches_the_model_untouched():
    np.random.seed(6)
    t = MultiViewTransform([crop_only(size=8), crop_only(size=8)])
    samples = []
    for i in range(2):
        results = t(dict(img=ramp_image(), img_path=f'{i}.jpg'))
        results['view_masks'] = np.full((2, 8, 8), i, np.uint8)  # what a DetCon transform adds
        samples.append(PackViews()(results))
    out = ViewDataPreprocessor()(dict(inputs=[s['inputs'] for s in samples],
                                      data_samples=[s['data_samples'] for s in samples]))
    masks = out['data_samples'].masks
    assert masks.shape == (2, 2, 8, 8) and masks[:, 1].eq(1).all() and masks[:, 0].eq(0).all()
    bad = t(dict(img=ramp_image(), img_path='x.jpg'))
    bad['view_depth'] = np.zeros((3, 8, 8))
    with pytest.raises(ValueError, match=r'view_depth must hold one entry per view .*\(3, 8, 8\)'):
        PackViews()(bad)


def test_preprocessor_passes_original_image_sizes_for_the_reference_distance():
    np.random.seed(5)
    t = MultiViewTransform([crop_only(size=8), crop_only(size=8)])
    shapes = [(120, 160), (90, 200)]
    samples = [PackViews()(t(dict(img=ramp_image(*s), img_path=f'{i}.jpg', ori_shape=s)))
               for i, s in enumerate(shapes)]
    out = ViewDataPreprocessor()(dict(inputs=[s['inputs'] for s in samples],
                                      data_samples=[s['data_samples'] for s in samples]))
    geometry = out['data_samples']
    assert geometry.image_sizes.tolist() == [[120., 160.], [90., 200.]]
    assert (geometry.boxes[..., 2] <= geometry.image_sizes[None, :, 1]).all()
