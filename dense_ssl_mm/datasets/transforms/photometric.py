"""Photometric transforms that mmcv has as functions but not as transforms.

All work on uint8 images in mmcv's BGR channel order and leave the geometry untouched.
Required keys: ``img``. Modified keys: ``img``.
"""
from typing import Tuple

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.utils.validation import check_number, check_range


def adjust_hue(img: np.ndarray, factor: float) -> np.ndarray:
    """Rotate the hue of a BGR uint8 image by ``factor`` turns (``-0.5 <= factor <= 0.5``).

    Computed in float HSV (as torchvision does), so a zero shift returns the image unchanged.
    (``mmcv.adjust_hue`` overflows on negative factors under numpy 2.)
    """
    hsv = cv2.cvtColor(img.astype(np.float32) / 255, cv2.COLOR_BGR2HSV)  # hue in degrees
    hsv[..., 0] = np.mod(hsv[..., 0] + factor * 360.0, 360.0)
    out = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR) * 255
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _check_prob(owner: str, prob: float) -> float:
    return check_number(owner, 'prob', prob, 0, 1)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    Factors are drawn as torchvision draws them: brightness, contrast and saturation from
    ``U(max(0, 1 - v), 1 + v)``, hue from ``U(-v, v)`` (``v <= 0.5``). A zero strength skips
    that adjustment.

    Args:
        brightness, contrast, saturation, hue: Jitter strengths.
        prob: Probability of applying the jitter at all.
    """

    def __init__(self, brightness: float = 0., contrast: float = 0., saturation: float = 0.,
                 hue: float = 0., prob: float = 1.0) -> None:
        for name, value in dict(brightness=brightness, contrast=contrast,
                                saturation=saturation).items():
            check_number('ColorJitter', name, value, 0)
        check_number('ColorJitter', 'hue', hue, 0, 0.5)
        self.brightness, self.contrast = brightness, contrast
        self.saturation, self.hue = saturation, hue
        self.prob = _check_prob('ColorJitter', prob)

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        img = results['img']
        for op in np.random.permutation(4):
            if op == 0 and self.brightness > 0:
                f = np.random.uniform(max(0., 1 - self.brightness), 1 + self.brightness)
                img = mmcv.adjust_brightness(img, f)
            elif op == 1 and self.contrast > 0:
                f = np.random.uniform(max(0., 1 - self.contrast), 1 + self.contrast)
                img = mmcv.adjust_contrast(img, f)
            elif op == 2 and self.saturation > 0:
                f = np.random.uniform(max(0., 1 - self.saturation), 1 + self.saturation)
                img = mmcv.adjust_color(img, f)
            elif op == 3 and self.hue > 0:
                img = adjust_hue(img, np.random.uniform(-self.hue, self.hue))
        results['img'] = img
        return results


@TRANSFORMS.register_module()
class GaussianBlur(BaseTransform):
    """Gaussian blur with ``sigma ~ U(sigma_range)``; kernel size from sigma (cv2's rule).

    Args:
        sigma_range: (min, max) standard deviation in pixels.
        prob: Probability of blurring.
    """

    def __init__(self, sigma_range: Tuple[float, float] = (0.1, 2.0), prob: float = 1.0) -> None:
        self.sigma_range = check_range('GaussianBlur', 'sigma_range', sigma_range, 0,
                                       low_open=True)
        self.prob = _check_prob('GaussianBlur', prob)

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            sigma = np.random.uniform(*self.sigma_range)
            results['img'] = cv2.GaussianBlur(results['img'], (0, 0), sigmaX=sigma, sigmaY=sigma)
        return results


@TRANSFORMS.register_module()
class Solarize(BaseTransform):
    """Invert every pixel value >= ``threshold``, with probability ``prob``."""

    def __init__(self, threshold: float = 128, prob: float = 1.0) -> None:
        self.threshold = check_number('Solarize', 'threshold', threshold, 0, 256)
        self.prob = _check_prob('Solarize', prob)

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            results['img'] = mmcv.solarize(results['img'], thr=self.threshold)
        return results


__all__ = ['ColorJitter', 'GaussianBlur', 'Solarize', 'adjust_hue']
