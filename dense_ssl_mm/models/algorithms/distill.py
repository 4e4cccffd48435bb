"""Dense distillation: a student's map through an adapter, matched to a teacher's map."""
from typing import Dict, List, Optional, Sequence, Union

import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_choice
from .base import DenseAlgorithm

RESAMPLE = ('bilinear', 'nearest', 'bicubic')


def pick_map(out: Union[Tensor, Sequence[Tensor]], index: int) -> Tensor:
    """A module's ``(N, C, H, W)`` output, or entry ``index`` of its tuple of maps."""
    return out if isinstance(out, Tensor) else out[index]


@MODELS.register_module()
class Distill(DenseAlgorithm):
    """Student ``backbone -> adapter`` trained to match the dense map of a teacher.

    One step: every view goes through the teacher (any :class:`Teacher`, named by
    ``teacher``: a :class:`FrozenTeacher` of another architecture, a :class:`SnapshotTeacher`
    of the student's earlier self) and through the student; the student's map (backbone
    output ``student_index`` through the ``adapter``, e.g. a 1x1 convolution to the teacher's
    width) is resampled to the teacher's grid, and the head scores the two per view pair
    (``pairs='same_view'``: the teacher and the student of the same view, every cell matched
    to itself; other pairs match cells by the views' geometry).

    The product is the student backbone (:meth:`extract_dense`, what evaluation and export
    use); the adapter is dropped at export.

    Args:
        backbone: The student backbone config (any registered backbone).
        adapter: The adapter config (e.g. ``ConvMLPNeck(num_layers=1, norm_cfg=None)``), whose
            output width is the teacher's.
        teachers: Named teacher configs; ``teacher`` names the one that gives the target.
        head: :class:`DenseContrastHead` config (matcher + loss + view pairs).
        teacher: The name of the teacher in ``teachers``.
        teacher_index: Which of the teacher's output maps is the target (-1: the last).
        student_index: Which of the student backbone's maps the adapter reads (-1).
        resample: Interpolation of the student's map to the teacher's grid.
    """

    dense_modules = ('backbone', )

    def __init__(self, backbone: dict, adapter: dict, teachers: Dict[str, dict], head: dict,
                 teacher: str = 'teacher', teacher_index: int = -1, student_index: int = -1,
                 resample: str = 'bilinear', data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(backbone, adapter, data_preprocessor, init_cfg, teachers=teachers)
        if teacher not in self.teachers:
            raise BadInputError(f'Distill: teacher {teacher!r} is not among the teachers '
                                f'{sorted(self.teachers)}')
        self.teacher_name = teacher
        self.teacher_index, self.student_index = int(teacher_index), int(student_index)
        self.resample = check_choice('Distill', 'resample', resample, RESAMPLE)
        self.head = MODELS.build(head)

    @property
    def adapter(self):
        """The adapter (held as ``neck``: the online modules are ``backbone -> neck``)."""
        return self.neck

    def extract_dense(self, images: Tensor) -> Tensor:
        """The student backbone's map ``student_index``, ``(N, C, H / s, W / s)``."""
        return pick_map(self.backbone(images), self.student_index)

    def student_map(self, images: Tensor, size) -> Tensor:
        """``(N, C_t, h_t, w_t)``: the adapter's output on the student's map, resampled to
        the teacher's grid ``size``."""
        out = self.neck(pick_map(self.backbone(images), self.student_index))
        if tuple(out.shape[-2:]) != tuple(size):
            corners = None if self.resample == 'nearest' else False
            out = F.interpolate(out, size=tuple(size), mode=self.resample,
                                align_corners=corners)
        return out

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` V >= 1 views; ``data_samples`` their batched geometry."""
        views = split_views(inputs)
        teacher = self.teachers[self.teacher_name]
        targets = [pick_map(teacher(v), self.teacher_index) for v in views]
        students = [self.student_map(v, t.shape[-2:]) for v, t in zip(views, targets)]
        if students[0].shape[1] != targets[0].shape[1]:
            raise BadInputError(f'Distill: the adapter gives {students[0].shape[1]} channels but '
                                f'the teacher {self.teacher_name!r} {targets[0].shape[1]}; set the '
                                "adapter's out_channels to the teacher's width")
        return self.head.loss(students, targets, data_samples)
