"""NeCo's patch neighbour consistency (Pariza et al., ICLR 2025, "Near, far: Patch-ordering
enhances vision foundation models' scene understanding"): the student must order reference
patches by similarity as the teacher does, through differentiable sorting."""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number
from ..utils.sorting import soft_sort
from .base import Objective


def cosine_similarities(cells: Tensor, references: Tensor) -> Tensor:
    """``(B, L, D)``, ``(B, R, D)`` -> ``(B, L, R)`` cosine similarities, float32 or wider."""
    dtype = torch.promote_types(cells.dtype, torch.float32)
    return torch.einsum('bld,brd->blr', F.normalize(cells.to(dtype), dim=-1),
                        F.normalize(references.to(dtype), dim=-1))


def similarity_permutations(cells: Tensor, references: Tensor, steepness: float) -> Tensor:
    """Soft permutations that sort each cell's cosine similarities to the references.

    Args:
        cells: ``(B, L, D)`` aligned patch embeddings.
        references: ``(B, R, D)`` reference patches of the same image.
        steepness: Comparator steepness of the sorting network.

    Returns:
        ``(B, L, R, R)`` doubly stochastic matrices (:func:`soft_sort`), in float32 or wider.
    """
    return soft_sort(cosine_similarities(cells, references), steepness)[1]


def _summed_cross_entropy(sim: Tensor, q: Tensor, steepness: float) -> Tensor:
    """``- sum Q log P`` with ``P`` the soft permutations of ``sim`` ``(..., R)``."""
    p = soft_sort(sim, steepness)[1]
    return -(q * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))).sum()


def neighbour_sorting_loss(student: Tensor, teacher: Tensor, references: Tensor,
                           student_steepness: float = 100.0,
                           teacher_steepness: float = 100.0,
                           recompute_rows: Optional[int] = None) -> Tensor:
    """NeCo's loss, mean over images and cells.

    With ``s_i``, ``t_i`` the student's and teacher's embeddings of cell ``i`` of a shared
    region and ``r_1 .. r_R`` the image's reference patches, ``P_i`` and ``Q_i`` are the soft
    permutation matrices that sort ``cos(s_i, r_j)`` and ``cos(t_i, r_j)`` over ``j``
    (bitonic network, Cauchy comparators) and

        ``l = - 1 / (B L R) sum_b sum_i sum_{k, j} Q_i[k, j] log P_i[k, j]``

    (each row ``k`` of a permutation is a distribution over the references: a cross-entropy
    per row, mean over rows, cells and images). ``Q`` carries no gradient. A permutation
    entry that underflows to 0 is read as the smallest positive float before the log (the
    official code takes the log unguarded; the values are equal wherever it is finite).

    Memory: the student's network keeps one ``(B L, R, R)`` tensor per layer for its
    backward pass (21 layers for R = 49: about 2.1 GiB at NeCo's batch 16, 8 GiB at 64).
    ``recompute_rows=K`` sums the loss over chunks of K cells, each recomputed in the backward
    pass (activation checkpointing), so one chunk's intermediates are alive at a time.

    Args:
        student: ``(B, L, D)`` student cell embeddings.
        teacher: ``(B, L, D)`` teacher cell embeddings of the same cells.
        references: ``(B, R, D)`` reference patches (NeCo: R = 49 from the teacher's queue).
        student_steepness: Steepness of the student's sorting network (100).
        teacher_steepness: Steepness of the teacher's (100).
        recompute_rows: Cells per recomputed chunk, or None to keep everything.
    """
    if student.shape != teacher.shape:
        raise ValueError(f'student cells {tuple(student.shape)} and teacher cells '
                         f'{tuple(teacher.shape)} differ')
    if references.shape[0] != student.shape[0] or references.shape[2] != student.shape[2]:
        raise ValueError(f'references {tuple(references.shape)} do not fit cells '
                         f'{tuple(student.shape)}: expected (B, R, D) with the same B and D')
    b, l, _ = student.shape
    r = references.shape[1]
    with torch.autocast(student.device.type, enabled=False):
        sim = cosine_similarities(student, references).reshape(b * l, r)
        with torch.no_grad():
            q = similarity_permutations(teacher.detach(), references, teacher_steepness)
            q = q.reshape(b * l, r, r)
        if recompute_rows is None or not sim.requires_grad:
            total = _summed_cross_entropy(sim, q, student_steepness)
        else:
            total = sum(checkpoint(_summed_cross_entropy, s, c, student_steepness,
                                   use_reentrant=False)
                        for s, c in zip(sim.split(recompute_rows), q.split(recompute_rows)))
        return total / (b * l * r)


@MODELS.register_module()
class NeighbourSortingLoss(Objective):
    """:func:`neighbour_sorting_loss` with its steepnesses and a weight.

    Args:
        student_steepness: Student's sorting steepness (NeCo: 100).
        teacher_steepness: Teacher's (NeCo: 100).
        loss_weight: Multiplier of the loss.
        recompute_rows: Recompute the student's sorting network in the backward pass in
            chunks of this many cells (:func:`neighbour_sorting_loss`), or None.
        name: Names the term ``loss_<name>`` (``'neco'``).
    """

    name = 'neco'

    def __init__(self, student_steepness: float = 100.0, teacher_steepness: float = 100.0,
                 loss_weight: float = 1.0, recompute_rows: Optional[int] = None,
                 name: Optional[str] = None) -> None:
        super().__init__(loss_weight, name)
        owner = 'NeighbourSortingLoss'
        self.student_steepness = check_number(owner, 'student_steepness', student_steepness,
                                              0, low_open=True)
        self.teacher_steepness = check_number(owner, 'teacher_steepness', teacher_steepness,
                                              0, low_open=True)
        self.recompute_rows = None if recompute_rows is None else check_number(
            owner, 'recompute_rows', recompute_rows, 1, integer=True)

    def compute(self, query: Tensor, key: Tensor, match: None = None,
                negatives: Optional[Tensor] = None) -> Tensor:
        """The student's ``(B, L, D)`` cells (``query``), the teacher's ``(B, L, D)``
        (``key``) and the ``(B, R, D)`` reference patches (``negatives``) -> scalar."""
        if negatives is None:
            raise ValueError('NeighbourSortingLoss needs the reference patches (negatives=...)')
        return neighbour_sorting_loss(query, key, negatives, self.student_steepness,
                                      self.teacher_steepness, self.recompute_rows)
