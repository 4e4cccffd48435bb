"""Colour jitter and its luma, and antialiased resizing: hand-worked values on tiny images,
PIL / torchvision (the references of the CPU and device views) on a photo."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.functional as TF
from PIL import Image

from dense_ssl_mm.image_ops import color
from dense_ssl_mm.image_ops.resize import (crop_resize, resize_antialiased, resize_like_pil,
                                           supersample_bound)
from ..conftest import REPO

PHOTO = osp.join(REPO, 'configs', 'demo', 'images', 'chelsea.jpg')


def photo_bgr(size=96):
    return cv2.resize(cv2.imread(PHOTO), (size, size), interpolation=cv2.INTER_AREA)


def views(*pixels_rgb):
    """``(1, 3, 1, len)`` RGB float view of the given pixels."""
    return torch.tensor(pixels_rgb, dtype=torch.float32).t()[None, :, None, :]


def test_luma_is_itu_601_in_either_channel_order():
    red = views([255, 0, 0])
    assert color.luma(red, bgr=False).item() == pytest.approx(0.299 * 255)
    assert color.luma(red.flip(1)).item() == pytest.approx(0.299 * 255)  # BGR default
    assert color.LUMA_BGR == (0.114, 0.587, 0.299)
    # the numpy back end's grey (one OpenCV pass) is the same weighted sum
    img = np.random.RandomState(0).uniform(0, 255, (5, 7, 3)).astype(np.float32)
    by_hand = img.astype(np.float64) @ np.array(color.LUMA_BGR)
    assert np.abs(color._luma_image(img) - by_hand).max() < 1e-3


def test_jitter_ranges_are_torchvisions():
    flat = [v for pair in color.jitter_ranges((0.4, 0.4, 0.2, 0.1)) for v in pair]
    assert flat == pytest.approx([0.6, 1.4, 0.6, 1.4, 0.8, 1.2, -0.1, 0.1])
    flat = [v for pair in color.jitter_ranges((1.5, 0., 0.3)) for v in pair]
    assert flat == pytest.approx([0., 2.5, 1., 1., 0.7, 1.3])  # brightness never below 0


def test_blends_by_hand():
    x = views([0, 0, 0], [100, 100, 100])  # luma mean 50
    one_half = torch.tensor([0.5])
    assert color.adjust_contrast(x, one_half, bgr=False)[0, 0, 0].tolist() == [25., 75.]
    assert color.adjust_brightness(x, torch.tensor([3.]))[0, 0, 0].tolist() == [0., 255.]
    # saturation 0 of pure red: every channel its luma, 76.245
    grey = color.adjust_saturation(views([255, 0, 0]), torch.tensor([0.]), bgr=False)
    assert grey.flatten().tolist() == pytest.approx([76.245] * 3, abs=1e-4)
    # contrast blends with the *rounded* mean luma: mean 10.4 -> 10
    x = views([10.4, 10.4, 10.4], [10.4, 10.4, 10.4])
    assert color.adjust_contrast(x, torch.tensor([0.]), bgr=False).flatten().tolist() == \
        [10.] * 6
    # hue: a third of a turn takes red to green
    assert color.adjust_hue(views([255, 0, 0]), torch.tensor([1 / 3]), bgr=False).flatten() \
        .tolist() == pytest.approx([0., 255., 0.], abs=1e-3)
    assert color.adjust_hue_image(np.array([[[255, 0, 0]]], np.uint8), 1 / 3).tolist() == \
        [[[0, 0, 255]]]  # BGR: blue -> red


@pytest.mark.parametrize('op, reference, factor', [
    (color.BRIGHTNESS, TF.adjust_brightness, 1.3), (color.CONTRAST, TF.adjust_contrast, 0.6),
    (color.CONTRAST, TF.adjust_contrast, 1.4), (color.SATURATION, TF.adjust_saturation, 1.4),
    (color.SATURATION, TF.adjust_saturation, 0.3), (color.HUE, TF.adjust_hue, 0.13),
    (color.HUE, TF.adjust_hue, -0.4)])
def test_both_back_ends_match_torchvision_on_pil_images(op, reference, factor):
    """torchvision's functional ops on PIL images (PIL's ImageEnhance; PixPro's views) are the
    reference; PIL rounds to uint8 inside each op, hue in 8-bit HSV, so a level or a few."""
    bgr = photo_bgr()
    pil = np.asarray(reference(Image.fromarray(bgr[..., ::-1].copy()), factor))[..., ::-1]
    factors = [None] * 4
    factors[op] = factor
    ours = color.jitter_image(bgr, [op], factors)
    diff = np.abs(ours.astype(int) - pil)
    tol = 4 if op == color.HUE else 1
    assert diff.mean() < 0.5 and diff.max() <= tol, (diff.mean(), diff.max())
    x = torch.from_numpy(bgr.copy()).permute(2, 0, 1).float()[None]
    batched = color.ADJUST[op](x, torch.tensor([factor]))[0].permute(1, 2, 0).numpy()
    diff = np.abs(batched - pil)
    assert diff.mean() < 0.6 and diff.max() <= tol + 0.5, (diff.mean(), diff.max())


@pytest.mark.parametrize('op, reference, factor, tol', [
    (color.BRIGHTNESS, TF.adjust_brightness, 1.3, 1e-3),
    (color.SATURATION, TF.adjust_saturation, 1.4, 0.03),  # torchvision's red weight 0.2989
    (color.HUE, TF.adjust_hue, 0.13, 1e-3), (color.HUE, TF.adjust_hue, -0.4, 1e-3)])
def test_batched_ops_match_torchvisions_tensor_ops(op, reference, factor, tol):
    rgb = torch.from_numpy(photo_bgr()[..., ::-1].copy()).permute(2, 0, 1).float()[None]
    ours = color.ADJUST[op](rgb, torch.tensor([factor]), bgr=False)
    assert (ours - reference(rgb / 255, factor) * 255).abs().max() < tol


def test_batched_jitter_applies_each_views_own_order_and_factors():
    x = torch.from_numpy(photo_bgr(32).copy()).permute(2, 0, 1).float()[None].repeat(2, 1, 1, 1)
    order = torch.tensor([[0, 1, 2, 3], [1, 0, 2, 3]])
    factors = torch.tensor([[1.3, 1.3], [0.5, 0.5], [1.0, 1.0], [0.0, 0.0]])
    out = color.color_jitter(x, (0.4, 0.5, 0.0, 0.0), 1.0, None,
                             drawn=(torch.tensor([True, True]), order, factors))
    one = torch.ones(1)
    assert torch.allclose(out[0], color.adjust_contrast(
        color.adjust_brightness(x[:1], one * 1.3), one * 0.5)[0])
    assert torch.allclose(out[1], color.adjust_brightness(
        color.adjust_contrast(x[1:], one * 0.5), one * 1.3)[0])


def test_resize_by_hand_and_against_pil():
    # 2 x 2 -> 1 x 1: PIL's triangle filter widened to 2 px weighs the four pixels equally
    x = torch.tensor([[[[0., 4.], [8., 12.]]]])
    assert resize_antialiased(x, (1, 1)).item() == pytest.approx(6.0)
    # enlarging: antialiasing changes nothing, plain bilinear
    assert torch.allclose(resize_antialiased(x[0], (5, 3)),
                          F.interpolate(x, (5, 3), mode='bilinear', align_corners=False)[0])
    img = np.random.RandomState(0).randint(0, 256, (37, 23, 3)).astype(np.uint8)
    for size in ((10, 7), (20, 11), (16, 30)):  # PIL rounds its fixed-point weights
        pil = np.asarray(Image.fromarray(img).resize(size[::-1], Image.BILINEAR))
        assert np.abs(resize_like_pil(img, size).astype(int) - pil).max() <= 1
        pil_grey = np.asarray(Image.fromarray(img[..., 0]).resize(size[::-1], Image.BILINEAR))
        assert np.abs(resize_like_pil(img[..., 0], size).astype(int) - pil_grey).max() <= 1
    assert np.array_equal(resize_like_pil(img, (10, 7)),
                          np.asarray(Image.fromarray(img).resize((7, 10), Image.BILINEAR)))


def test_crop_resize_samples_pixel_centres_and_supersamples_when_shrinking():
    ramp = torch.arange(8.).repeat(6, 1)  # value = x
    images = torch.stack([ramp, ramp.t()[:6, :6].repeat(1, 2)[:, :8]])[None]  # (1, 2, 6, 8)
    sizes = torch.tensor([[6, 8]])
    out = crop_resize(images, sizes, torch.tensor([[2., 1., 6., 3.]]), (2, 4))
    assert out[0, 0].tolist() == [[2., 3., 4., 5.]] * 2  # x at the centres: 2.5 - 0.5 + j
    # a 2x shrink of x in [0, 8) -> 4 px: supersampled, each the mean of its footprint
    out = crop_resize(images, sizes, torch.tensor([[0., 0., 8., 6.]]), (3, 4))
    assert out[0, 0, 0].tolist() == pytest.approx([0.5, 2.5, 4.5, 6.5])
    assert supersample_bound((480, 640), (224, 224)) == 3  # ceil(640 / 224)
    assert supersample_bound((2000, 2000), (100, 100)) == 4  # capped
    assert supersample_bound((100, 100), (224, 224)) == 1
