"""VICRegL: the global criterion and the local invariance equal lightly's ``VICRegLLoss``
(test-only reference); the full local criterion equals a float64 loop over the official
code's reading; location matches of known boxes by hand; the model trains without a target.

Where lightly deviates from the official code (facebookresearch/VICRegL, read for facts):
lightly keeps the matched cells sorted by distance, the official code in cell order. The
local variance and covariance are statistics per match slot over the images, so the order
changes them; the invariance (a mean over all matches) does not. We follow the official
order, so lightly is the reference for the global criterion and the local invariance, and
the loop below for the rest. lightly also cuts feature matching to 20 / 4 (official: all
cells) — configurable here (``FeatureNearest(num_matches=...)``), the official default kept.
"""
import itertools

import pytest
import torch
from lightly.loss.vicregl_loss import VICRegLLoss  # test-only reference (lightly 1.6.0)

from dense_ssl_mm.engine.optimizers import LARS
from dense_ssl_mm.models.heads.dense_contrast_head import resolve_pairs
from dense_ssl_mm.models.losses import VICRegGlobalLoss
from dense_ssl_mm.models.matchers import LocationNearest, MatchContext
from dense_ssl_mm.geometry.correspondence import cell_centers
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData
from ..helpers import tiny_vicregl_cfg

GROUPS = (2, 2)  # 2 global views with 4 x 4 maps, 2 local views with 2 x 2 maps
SIZES = [(4, 4), (4, 4), (2, 2), (2, 2)]


