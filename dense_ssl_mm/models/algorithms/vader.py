"""VADeR: view-agnostic dense representations (Pinheiro et al., NeurIPS 2020)."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData, Views, split_views
from dense_ssl_mm.utils.errors import BadInputError
from dense_ssl_mm.utils.validation import check_number
from ..losses import QueueInfoNCELoss
from ..matchers import gather_keys
from ..utils import FeatureQueue
from .momentum import MomentumAlgorithm
from .seeded_sampling import SeededSampling


@MODELS.register_module()
class VADeR(SeededSampling, MomentumAlgorithm):
    """Online encoder-decoder f and its momentum copy g give 128-d unit embeddings per pixel
    (stride 4); a pixel of view 1 and the point of view 2 showing the same image location are
    a positive pair; negatives are g-features of other images kept in a queue.

    Per step and direction, P pixels per image are drawn among those visible in both views
    (``DenseContrastHead`` with ``MatchedPixelPairs`` and ``QueueInfoNCELoss``); after the
    loss, the g-features of all sampled pairs (gathered over ranks) are enqueued.

    Args:
        backbone: Backbone config with all four stages out (``out_indices=(0, 1, 2, 3)``).
        neck: :class:`DenseFPNNeck` config.
        head: :class:`DenseContrastHead` config with a point-pair matcher and a queue loss.
        queue_size: Number of negatives kept (MoCo's 65536 by default; not published).
        sampling_seed: Seed of the pair sampling. The pixels drawn at a step depend only on
            (seed, step, rank) through a buffer-held step counter, not on the global RNG, so a
            resumed run draws exactly the pairs the uninterrupted run would have drawn.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, queue_size: int = 65536,
                 sampling_seed: int = 0, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None,
                 teachers: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, teachers=teachers)
        check_number('VADeR', 'queue_size', queue_size, 1, integer=True)
        self.head = MODELS.build(head)
        if not isinstance(self.head.loss_module, QueueInfoNCELoss):
            raise BadInputError(f'VADeR needs a DenseContrastHead with QueueInfoNCELoss (its '
                                f'negatives are a queue), got '
                                f'{type(self.head.loss_module).__name__}')
        self.queue = FeatureQueue(queue_size, neck.get('out_channels', 128))
        self.init_sampling(sampling_seed)
        self.build_targets()

    def loss(self, inputs: Views, data_samples: ViewData) -> Dict[str, Tensor]:
        """``inputs`` V views (two in the paper); ``data_samples`` their batched geometry."""
        views = split_views(inputs)
        online = [self.extract_dense(v) for v in views]  # V x [N, 128, H/4, W/4]
        with torch.no_grad():
            target = [self.target_neck(self.target_backbone(v)) for v in views]
        matches = self.head.match(online, target, data_samples,
                                  generator=self.sampling_generator(views[0].device))
        losses = self.head.loss(online, target, data_samples, negatives=self.queue.queue,
                                matches=matches)
        keys = torch.cat([gather_keys(target[b], m)  # [pairs * N * P, 128]
                          for (_, b), m in zip(matches.pairs, matches.matches)])
        valid = torch.cat([m.valid.reshape(-1) for m in matches.matches])
        self.queue.enqueue(F.normalize(keys, dim=1), valid)
        return losses
