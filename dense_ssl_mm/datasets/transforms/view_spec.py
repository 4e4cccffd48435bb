"""One description of a view's augmentation, read off the CPU transforms themselves.

A view pipeline config (a list of transform dicts) is built once into its CPU transforms;
:meth:`ViewSpec.from_pipeline` reads their validated attributes (no setting is re-read from
the config by name, no default is repeated), and the device view maker
(``models/data_preprocessors/device_views.py``) and the evaluation's view pairs
(``evaluation/views.py``) take the spec. A setting renamed or re-defaulted in a transform
therefore changes every path at once.
"""
from dataclasses import dataclass
from typing import Sequence, Tuple, Union

from mmcv.transforms import RandomFlip, RandomGrayscale

from dense_ssl_mm.registry import TRANSFORMS
from dense_ssl_mm.utils.errors import BadInputError
from .crop import RandomResizedCropWithBox
from .photometric import ColorJitter, GaussianBlur, Solarize


@dataclass(frozen=True)
class CropSpec:
    """:class:`RandomResizedCropWithBox`: output ``size`` (h, w), area ``scale``, aspect
    ``ratio`` (log-uniform), ``max_attempts`` before the fallback (a central crop with the
    ratio clamped into range, or the first view's box for an overlap-constrained view),
    antialiased bilinear resize when ``antialias``."""
    size: Tuple[int, int]
    scale: Tuple[float, float]
    ratio: Tuple[float, float]
    max_attempts: int
    antialias: bool


@dataclass(frozen=True)
class JitterSpec:
    """:class:`ColorJitter`: strengths (brightness, contrast, saturation, hue), applied in a
    random order per view, with probability ``prob``."""
    strengths: Tuple[float, float, float, float]
    prob: float


@dataclass(frozen=True)
class GrayscaleSpec:
    """mmcv's ``RandomGrayscale``: ``weights`` (normalised, in the image's channel order)."""
    weights: Tuple[float, float, float]
    prob: float


@dataclass(frozen=True)
class BlurSpec:
    """:class:`GaussianBlur`: ``sigma ~ U(sigma_range)``, kernel cut at cv2's size rule."""
    sigma_range: Tuple[float, float]
    prob: float


@dataclass(frozen=True)
class SolarizeSpec:
    """:class:`Solarize`: pixels ``>= threshold`` inverted."""
    threshold: float
    prob: float


PhotometricSpec = Union[JitterSpec, GrayscaleSpec, BlurSpec, SolarizeSpec]


@dataclass(frozen=True)
class ViewSpec:
    """A view: the crop, the horizontal-flip probability, the photometric ops in order."""
    crop: CropSpec
    flip: float
    ops: Tuple[PhotometricSpec, ...]

    @classmethod
    def from_pipeline(cls, pipeline: Sequence[Union[dict, object]]) -> 'ViewSpec':
        """The spec of one view pipeline (transform configs or built transforms).

        Raises:
            ValueError: a transform no spec describes (a path that reproduces views from
                specs cannot make it), a vertical flip, a grayscale that drops channels, or
                not exactly one crop.
        """
        crop, flip, ops = None, 0.0, []
        for cfg in pipeline:
            t = TRANSFORMS.build(cfg) if isinstance(cfg, dict) else cfg
            if isinstance(t, RandomResizedCropWithBox):
                if crop is not None:
                    raise BadInputError('a view pipeline has one RandomResizedCropWithBox, got two')
                if t.interpolation != 'bilinear':
                    raise BadInputError(f'view specs describe bilinear resizing, the crop uses '
                                        f'{t.interpolation!r}')
                crop = CropSpec(tuple(t.size), tuple(t.scale), tuple(t.ratio), t.max_attempts,
                                t.antialias)
            elif isinstance(t, RandomFlip):
                if t.direction != 'horizontal':
                    raise BadInputError(f'view specs flip horizontally only, got {t.direction!r}')
                flip = float(t.prob or 0.0)  # mmcv's default prob None never flips
            elif isinstance(t, ColorJitter):
                ops.append(JitterSpec((t.brightness, t.contrast, t.saturation, t.hue), t.prob))
            elif isinstance(t, RandomGrayscale):
                if not t.keep_channels:
                    raise BadInputError('view specs keep three channels: RandomGrayscale needs '
                                        'keep_channels=True')
                total = float(sum(t.channel_weights))
                ops.append(GrayscaleSpec(tuple(w / total for w in t.channel_weights), t.prob))
            elif isinstance(t, GaussianBlur):
                ops.append(BlurSpec(tuple(t.sigma_range), t.prob))
            elif isinstance(t, Solarize):
                ops.append(SolarizeSpec(float(t.threshold), t.prob))
            else:
                raise BadInputError(f'no view spec describes {type(t).__name__}: the views '
                                    'made from specs (on the device, for evaluation) reproduce '
                                    'RandomResizedCropWithBox, RandomFlip, ColorJitter, '
                                    'RandomGrayscale, GaussianBlur and Solarize')
        if crop is None:
            raise BadInputError('a view pipeline needs a RandomResizedCropWithBox')
        return cls(crop, flip, tuple(ops))
