"""The CPU pipeline's grayscale and crop resize match PIL (the reference pipeline's library)
on real photos."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from dense_ssl_mm.image_ops.resize import resize_like_pil
from dense_ssl_mm.registry import TRANSFORMS
from ..conftest import DEMO_IMAGES, REPO

PHOTOS = sorted(glob.glob(osp.join(DEMO_IMAGES, '*.jpg')))


def high_frequency_share(img: np.ndarray) -> float:
    """Share of the spectral energy above half the Nyquist frequency."""
    grey = img.astype(np.float64).mean(-1)
    power = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean()))) ** 2
    h, w = grey.shape
    yy, xx = np.mgrid[-(h // 2):h - h // 2, -(w // 2):w - w // 2]
    radius = np.sqrt((yy / (h / 2)) ** 2 + (xx / (w / 2)) ** 2)
    return power[radius > 0.5].sum() / power.sum()


@pytest.mark.parametrize('config', ['configs/pixpro_r50_coco.py',
                                    'configs/demo/vader_r18_fpn_demo.py'])
def test_config_grayscale_is_pil_luma(config):
    cfg = Config.fromfile(osp.join(REPO, config))
    step = [t for t in cfg.train_dataloader.dataset.pipeline[1].view_pipelines[0]
            if t['type'] == 'RandomGrayscale'][0]
    grey = TRANSFORMS.build(dict(step, prob=1.0))
    diffs = []
    for path in PHOTOS:
        bgr = cv2.imread(path)  # the pipeline's images are BGR (LoadImageFromFile)
        ours = grey(dict(img=bgr.copy()))['img']
        pil = np.asarray(Image.fromarray(bgr[..., ::-1].copy()).convert('L'))
        assert ours.shape == bgr.shape and (ours[..., 0] == ours[..., 2]).all()
        diffs.append(np.abs(ours[..., 0].astype(int) - pil))
    # mmcv truncates where PIL rounds: at most one grey level apart
    assert max(d.max() for d in diffs) <= 1 and np.mean([d.mean() for d in diffs]) < 0.6
    red = np.zeros((1, 1, 3), np.uint8)
    red[..., 2] = 255  # pure red in BGR: luma 76 (a plain mean would give 85)
    assert grey(dict(img=red))['img'][0, 0, 0] == 76


@pytest.mark.parametrize('scale', [0.47, 1.0, 1.6])  # shrink, same size, enlarge
def test_crop_resize_equals_pil_bilinear(scale):
    for path in PHOTOS:
        rgb = cv2.imread(path)[..., ::-1].copy()
        size = (max(8, int(rgb.shape[0] * scale)), max(8, int(rgb.shape[1] * scale * 0.9)))
        ours = resize_like_pil(rgb, size)
        pil = np.asarray(Image.fromarray(rgb).resize(size[::-1], Image.BILINEAR))
        assert np.abs(ours.astype(int) - pil).max() <= 1, path
        if scale < 1:  # antialiased: no more fine detail than PIL's (OpenCV's has more)
            cv_linear = cv2.resize(rgb, size[::-1], interpolation=cv2.INTER_LINEAR)
            assert high_frequency_share(ours) == pytest.approx(high_frequency_share(pil),
                                                               rel=0.01)
            assert high_frequency_share(cv_linear) > 1.05 * high_frequency_share(pil)


def test_crop_transform_uses_the_pil_filter():
    rgb = cv2.imread(PHOTOS[0])
    crop = TRANSFORMS.build(dict(type='RandomResizedCropWithBox', size=64, scale=(0.5, 0.5)))
    np.random.seed(0)
    out = crop(dict(img=rgb))
    x1, y1, x2, y2 = (int(v) for v in out['crop_box'])
    pil = np.asarray(Image.fromarray(rgb[y1:y2, x1:x2]).resize((64, 64), Image.BILINEAR))
    assert np.abs(out['img'].astype(int) - pil).max() <= 1


def test_antialias_can_be_switched_off_for_speed():
    rgb = cv2.imread(PHOTOS[0])
    fast = TRANSFORMS.build(dict(type='RandomResizedCropWithBox', size=64, scale=(0.5, 0.5),
                                 antialias=False))
    np.random.seed(0)
    out = fast(dict(img=rgb))
    x1, y1, x2, y2 = (int(v) for v in out['crop_box'])
    cv_linear = cv2.resize(rgb[y1:y2, x1:x2], (64, 64), interpolation=cv2.INTER_LINEAR)
    assert (out['img'] == cv_linear).all()
