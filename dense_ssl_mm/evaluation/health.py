"""Is a pretraining run healthy? Monitors on held-out images, the checkpoint and the log, and
a one-line verdict.

Measured (each with a known range):

- ``pck1_gain``: correspondence PCK@1 of the run minus that of the same model at random
  initialisation, on **held-out** images (the ``correspondence`` protocol, same views);
- ``rankme_share``: RankMe of the held-out cell features over its maximum;
- ``spatial_share``: within-image share of the feature variance (0 = every cell the same);
- ``position_r2``: held-out R^2 of a linear read-out of a cell's position;
- ``target_lag``: ``||target - online|| / ||online||`` over the momentum pairs' weights of the
  checkpoint (a frozen target stays at its initial weights while the online net moves);
- ``loss_drop``: first minus last logged loss over the loss's spread, and
  ``target_momentum_min``: the smallest logged target momentum (1 throughout: the target
  never moves), from the run's ``scalars.json`` when one is found.

The verdict's thresholds (:data:`THRESHOLDS`) come from demo-scale runs with known faults
(healthy, frozen target, no geometry, learning rate far too high, random init; 3 seeds each;
docs/protocols/health.md), set between the groups they separate.
"""
import json
import math
import os.path as osp
from typing import Dict, List, Optional

import torch

from .monitors import feature_monitors

#: Decision thresholds: midpoints between the groups of the demo-scale evidence runs (docs/
#: protocols/health.md: PixPro R18, 150 iterations, 3 seeds each, 2 held-out photos x 20 view
#: pairs, C4): RankMe share 0.050 +- 0.004 (learning rate 40x) against >= 0.217 for every
#: other run and random init; target lag 0.567 (40x) against <= 0.131; position R^2 >= 0.588
#: (40x) against <= 0.464; PCK@1 gain >= 0.014 for healthy runs against 0 at random init.
#: No run collapsed spatially: that floor comes from constructed features (a global vector
#: copied to every cell gives 0).
THRESHOLDS = dict(rankme_share=0.135, spatial_share=0.2, target_lag=0.35, pck1_gain=0.007,
                  position_r2=0.53)


def target_lag(state: Dict[str, torch.Tensor]) -> Optional[float]:
    """``||target - online|| / ||online||`` over every ``target_<name>.*`` parameter of a
    checkpoint's state dict with its online twin (running statistics left out), or None."""
    num, den = 0.0, 0.0
    for key, target in state.items():
        if not key.startswith('target_') or not target.is_floating_point() or \
                'running_' in key:
            continue
        online = state.get(key[len('target_'):])
        if online is None or online.shape != target.shape:
            continue
        num += float((target.double() - online.double()).pow(2).sum())
        den += float(online.double().pow(2).sum())
    return math.sqrt(num / den) if den > 0 else None


def logged(scalars_json: str, key: str) -> List[float]:
    """The values of ``key`` in mmengine's ``scalars.json``, in order."""
    values: List[float] = []
    with open(scalars_json) as f:
        for line in f:
            record = json.loads(line)
            if key in record:
                values.append(float(record[key]))
    return values


def loss_drop(scalars_json: str, key: str = 'loss') -> Optional[float]:
    """(mean of the first tenth - mean of the last tenth) / (max - min) of the logged
    ``key`` in mmengine's ``scalars.json``."""
    values = logged(scalars_json, key)
    if len(values) < 2 or max(values) == min(values):
        return None
    head = sum(values[:max(1, len(values) // 10)]) / max(1, len(values) // 10)
    tail = sum(values[-max(1, len(values) // 10):]) / max(1, len(values) // 10)
    return (head - tail) / (max(values) - min(values))


def verdict(m: Dict[str, float], thresholds: Dict[str, float] = THRESHOLDS) -> str:
    """One line from the monitors: the first failure found, else ``healthy``."""
    problems = []
    if m.get('rankme_share') is not None and m['rankme_share'] < thresholds['rankme_share']:
        problems.append(f"collapsed (RankMe {m['rankme_share']:.3f} of its maximum)")
    elif m.get('spatial_share') is not None and \
            m['spatial_share'] < thresholds['spatial_share']:
        problems.append(f"spatially collapsed (within-image variance share "
                        f"{m['spatial_share']:.3f})")
    if m.get('target_momentum_min') is not None and m['target_momentum_min'] >= 1.0:
        problems.append('target frozen (the logged target momentum is 1 throughout)')
    elif m.get('target_lag') is not None and m['target_lag'] > thresholds['target_lag']:
        problems.append(f"target far behind the online net (distance {m['target_lag']:.2f} "
                        f"of the weights: learning rate too high, or momentum too close to 1)")
    if m.get('pck1_gain') is not None and m['pck1_gain'] < thresholds['pck1_gain']:
        problems.append(f"not learning spatial correspondence (PCK@1 {m['pck1_gain']:+.3f} "
                        f"over random init on held-out images)")
    if m.get('position_r2') is not None and m['position_r2'] > thresholds['position_r2']:
        problems.append(f"encodes position more than content (position read-out R^2 "
                        f"{m['position_r2']:.2f})")
    return 'healthy' if not problems else '; '.join(problems)


def health_metrics(ours: Dict[str, float], base: Dict[str, float], first: dict,
                   state: Optional[Dict[str, torch.Tensor]] = None,
                   scalars_json: Optional[str] = None) -> Dict[str, object]:
    """Monitors and verdict of a trained model from its correspondence metrics ``ours`` and
    first batch ``first`` (:func:`~.protocols.correspondence.evaluate_correspondence` on
    held-out images), those of the same config at random initialisation ``base`` on the
    same views, its checkpoint's ``state`` and its ``scalars.json``."""
    # the monitors see the first batch's views (random crops of the held-out images)
    monitors = feature_monitors(first['feats'].flatten(0, 1).float().cpu())
    m: Dict[str, object] = dict(
        pck1=ours['corr/pck@1'], pck1_random_init=base['corr/pck@1'],
        pck1_gain=ours['corr/pck@1'] - base['corr/pck@1'],
        rankme=monitors['rankme'], rankme_share=monitors['rankme'] / monitors['rankme_max'],
        spatial_share=monitors['spatial_share'], position_r2=monitors['position_r2'])
    if state is not None:
        m['target_lag'] = target_lag(state)
    if scalars_json and osp.isfile(scalars_json):
        m['loss_drop'] = loss_drop(scalars_json)
        momentum = logged(scalars_json, 'target_momentum')
        if momentum:
            m['target_momentum_min'] = min(momentum)
    m['verdict'] = verdict(m)
    return m
