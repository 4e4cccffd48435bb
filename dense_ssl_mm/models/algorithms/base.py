"""The plain base of the dense algorithms: online encoder, dense output, forward modes."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views, view_groups
from dense_ssl_mm.utils.errors import BadInputError
from ..teachers import EMATeacher, Teacher


class DenseAlgorithm(BaseModel):
    """Online ``backbone -> neck``, its dense output, and the forward modes of a method.

    A method with a momentum target adds :class:`~.momentum.MomentumTarget` (see
    :class:`~.momentum.MomentumAlgorithm`); a method without one (VICRegL) derives from this
    class alone, and needs no :class:`MomentumEncoderHook`.

    Teachers: ``teachers=dict(name=dict(type=...), ...)`` adds any number of named
    teachers (:class:`EMATeacher`, :class:`FrozenTeacher`, :class:`SnapshotTeacher`) in
    ``self.teachers``; EMA and snapshot teachers copy the online ``backbone`` / ``neck``
    built here (a subclass with more online modules calls :meth:`build_teachers` itself once
    they exist). :meth:`teacher_hooks` says which hooks they need.

    Args:
        backbone: Backbone config (``ResNet``: mmdet's keys, no compiled ops; its weights
            load into mmdet/mmseg).
        neck: Projector config.
        data_preprocessor: Data preprocessor config.
        teachers: Named teacher configs, or None.
        init_cfg: Initialisation config.
    """

    #: The online submodules :meth:`extract_dense` runs (what dense evaluation must load).
    dense_modules: Tuple[str, ...] = ('backbone', 'neck')

    def __init__(self, backbone: dict, neck: Optional[dict],
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        if isinstance(data_preprocessor, dict):  # built here so no default scope is needed
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = nn.Identity() if neck is None else MODELS.build(neck)
        self.teachers = nn.ModuleDict()
        if teachers:
            self.build_teachers(teachers)

    def build_teachers(self, cfgs: Dict[str, dict]) -> None:
        """Build the named teachers ``cfgs`` into ``self.teachers`` and bind those that copy
        online modules (:class:`EMATeacher`, :class:`SnapshotTeacher`) to this model.

        Raises:
            ValueError: if a name is taken (``target`` is the built-in EMA teacher of the
                momentum methods) or a config does not build a :class:`Teacher`.
        """
        for name, cfg in cfgs.items():
            if name in self.teachers or name == 'target':
                raise BadInputError(f'{type(self).__name__}: teacher name {name!r} is taken '
                                    "(existing teachers and 'target', the built-in EMA teacher)")
            teacher = MODELS.build(cfg) if isinstance(cfg, dict) else cfg
            if not isinstance(teacher, Teacher):
                raise BadInputError(f'{type(self).__name__}: teacher {name!r} must build a '
                                    f'Teacher (EMATeacher, FrozenTeacher, SnapshotTeacher), got '
                                    f'{type(teacher).__name__}')
            if hasattr(teacher, 'bind'):
                teacher.bind(self)
            self.teachers[name] = teacher

    def teacher_hooks(self) -> Dict[str, str]:
        """``{teacher name: type name of the hook it needs}`` for the teachers that need one
        (the built-in EMA target of a momentum method is ``'target'``)."""
        hooks = {name: t.needs_hook() for name, t in self.teachers.items()}
        if hasattr(self, 'momentum_update'):
            hooks['target'] = 'MomentumEncoderHook'
        return {name: hook for name, hook in hooks.items() if hook is not None}

    def ema_teachers(self) -> List[nn.Module]:
        """What :class:`MomentumEncoderHook` updates: the built-in target (this model, if it
        has one) and every :class:`EMATeacher`; each has ``momentum_steps``,
        ``momentum_update(m)`` and ``restart_schedule()``."""
        out = [self] if hasattr(self, 'momentum_update') else []
        return out + [t for t in self.teachers.values() if isinstance(t, EMATeacher)]

    def init_weights(self) -> None:
        """Initialise the online modules; EMA teachers start as exact copies of them."""
        super().init_weights()
        for teacher in self.teachers.values():
            if isinstance(teacher, EMATeacher):
                teacher.sync()

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
    def dense_stride(self, size: int = 224) -> int:
        """Input pixels per cell of :meth:`extract_dense` (32 for a C5 projector, 4 for
        VADeR's decoder, 14 or 16 for a ViT), measured once on a ``size x size`` input (BN in
        eval mode; 224 = 7 x 32 = 14 x 16 is a multiple of every one of these)."""
        if getattr(self, '_dense_stride', None) is None:
            was_training = self.training
            self.eval()
            device = next(self.parameters()).device
            out = self.extract_dense(torch.zeros(1, 3, size, size, device=device))
            self.train(was_training)
            self._dense_stride = size // out.shape[-1]
        return self._dense_stride

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """Losses of a batch of views.

        Args:
            inputs: The normalised views, ``(V, N, 3, H, W)`` or one such stack per size
                group (:data:`~dense_ssl_mm.structures.Views`; :func:`split_views` gives
                them one by one).
            data_samples: Batched :class:`ViewData` (the views' geometry).
        """
        raise NotImplementedError

    def forward(self, inputs: Union[Views, Dict[str, Tensor]],
                data_samples: Optional[ViewData] = None, mode: str = 'tensor'):
        """``mode='loss'``: dict of losses from views; ``mode='tensor'``: backbone features
        of ``(N, 3, H, W)`` images (or of the first view of a batch of views).

        Besides the preprocessor's ``(views, ViewData)``, ``inputs`` may be a dict of
        tensors ``views``, ``boxes``, ``flips`` [, ``image_sizes``] (handy in notebooks).
        """
        if isinstance(inputs, dict):
            fields = {k: v for k, v in inputs.items() if k != 'views'}
            inputs, data_samples = inputs['views'], ViewData.from_tensors(**fields)
            data_samples.set_metainfo(dict(view_groups=view_groups(inputs)))
        if mode == 'loss':
            if not isinstance(data_samples, ViewData):
                raise TypeError(f'{type(self).__name__}.loss needs the views\' geometry as a '
                                f'batched ViewData, got {type(data_samples).__name__}')
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            if isinstance(inputs, Tensor) and inputs.dim() == 4:
                return self.extract_feat(inputs)
            return self.extract_feat(split_views(inputs)[0])
        raise RuntimeError(f"{type(self).__name__} supports mode 'loss' and 'tensor', "
                           f'got {mode!r}')