def random_views(n=5, channels=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    maps = [torch.randn(n, channels, *s, generator=gen, dtype=torch.float64) for s in SIZES]
    xy = torch.rand(4, n, 2, generator=gen) * 60
    wh = torch.rand(4, n, 2, generator=gen) * 60 + torch.tensor([[[40.]], [[40.]], [[10.]],
                                                                 [[10.]]])
    flips = torch.rand(4, n, generator=gen) > 0.5
    geometry = ViewData.from_tensors(torch.cat([xy, xy + wh], -1).double(), flips)
    geometry.set_metainfo(dict(view_groups=GROUPS))
    return maps, geometry


def heads(feature_matches=None, var_weight=25.0, cov_weight=1.0):
    def head(matcher, name):
        return MODELS.build(dict(
            type='DenseContrastHead', matcher=matcher, pairs='global_to_all', reduction='mean',
            loss=dict(type='VICRegLocalLoss', var_weight=var_weight, cov_weight=cov_weight,
                      name=name)))
    return (head(dict(type='FeatureNearest', num_matches=feature_matches), 'f'),
            head(dict(type='LocationNearest', num_matches=(20, 4)), 'l'))


def our_local(maps, geometry, **kw):
    feature, location = heads(**kw)
    return (feature.loss(maps, maps, geometry, features=maps)['loss_f'] +
            location.loss(maps, maps, geometry)['loss_l'])


def grids(geometry):
    """Each view's cell centres as lightly takes them: (N, H, W, 2)."""
    return [cell_centers(geometry.boxes[v], geometry.flips[v], s).view(-1, *s, 2)
            for v, s in enumerate(SIZES)]


def test_global_criterion_equals_lightly():
    gen = torch.Generator().manual_seed(1)
    embeddings = [torch.randn(8, 12, generator=gen, dtype=torch.float64) * (v + 1)
                  for v in range(6)]
    ours = VICRegGlobalLoss()(embeddings, None, resolve_pairs('global_to_all', (2, 4)))
    theirs = VICRegLLoss()._global_loss(
        global_view_features=[(e, None) for e in embeddings[:2]],
        local_view_features=[(e, None) for e in embeddings[2:]])
    assert abs(float(sum(ours.values())) - float(theirs)) < 1e-10
    assert float(ours['loss_vicreg_cov']) > 0 and float(ours['loss_vicreg_var']) > 0


def test_local_invariance_equals_lightly():
    maps, geometry = random_views()
    ours = our_local(maps, geometry, feature_matches=(20, 4), var_weight=0.0, cov_weight=0.0)
    crit = VICRegLLoss(mu_param=0.0, nu_param=0.0, num_matches=(20, 4))
    dummy = torch.zeros(1, dtype=torch.float64)  # lightly reads only its dtype here
    z = [(dummy, m.permute(0, 2, 3, 1)) for m in maps]  # lightly: (N, H, W, C)
    g = grids(geometry)
    theirs = crit._local_loss(global_view_features=z[:2], global_view_grids=g[:2],
                              local_view_features=z[2:], local_view_grids=g[2:])
    assert abs(float(ours) - float(theirs)) < 1e-10, (ours, theirs)
    # and they differ once the per-slot statistics enter (lightly reorders the slots)
    full = our_local(maps, geometry, feature_matches=(20, 4))
    crit = VICRegLLoss(num_matches=(20, 4))
    lightly_full = crit._local_loss(global_view_features=z[:2], global_view_grids=g[:2],
                                    local_view_features=z[2:], local_view_grids=g[2:])
    assert abs(float(full) - float(lightly_full)) > 1e-4


def loop_nearest(dist, keep):
    """Official rule by loops: nearest key per query cell, keep the ``keep`` query cells of
    smallest distance (ties: lower index), in cell order."""
    nearest = [min(range(len(row)), key=lambda j: (row[j], j)) for row in dist]
    order = sorted(range(len(dist)), key=lambda i: (dist[i][nearest[i]], i))
    kept = sorted(order[:keep] if keep is not None else order)
    return kept, [nearest[i] for i in kept]


def loop_terms(x, y):
    """inv + var + cov of (N, L, C) lists-of-tensors by explicit loops over slots/channels."""
    n, slots, c = x.shape
    inv = 25 * ((x - y) ** 2).mean()

    def var(z):
        total = 0.0
        for s in range(slots):
            for k in range(c):
                col = z[:, s, k]
                total += torch.relu(1 - torch.sqrt(((col - col.mean()) ** 2).sum() / (n - 1)
                                                   + 1e-4))
        return total / (slots * c)

    def cov(z):
        total = 0.0
        for s in range(slots):
            zc = z[:, s] - z[:, s].mean(0)
            for p in range(c):
                for q in range(c):
                    if p != q:
                        total += ((zc[:, p] * zc[:, q]).sum() / (n - 1)) ** 2
        return total / c / slots

    return inv + 25 * (var(x) + var(y)) / 2 + (cov(x) + cov(y)) / 2


def loop_local(maps, geometry, feature_matches):
    cells = [m.flatten(2).transpose(1, 2) for m in maps]  # [N, L, C]
    centres = [cell_centers(geometry.boxes[v], geometry.flips[v], s) for v, s in enumerate(SIZES)]
    n = cells[0].shape[0]
    total, pairs = 0.0, resolve_pairs('global_to_all', GROUPS)
    for a, b in pairs:
        for space, keep in ((cells, feature_matches or (None, None)), (centres, (20, 4))):
            per_direction = []
            for (q, k), limit in zip(((a, b), (b, a)), keep):
                xs, ys = [], []
                for i in range(n):
                    dist = [[float(torch.dist(space[q][i, u], space[k][i, w]))
                             for w in range(space[k].shape[1])] for u in range(space[q].shape[1])]
                    kept, nearest = loop_nearest(dist, limit)
                    xs.append(cells[q][i, kept])
                    ys.append(cells[k][i, nearest])
                per_direction.append(loop_terms(torch.stack(xs), torch.stack(ys)))
            total += sum(per_direction) / 2
    return total / len(pairs)


@pytest.mark.parametrize('feature_matches', [None, (5, 3)])
def test_local_criterion_equals_a_loop_over_the_official_reading(feature_matches):
    maps, geometry = random_views(seed=2)
    ours = our_local(maps, geometry, feature_matches=feature_matches)
    expected = loop_local(maps, geometry, feature_matches)
    assert abs(float(ours) - float(expected)) < 1e-9, (ours, expected)


def test_location_matches_of_known_boxes():
    # view a covers x, y in [0, 70): centres 5, 15, ..., 65; view b [30, 100): 35, ..., 95
    boxes = torch.tensor([[[0., 0., 70., 70.]], [[30., 30., 100., 100.]]])
    for flip_b in (False, True):
        geometry = ViewData.from_tensors(boxes, torch.tensor([[False], [flip_b]]))
        ctx = MatchContext(geometry, ((0, 1), ), ((7, 7), (7, 7)), ((7, 7), (7, 7)))
        forward, backward = LocationNearest(num_matches=(20, 4))(ctx)[0]
        exact = [i * 7 + j for i in range(3, 7) for j in range(3, 7)]  # 16 at distance 0
        # 4 more at distance 10: of the 8 such cells, the lowest indices (2, 3..6)
        assert forward.query_index.tolist() == [sorted(exact + [17, 18, 19, 20])]
        column = (lambda j: 6 - j) if flip_b else (lambda j: j)  # b's cell showing column j
        expected = {i * 7 + j: (i - 3) * 7 + column(j - 3) for i in range(3, 7)
                    for j in range(3, 7)}
        expected.update({17: column(0), 18: column(1), 19: column(2), 20: column(3)})
        assert forward.key_index.tolist() == [[expected[q] for q in sorted(expected)]]
        # b -> a keeps 4 of b's 16 exact cells, the lowest indices: row 0, the columns that
        # show x = 35..65 (0..3 unflipped, 3..6 flipped), matched to a's row 3
        if flip_b:
            assert backward.query_index.tolist() == [[3, 4, 5, 6]]
            assert backward.key_index.tolist() == [[27, 26, 25, 24]]
        else:
            assert backward.query_index.tolist() == [[0, 1, 2, 3]]
            assert backward.key_index.tolist() == [[24, 25, 26, 27]]
        if flip_b:  # the official default grid ignores the flip: matched as if unflipped
            unmirrored = LocationNearest(num_matches=(20, 4), mirror_flipped=False)(ctx)[0]
            assert unmirrored.forward.key_index.tolist() == [[
                (q // 7 - 3) * 7 + q % 7 - 3 if q >= 21 else q % 7 - 3 for q in sorted(expected)]]


def test_vicregl_trains_multi_crop_without_a_target():
    torch.manual_seed(0)
    model = MODELS.build(tiny_vicregl_cfg())
    model.init_weights()
    model.train()
    assert not any(n.startswith('target_') for n, _ in model.named_parameters())
    gen = torch.Generator().manual_seed(0)
    canvas = torch.randn(6, 3, 96, 96, generator=gen)
    views = [torch.stack([canvas[..., :64, :64], canvas[..., 32:, 32:]]),
             torch.stack([canvas[..., 16:48, 16:48], canvas[..., 40:72, 40:72]])]
    boxes = torch.tensor([[0, 0, 64, 64], [32, 32, 96, 96], [16, 16, 48, 48], [40, 40, 72, 72]],
                         dtype=torch.float32)[:, None].expand(4, 6, 4).contiguous()
    batch = dict(views=views, boxes=boxes, flips=torch.zeros(4, 6, dtype=torch.bool))
    opt = LARS(model.parameters(), lr=0.3, weight_decay=1e-6)
    values = []
    for _ in range(8):
        losses = model(batch, mode='loss')
        loss = sum(v for k, v in losses.items() if k.startswith('loss_'))
        opt.zero_grad()
        loss.backward()
        opt.step()
        values.append(loss.item())
    assert all(p.grad is not None for n, p in model.named_parameters() if 'backbone' in n)
    assert values[-1] < values[0] - 1.0, values
    assert set(losses) == {'loss_vicreg_inv', 'loss_vicreg_var', 'loss_vicreg_cov',
                           'loss_local_feature', 'loss_local_location'}


def test_every_pair_of_views_is_compared():
    assert len(list(itertools.permutations(range(4), 2))) == 12
    assert len(resolve_pairs('global_to_all', (2, 6))) == 2 * 7  # VICRegL's ConvNeXt recipe
