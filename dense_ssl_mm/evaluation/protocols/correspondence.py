"""Label-free correspondence PCK (:mod:`..metrics.pck`) over fixed-seed view pairs of
unlabelled images."""
import dataclasses
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from tqdm import tqdm

from dense_ssl_mm.registry import PROTOCOLS
from ..features import BATCH_SIZE, extract_features
from ..metrics.pck import match_errors, nearest_cells, summarize
from ..views import make_view_batch, normalize
from .base import EvalRun, Protocol


@torch.no_grad()
def evaluate_correspondence(model: nn.Module, images: Sequence[Tensor], level: str,
                            view_size: int, seed: int = 0, batch_size: int = BATCH_SIZE,
                            progress: bool = False, **view_kwargs
                            ) -> Tuple[Dict[str, float], dict]:
    """Label-free correspondence PCK over ``images`` (two fixed-seed views each).

    Returns:
        metrics (``corr/pck@1``, ``corr/pck@2``, ``corr/mean_err``, chance levels) and the
        first batch's views, features and matches (for pictures).
    """
    device = next(model.parameters()).device
    errors, visibles, chances, first = [], [], [], None
    for start in tqdm(range(0, len(images), batch_size), desc='correspondence',
                      disable=not progress, leave=False):
        views, boxes, flips = make_view_batch(images[start:start + batch_size], view_size,
                                              seed, start=start, **view_kwargs)
        n = views.shape[1]
        feats = extract_features(model, normalize(views.flatten(0, 1).to(device), model),
                                 level)
        feats = feats.float().unflatten(0, (2, n))
        index = nearest_cells(feats[0], feats[1])
        error, visible, chance = match_errors(feats[0], feats[1], boxes.to(device),
                                              flips.to(device), index)
        errors.append(error.cpu())
        visibles.append(visible.cpu())
        chances.append(chance.cpu())
        if first is None:
            first = dict(views=views, feats=feats.cpu(), error=error.cpu(),
                         visible=visible.cpu(), index=index.cpu())
    return summarize(torch.cat(errors), torch.cat(visibles), torch.cat(chances)), first


@PROTOCOLS.register_module(name='correspondence')
@dataclasses.dataclass
class Correspondence(Protocol):
    """Correspondence PCK@1 / PCK@2 / mean error (in cells) of nearest-neighbour matches
    between two fixed-seed views of each unlabelled image, with their chance levels.

    Args:
        view_size: Side of the square views.
        num_images: The first images of the folder or list (None: all).
        pairs_per_image: View pairs drawn from each image (each with its own seed), for a
            steadier estimate on a small folder.
    """

    view_size: int = 224
    num_images: Optional[int] = 200
    pairs_per_image: int = 1

    needs = ('images', )

    def measure(self, ev: EvalRun, model: str = 'model') -> Tuple[Dict[str, float], dict]:
        """The PCK of ``ev``'s ``model`` (``'model'`` or ``'baseline'``) and its first batch;
        once per run for these options."""
        key = ('correspondence', model, self.level, self.view_size, self.seed,
               self.num_images, self.pairs_per_image)
        return ev.cache.get(key, lambda: evaluate_correspondence(
            ev.models[model], ev.images(self.num_images) * self.pairs_per_image, self.level,
            self.view_size, self.seed, ev.batch_size, ev.progress and model == 'model'))

    def run(self, ev: EvalRun) -> Dict[str, object]:
        metrics, _ = self.measure(ev)
        images = len(ev.image_paths(self.num_images))
        return dict(metrics, settings=self.settings(images=images,
                                                    pairs=images * self.pairs_per_image))
