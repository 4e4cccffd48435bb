"""NeCo: dense post-training of a pretrained ViT by patch neighbour consistency (Pariza et
al., ICLR 2025, "Near, far: Patch-ordering enhances vision foundation models' scene
understanding")."""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, view_groups
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_number
from ..utils.queue import ReferenceQueue
from ..utils.region_align import align_shared_regions
from .momentum import MomentumAlgorithm
from .seeded_sampling import SeededSampling


def neco_pairs(num_views: int, num_global: int) -> Tuple[Tuple[int, int], ...]:
    """The ``(global view g, other view v)`` pairs of the loss, ``v != g``, g-major: with
    2 global and 4 local views, 2 x 5 pairs."""
    return tuple((g, v) for g in range(num_global) for v in range(num_views) if v != g)


@MODELS.register_module()
class NeCo(SeededSampling, MomentumAlgorithm):
    """Student ``backbone -> neck`` (a ViT and a per-patch MLP head, output L2-normalised)
    and its EMA teacher ``target_backbone -> target_neck``.

    One step, with V views (``num_global`` global crops first, in the first size group, then
    the local crops; see ``configs/_base_/datasets/neco_views.py``):

    1. the student embeds every view, the teacher only the global ones;
    2. ``queue_per_image`` x N random teacher patch embeddings of each global view are pushed
       into that view's reference queue (:class:`ReferenceQueue`, before the loss, so the
       first step draws from the current batch);
    3. for every pair ``(g, v)``, ``v != g`` (:func:`neco_pairs`), the teacher's map of ``g``
       and the student's map of ``v`` are RoIAligned (``roi_size`` bins a side) over the
       region the two crops share (:func:`align_shared_regions`, from the views' boxes);
    4. every image of every pair gets ``num_references`` references drawn from queue ``g``,
       and :class:`NeighbourSortingLoss` compares the orderings of the aligned cells'
       similarities to them; the loss is the mean over pairs (the official average over the
       5 partners of each global view, then over the 2 global views).

    The teacher starts as an exact copy of the student (backbone and head) and has no drop
    path; the official code builds the teacher's head with its own random initialisation
    (and keeps drop path out of the teacher as here). Its EMA follows
    :class:`MomentumEncoderHook` (NeCo: 0.9995 -> 1, cosine per step).

    Every random draw of a step (the patches pushed, the references, the student's drop
    path) comes from the step's seeded generator (:class:`SeededSampling`), so a resumed
    run repeats the uninterrupted one exactly.

    The dense output (:meth:`extract_dense`, what evaluation and export use) is the backbone's
    last patch-token map: NeCo's product is the ViT, the head is discarded.

    Args:
        backbone: A :class:`ViT` config (``init_cfg`` a DINOv2 file).
        neck: The head, ``ConvMLPNeck(norm_cfg=None, act_cfg=GELU)`` D -> 2048 -> 2048 -> 256.
        loss: :class:`NeighbourSortingLoss` config.
        num_global: Global views (the teacher's views and the queues): 2.
        roi_size: RoIAlign bins per side (7).
        num_references: Reference patches per image and pair (None: ``roi_size ** 2``, 49).
        queue_size: Entries of each reference queue (8192).
        queue_per_image: Teacher patches pushed per image and global view per step (10).
        sampling_ratio: RoIAlign sample points per bin side (-1: adaptive, as NeCo).
        sampling_seed: Seed of the per-step draws.
    """

    dense_modules = ('backbone', )

    def __init__(self, backbone: dict, neck: dict,
                 loss: dict = dict(type='NeighbourSortingLoss'), num_global: int = 2,
                 roi_size: int = 7, num_references: Optional[int] = None,
                 queue_size: int = 8192, queue_per_image: int = 10, sampling_ratio: int = -1,
                 sampling_seed: int = 0, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        owner = 'NeCo'
        self.num_global = check_number(owner, 'num_global', num_global, 1, integer=True)
        self.roi_size = check_number(owner, 'roi_size', roi_size, 1, integer=True)
        self.num_references = roi_size ** 2 if num_references is None else check_number(
            owner, 'num_references', num_references, 1, integer=True)
        self.queue_per_image = check_number(owner, 'queue_per_image', queue_per_image, 1,
                                            integer=True)
        self.sampling_ratio = check_number(owner, 'sampling_ratio', sampling_ratio, -1,
                                           integer=True)
        self.loss_module = MODELS.build(loss)
        self.init_sampling(sampling_seed)
        convs = [m for m in self.neck.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        if not convs:
            raise BadInputError(f'NeCo: the neck {type(self.neck).__name__} has no convolution or '
                                'linear layer to read its output width from')
        width = getattr(convs[-1], 'out_channels', getattr(convs[-1], 'out_features', None))
        self.reference_queue = ReferenceQueue(num_global, queue_size, width)
        self.build_targets()

    def _pair_index(self, num_views: int, device: torch.device) -> Tuple[Tensor, Tensor]:
        """The global and the other view of every pair as index tensors on ``device``, made
        once per (views, device): a step copies nothing from the host."""
        key = (num_views, str(device))
        cache = self.__dict__.setdefault('_pair_cache', {})
        if key not in cache:
            pairs = torch.tensor(neco_pairs(num_views, self.num_global), device=device)
            cache[key] = tuple(pairs.unbind(1))
        return cache[key]

    def extract_dense(self, images: Tensor) -> Tensor:
        """The student ViT's last patch-token map ``(N, C, H / p, W / p)``."""
        return self.backbone(images)[-1]

    @staticmethod
    def embed(backbone: nn.Module, neck: nn.Module, images: Tensor) -> Tensor:
        """``(B, 3, H, W)`` -> L2-normalised per-patch embeddings ``(B, D, h, w)``."""
        return F.normalize(neck(backbone(images)), dim=1)

    @torch.no_grad()
    def push_references(self, teacher: Tensor,
                        generator: Optional[torch.Generator] = None) -> None:
        """Push ``queue_per_image`` x N random patches of each global view's teacher map.

        Args:
            teacher: ``(G, N, D, h, w)`` teacher embeddings of the global views.
            generator: Source of the random picks.
        """
        g, n, d = teacher.shape[:3]
        tokens = teacher.flatten(3).transpose(2, 3).reshape(g, -1, d)  # [G, N*h*w, D]
        count = min(n * self.queue_per_image, tokens.shape[1], self.reference_queue.size)
        pick = torch.rand(g, tokens.shape[1], device=tokens.device,
                          generator=generator).argsort(1)[:, :count]
        self.reference_queue.enqueue(tokens.gather(1, pick[..., None].expand(g, count, d)))

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs``: the global views (first size group) and the local ones; their boxes
        and flips in ``data_samples``."""
        generator = self.sampling_generator(data_samples.boxes.device)
        with self.global_rng_from(generator):
            return self._loss(inputs, data_samples, generator)

    def _loss(self, inputs: Views, data_samples: ViewData,
              generator: torch.Generator) -> Dict[str, Tensor]:
        groups = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        sizes = view_groups(inputs)
        boxes, flips = data_samples.boxes, data_samples.flips  # [V, N, 4], [V, N]
        num_views, n = boxes.shape[:2]
        g, k = self.num_global, self.roi_size
        if sizes[0] < g or sum(sizes) != num_views:
            raise BadInputError(f'NeCo needs its {g} global views first, in one size group; got '
                                f'view groups {sizes} for {num_views} views of geometry')
        if num_views <= g:
            raise BadInputError(f'NeCo needs views besides its {g} global ones, got {num_views}')
        global_boxes = boxes[:g].transpose(0, 1)  # [N, G, 4]
        student, start = [], 0  # per group [V_g, N, G, D, k, k]
        for group in groups:
            vg = group.shape[0]
            maps = self.embed(self.backbone, self.neck, group.flatten(0, 1))
            aligned = align_shared_regions(
                maps, boxes[start:start + vg].flatten(0, 1), flips[start:start + vg].flatten(),
                global_boxes.repeat(vg, 1, 1), k, self.sampling_ratio)
            student.append(aligned.unflatten(0, (vg, n)))
            start += vg
        student = torch.cat(student)  # [V, N, G, D, k, k]
        with torch.no_grad():
            teacher = self.embed(self.target_backbone, self.target_neck,
                                 groups[0][:g].flatten(0, 1))  # [G*N, D, h, w]
            self.push_references(teacher.unflatten(0, (g, n)), generator)
            teacher = align_shared_regions(
                teacher, boxes[:g].flatten(0, 1), flips[:g].flatten(),
                boxes.transpose(0, 1).repeat(g, 1, 1), k, self.sampling_ratio)
            teacher = teacher.unflatten(0, (g, n))  # [G, N, V, D, k, k]
        gi, vi = self._pair_index(num_views, boxes.device)  # [P], [P]
        d = teacher.shape[3]

        def cells(x: Tensor) -> Tensor:  # [P, N, D, k, k] -> [P * N, k * k, D]
            return x.flatten(3).transpose(2, 3).reshape(-1, k * k, d)

        references = self.reference_queue.sample(gi, n * self.num_references, generator)
        references = references.reshape(-1, self.num_references, d)  # [P * N, R, D]
        return self.loss_module(cells(student[vi, :, gi]), cells(teacher[gi, :, vi]),
                                negatives=references)
