"""Shared base of the dense algorithms: online encoder, momentum (target) copy, EMA update."""
import copy
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import PairedViewData


class MomentumAlgorithm(BaseModel):
    """Online ``backbone -> neck`` plus target copies updated only by EMA.

    The target modules are submodules (``target_backbone``, ``target_neck``, ...) so every
    checkpoint holds them, with ``requires_grad=False``. The number of EMA updates done so far
    is the buffer ``momentum_steps``, also checkpointed, so a resumed run continues its
    momentum schedule exactly (see :class:`MomentumEncoderHook`).

    EMA convention (the papers'): ``target = m * target + (1 - m) * online`` with ``m`` the
    *target momentum* (0.99 -> 1 for PixPro). Only parameters are averaged; BN buffers of the
    target follow its own forward passes, as in the reference code.

    Args:
        backbone: Backbone config (``ResNet``: mmdet's keys, no compiled ops; its weights
            load into mmdet/mmseg).
        neck: Projector config.
        data_preprocessor: Data preprocessor config.
        init_cfg: Initialisation config.
    """

    #: Names of the online submodules that have a target copy ``target_<name>``.
    momentum_modules: Tuple[str, ...] = ('backbone', 'neck')
    #: The online submodules :meth:`extract_dense` runs (what dense evaluation must load).
    dense_modules: Tuple[str, ...] = ('backbone', 'neck')

    def __init__(self, backbone: dict, neck: dict, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if isinstance(data_preprocessor, dict):  # built here so no default scope is needed
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.register_buffer('momentum_steps', torch.zeros((), dtype=torch.long))
        self._ema_params: Optional[Tuple[List[Tensor], List[Tensor]]] = None

    def build_targets(self, names: Optional[Tuple[str, ...]] = None) -> None:
        """Create ``target_<name>`` copies of ``names`` (default: :attr:`momentum_modules`;
        call at the end of init)."""
        for name in names or self.momentum_modules:
            target = copy.deepcopy(getattr(self, name))
            target.requires_grad_(False)
            setattr(self, f'target_{name}', target)

    def momentum_pairs(self) -> Iterator[Tuple[nn.Module, nn.Module]]:
        for name in self.momentum_modules:
            yield getattr(self, name), getattr(self, f'target_{name}')

    def _paired_params(self) -> Tuple[List[Tensor], List[Tensor]]:
        online, target = [], []
        for o, t in self.momentum_pairs():
            online += list(o.parameters())
            target += list(t.parameters())
        return online, target

    def init_weights(self) -> None:
        """Initialise the online modules, then make each target an exact copy."""
        super().init_weights()
        online, target = self._paired_params()
        with torch.no_grad():
            torch._foreach_copy_(target, online)

    @torch.no_grad()
    def momentum_update(self, target_momentum: float) -> None:
        """``target = m * target + (1 - m) * online`` for every parameter; count the step.

        Args:
            target_momentum: m, the weight kept on the target (1 leaves it unchanged).
        """
        if not 0.0 <= target_momentum <= 1.0:
            raise ValueError(f'target_momentum must lie in [0, 1], got {target_momentum}')
        if self._ema_params is None:  # the parameter lists are built once, not per step
            self._ema_params = self._paired_params()
        online, target = self._ema_params
        torch._foreach_mul_(target, target_momentum)
        torch._foreach_add_(target, online, alpha=1.0 - target_momentum)
        self.momentum_steps += 1

    def restart_schedule(self) -> None:
        """Set the step counters of schedules (the EMA step, and a subclass's own) to 0.

        Called by :class:`MomentumEncoderHook` when a run starts at iteration 0 with weights
        that carry a count (``load_from`` a pretraining checkpoint); not on resume.
        """
        self.momentum_steps.zero_()

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """Online backbone features of ``(N, 3, H, W)`` images."""
        return self.backbone(inputs)

    def extract_dense(self, images: Tensor) -> Tensor:
        """The method's dense output of the online branch: ``neck(backbone(images))``.

        PixPro/PixContrast: the projector's ``(N, 256, H/32, W/32)``; VADeR: the decoder's
        unit embeddings ``(N, 128, H/4, W/4)``.
        """
        return self.neck(self.backbone(images))

    @torch.no_grad()
    def dense_stride(self, size: int = 64) -> int:
        """Input pixels per cell of :meth:`extract_dense` (32 for a C5 projector, 4 for
        VADeR's decoder), measured once on a ``size x size`` input (BN in eval mode)."""
        if getattr(self, '_dense_stride', None) is None:
            was_training = self.training
            self.eval()
            device = next(self.parameters()).device
            out = self.extract_dense(torch.zeros(1, 3, size, size, device=device))
            self.train(was_training)
            self._dense_stride = size // out.shape[-1]
        return self._dense_stride

    def loss(self, inputs: Tensor, data_samples: PairedViewData) -> Dict[str, Tensor]:
        """Losses of a batch of paired views.

        Args:
            inputs: ``(2, N, 3, H, W)`` normalised views.
            data_samples: Batched :class:`PairedViewData` (the views' geometry).
        """
        raise NotImplementedError

    def forward(self, inputs: Union[Tensor, Dict[str, Tensor]],
                data_samples: Optional[PairedViewData] = None, mode: str = 'tensor'):
        """``mode='loss'``: dict of losses from paired views; ``mode='tensor'``: backbone
        features of ``(N, 3, H, W)`` images (or of the first view of paired views).

        Besides the preprocessor's ``(views, PairedViewData)``, ``inputs`` may be a dict of
        tensors ``views``, ``boxes``, ``flips`` [, ``image_sizes``] (handy in notebooks).
        """
        if isinstance(inputs, dict):
            fields = {k: v for k, v in inputs.items() if k != 'views'}
            inputs, data_samples = inputs['views'], PairedViewData.from_tensors(**fields)
        if mode == 'loss':
            if not isinstance(data_samples, PairedViewData):
                raise TypeError(f'{type(self).__name__}.loss needs the views\' geometry as a '
                                f'batched PairedViewData, got {type(data_samples).__name__}')
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs[0] if inputs.dim() == 5 else inputs)
        raise RuntimeError(f"{type(self).__name__} supports mode 'loss' and 'tensor', "
                           f'got {mode!r}')
