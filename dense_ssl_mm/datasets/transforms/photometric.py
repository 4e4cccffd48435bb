"""Photometric transforms that mmcv has as functions but not as transforms.

All work on uint8 images in mmcv's BGR channel order and leave the geometry untouched.
Required keys: ``img``. Modified keys: ``img``.
"""
from typing import Tuple

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from dense_ssl_mm.image_ops.color import jitter_image, jitter_ranges
from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.utils.validation import check_number, check_range


def _check_prob(owner: str, prob: float) -> float:
    return check_number(owner, 'prob', prob, 0, 1)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Random brightness, contrast, saturation and hue, applied in a random order.

    Factors are drawn as torchvision draws them: brightness, contrast and saturation from
    ``U(max(0, 1 - v), 1 + v)``, hue from ``U(-v, v)`` (``v <= 0.5``). A zero strength skips
    that adjustment. The ops: :mod:`dense_ssl_mm.image_ops.color` (PIL's, ITU-R 601 luma).

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
        order = np.random.permutation(4)
        factors = [None] * 4
        strengths = (self.brightness, self.contrast, self.saturation, self.hue)
        ranges = jitter_ranges(strengths)
        for op in order:  # drawn in the order applied, as torchvision draws them
            if strengths[op] > 0:
                factors[op] = np.random.uniform(*ranges[op])
        results['img'] = jitter_image(results['img'], order, factors)
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


__all__ = ['ColorJitter', 'GaussianBlur', 'Solarize']
