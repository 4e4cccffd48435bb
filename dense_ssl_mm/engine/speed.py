"""Speed switches of a pretraining run, each one config setting under ``speed``.

=====================  ======================================================================
``speed.<key>=True``   what it does
=====================  ======================================================================
``channels_last``      model weights and the views in NHWC memory order (tensor cores like it)
``bf16``               mmengine's ``AmpOptimWrapper`` with ``dtype='bfloat16'`` (no loss
                       scaling); GPU only, as mmengine's wrapper is
``compile_backbone``   ``torch.compile`` of the online and target backbones' ``forward`` (the
                       modules and their checkpoint keys stay as they are)
``pin_memory``         page-locked dataloader batches and non-blocking host-to-device copies
``device_views``       CPU workers only decode (and bound the short side to 512 px); both
                       views are made in the data preprocessor on the device, with the
                       parameters of the config's own view pipelines
=====================  ======================================================================

:class:`PretrainRunner` applies them (:func:`apply_speed_config` before it builds anything,
:func:`apply_model_switches` to the built model); ``tools/benchmark_pretrain.py`` does the same.
"""
from typing import Any

import torch
import torch.nn as nn
from mmengine.config import Config

from dense_ssl_mm.datasets.transforms.multi_view import VIEW_TRANSFORMS
from dense_ssl_mm.utils.config_walk import find_by_type
from dense_ssl_mm.utils.errors import (BadInputError, BadInputKeyError, BadInputStateError,
                                       BadInputTypeError)

SWITCHES = ('channels_last', 'bf16', 'compile_backbone', 'pin_memory', 'device_views')
DEVICE_MAX_SHORT_SIDE = 512


def speed_settings(cfg: Config) -> dict:
    """``cfg.speed`` checked: only known keys, each a bool."""
    speed = dict(cfg.get('speed') or {})
    for key, value in speed.items():
        if key not in SWITCHES:
            raise BadInputKeyError(f'speed.{key} is not a speed switch; known: '
                                   f'{", ".join(SWITCHES)}')
        if not isinstance(value, bool):
            raise BadInputTypeError(f'speed.{key} must be True or False, got {value!r}')
    return speed


def apply_speed_config(cfg: Config) -> Config:
    """Translate ``bf16`` and ``pin_memory`` into the mmengine settings they stand for."""
    speed = speed_settings(cfg)
    if speed.get('bf16'):
        if not torch.cuda.is_available():
            raise BadInputStateError('speed.bf16 uses mmengine\'s AmpOptimWrapper, which needs a '
                                     'GPU; this machine has none (leave speed.bf16 unset on CPU)')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.dtype = 'bfloat16'
        cfg.optim_wrapper.pop('loss_scale', None)  # bf16 has fp32's range: nothing to scale
    if 'pin_memory' in speed:
        cfg.train_dataloader.pin_memory = speed['pin_memory']
        cfg.model.setdefault('data_preprocessor', {})['non_blocking'] = speed['pin_memory']
    if speed.get('device_views'):
        to_device_views(cfg)
    return cfg


def to_device_views(cfg: Config) -> Config:
    """Move the view making of ``cfg``'s train pipeline into its data preprocessor.

    ``[..., MultiViewTransform(view_pipelines), PackViews]`` becomes
    ``[..., PackImageForDeviceViews]`` and the preprocessor gets
    ``device_views=dict(view_pipelines=...)``: the same parameters, drawn on the device.

    Raises:
        ValueError: where the device path cannot reproduce the pipeline (transforms after
            the views other than the packing).
    """
    pipeline = list(cfg.train_dataloader.dataset.pipeline)
    kinds = [t['type'] for t in pipeline]
    found = find_by_type(pipeline, VIEW_TRANSFORMS)
    if len(found) != 1 or len(found[0][0]) != 1:
        raise BadInputError('speed.device_views needs one MultiViewTransform in '
                            f'train_dataloader.dataset.pipeline, found {kinds}')
    (at, ), paired = found[0]
    if kinds[at + 1:] != ['PackViews']:
        raise BadInputError(f'speed.device_views: after MultiViewTransform the pipeline must only '
                            f'pack (PackViews), found {kinds[at + 1:]}')
    for key in ('min_overlap_fraction', 'overlap_anchors'):
        if paired.get(key) not in (None, 1 if key == 'overlap_anchors' else None):
            raise BadInputError(f'speed.device_views: the device view maker draws overlap with the '
                                f'first view in pixels (min_overlap_area) only; MultiViewTransform '
                                f'has {key}={paired.get(key)!r}: keep the views on the CPU')
    cfg.train_dataloader.dataset.pipeline = pipeline[:at] + [
        dict(type='PackImageForDeviceViews', max_short_side=DEVICE_MAX_SHORT_SIDE)]
    cfg.model.setdefault('data_preprocessor', {})['device_views'] = dict(
        view_pipelines=[list(p) for p in paired.view_pipelines],
        min_overlap_area=paired.get('min_overlap_area'))
    return cfg


def apply_model_switches(model: nn.Module, channels_last: bool = False,
                         compile_backbone: bool = False, **_: Any) -> nn.Module:
    """Apply ``channels_last`` and ``compile_backbone`` to a built algorithm, in place."""
    if channels_last:
        for name, child in model.named_children():
            if name != 'data_preprocessor':  # its (1, 1, C, 1, 1) mean/std are not images
                child.to(memory_format=torch.channels_last)
        model.data_preprocessor.channels_last = True
    if compile_backbone:
        for name in ('backbone', 'target_backbone'):
            module = getattr(model, name, None)
            if module is not None:
                module.forward = torch.compile(module.forward)
    return model
