"""Is a pretraining run healthy? The monitors and verdict of :mod:`..health` as a protocol."""
import dataclasses
from typing import Dict

from dense_ssl_mm.registry import PROTOCOLS
from ..health import THRESHOLDS, health_metrics
from .base import EvalRun
from .correspondence import Correspondence


@PROTOCOLS.register_module(name='health')
@dataclasses.dataclass
class Health(Correspondence):
    """Monitors (PCK@1 gain over random init, RankMe share, spatial share, position R^2,
    target lag, loss drop) and a one-line verdict on **held-out** images; the view options
    are those of :class:`Correspondence` (its PCK of the model is shared when both run)."""

    needs = ('images', 'baseline')

    def run(self, ev: EvalRun) -> Dict[str, object]:
        ours, first = self.measure(ev, 'model')
        base, _ = self.measure(ev, 'baseline')
        images = len(ev.image_paths(self.num_images))
        out = health_metrics(ours, base, first, ev.state, ev.scalars_json)
        out['settings'] = self.settings(images=images, pairs=images * self.pairs_per_image,
                                        thresholds=THRESHOLDS)
        return out
