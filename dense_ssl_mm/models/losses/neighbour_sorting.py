"""NeCo's patch neighbour consistency (Pariza et al., ICLR 2025, "Near, far: Patch-ordering
enhances vision foundation models' scene understanding"): the student must order reference
patches by similarity as the teacher does, through differentiable sorting."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.utils.validation import check_number
from ..utils.sorting import soft_sort


def similarity_permutations(cells: Tensor, references: Tensor, steepness: float,
                            recompute: bool = False) -> Tensor:
    """Soft permutations that sort each cell's cosine similarities to the references.

    Args:
        cells: ``(B, L, D)`` aligned patch embeddings.
        references: ``(B, R, D)`` reference patches of the same image.
        steepness: Comparator steepness of the sorting network.
        recompute: Keep only the similarities for the backward pass and run the network
            again there (activation checkpointing): the network's ~2 log2(R)^2 / 2 layers
            of ``(B L, R, R)`` intermediates are not held, for one more forward pass.

    Returns:
        ``(B, L, R, R)`` doubly stochastic matrices (:func:`soft_sort`), in float32 or wider.
    """
    dtype = torch.promote_types(cells.dtype, torch.float32)
    sim = torch.einsum('bld,brd->blr', F.normalize(cells.to(dtype), dim=-1),
                       F.normalize(references.to(dtype), dim=-1))
    if recompute and sim.requires_grad:
        return checkpoint(lambda x: soft_sort(x, steepness)[1], sim, use_reentrant=False)
    return soft_sort(sim, steepness)[1]


def neighbour_sorting_loss(student: Tensor, teacher: Tensor, references: Tensor,
                           student_steepness: float = 100.0,
                           teacher_steepness: float = 100.0,
                           recompute: bool = False) -> Tensor:
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

    Args:
        student: ``(B, L, D)`` student cell embeddings.
        teacher: ``(B, L, D)`` teacher cell embeddings of the same cells.
        references: ``(B, R, D)`` reference patches (NeCo: R = 49 from the teacher's queue).
        student_steepness: Steepness of the student's sorting network (100).
        teacher_steepness: Steepness of the teacher's (100).
        recompute: Recompute the student's sorting network in the backward pass instead of
            storing it (same values and gradients, much less memory).
    """
    if student.shape != teacher.shape:
        raise ValueError(f'student cells {tuple(student.shape)} and teacher cells '
                         f'{tuple(teacher.shape)} differ')
    if references.shape[0] != student.shape[0] or references.shape[2] != student.shape[2]:
        raise ValueError(f'references {tuple(references.shape)} do not fit cells '
                         f'{tuple(student.shape)}: expected (B, R, D) with the same B and D')
    with torch.autocast(student.device.type, enabled=False):
        p = similarity_permutations(student, references, student_steepness, recompute)
        with torch.no_grad():
            q = similarity_permutations(teacher.detach(), references, teacher_steepness)
        log_p = torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))
        return -(q * log_p).sum(-1).mean()


@MODELS.register_module()
class NeighbourSortingLoss(nn.Module):
    """:func:`neighbour_sorting_loss` with its steepnesses and a weight.

    Args:
        student_steepness: Student's sorting steepness (NeCo: 100).
        teacher_steepness: Teacher's (NeCo: 100).
        loss_weight: Multiplier of the loss.
        recompute: Activation checkpointing of the student's sorting network: same values
            and gradients; measured on ViT-S/14 at batch 4 (CPU): 0.64 GiB less peak memory
            (about 10 GiB at batch 64, as it scales with the batch), 10 % longer steps.
    """

    def __init__(self, student_steepness: float = 100.0, teacher_steepness: float = 100.0,
                 loss_weight: float = 1.0, recompute: bool = False) -> None:
        super().__init__()
        owner = 'NeighbourSortingLoss'
        self.student_steepness = check_number(owner, 'student_steepness', student_steepness,
                                              0, low_open=True)
        self.teacher_steepness = check_number(owner, 'teacher_steepness', teacher_steepness,
                                              0, low_open=True)
        self.loss_weight = check_number(owner, 'loss_weight', loss_weight, 0)
        self.recompute = bool(recompute)

    def forward(self, student: Tensor, teacher: Tensor, references: Tensor) -> Tensor:
        """``(B, L, D)``, ``(B, L, D)``, ``(B, R, D)`` -> scalar."""
        return self.loss_weight * neighbour_sorting_loss(
            student, teacher, references, self.student_steepness, self.teacher_steepness,
            self.recompute)
