"""Dense evaluation protocols against known answers."""
import math

import pytest
import torch

from dense_ssl_mm.evaluation import (knn_readout, linear_readout, make_view_batch,
                                     match_errors, miou, summarize)
from dense_ssl_mm.evaluation.views import EVAL_VIEW_PIPELINE, eval_view_spec
from dense_ssl_mm.geometry.correspondence import cell_centers


def random_geometry(n, seed, image=(300, 400)):
    """Overlapping crop boxes (original pixels) and random flips for n view pairs."""
    gen = torch.Generator().manual_seed(seed)
    h, w = image
    x1 = torch.rand(2, n, generator=gen) * w * 0.3
    y1 = torch.rand(2, n, generator=gen) * h * 0.3
    bw = w * (0.5 + 0.2 * torch.rand(2, n, generator=gen))
    bh = h * (0.5 + 0.2 * torch.rand(2, n, generator=gen))
    boxes = torch.stack([x1, y1, x1 + bw, y1 + bh], -1)
    flips = torch.rand(2, n, generator=gen) > 0.5
    return boxes, flips


def position_features(boxes, flips, size, dims=64, seed=0):
    """Features that encode the original-image position of each cell centre: random
    Fourier features, whose cosine similarity falls with the distance of the positions."""
    gen = torch.Generator().manual_seed(seed)
    freqs = torch.randn(2, dims, generator=gen) / 60.0  # wavelengths of hundreds of pixels
    feats = []
    for v in range(2):
        centres = cell_centers(boxes[v], flips[v], size)  # [N, HW, 2]
        phase = centres @ freqs
        f = torch.cat([phase.cos(), phase.sin()], -1)  # [N, HW, 2 dims]
        feats.append(f.transpose(1, 2).reshape(len(f), 2 * dims, *size))
    return feats


def test_identical_views_give_pck_one():
    boxes, flips = random_geometry(5, 0)
    boxes[1], flips[1] = boxes[0], flips[0]
    feat = torch.randn(5, 16, 7, 7)
    metrics = summarize(*match_errors(feat, feat.clone(), boxes, flips))
    assert metrics['corr/pck@1'] == 1.0 and metrics['corr/mean_err'] == pytest.approx(0, abs=1e-5)
    assert metrics['corr/num_matches'] == 5 * 49


@pytest.mark.parametrize('size', [(7, 7), (14, 14)])
def test_position_features_are_found_under_crops_and_flips(size):
    boxes, flips = random_geometry(16, 1)
    assert flips.any() and (~flips).any()
    f1, f2 = position_features(boxes, flips, size)
    error, visible, chance = match_errors(f1, f2, boxes, flips)
    metrics = summarize(error, visible, chance)
    assert metrics['corr/pck@1'] == 1.0, metrics
    assert metrics['corr/mean_err'] < 0.75  # the nearest cell centre is at most ~0.7 away
    # a flipped second view scored as if unflipped would be wrong for most cells
    wrong = summarize(*match_errors(f1, f2, boxes, torch.stack([flips[0], ~flips[1]])))
    assert wrong['corr/pck@1'] < 0.6


def test_random_features_score_chance():
    boxes, flips = random_geometry(64, 2)
    gen = torch.Generator().manual_seed(3)
    f1, f2 = torch.randn(64, 32, 7, 7, generator=gen), torch.randn(64, 32, 7, 7, generator=gen)
    metrics = summarize(*match_errors(f1, f2, boxes, flips))
    # chance: share of the 49 cells within 1 cell of the true location (~3-5 of 49)
    assert 0.04 < metrics['corr/pck@1_chance'] < 0.12
    assert abs(metrics['corr/pck@1'] - metrics['corr/pck@1_chance']) < 0.025
    assert abs(metrics['corr/pck@2'] - metrics['corr/pck@2_chance']) < 0.04


def test_chance_of_one_point_worked_by_hand():
    """True location at the centre cell (3, 3) of a 7 x 7 map: 5 cells lie within 1 cell
    (itself and 4 neighbours), 13 within 2 (+4 diagonals, +4 at distance 2)."""
    boxes = torch.tensor([[[0., 0., 70., 70.]], [[0., 0., 70., 70.]]])
    flips = torch.zeros(2, 1, dtype=torch.bool)
    feat = torch.randn(1, 4, 7, 7)
    _, visible, chance = match_errors(feat, feat, boxes, flips)
    assert chance[0, 3 * 7 + 3].tolist() == pytest.approx([5 / 49, 13 / 49])


def test_view_pairs_depend_on_the_seed_only():
    images = [torch.rand(3, 120, 160) * 255 for _ in range(3)]
    a = make_view_batch(images, 64, seed=5)
    b = make_view_batch(images[1:], 64, seed=5, start=1)  # another batch split
    c = make_view_batch(images, 64, seed=6)
    assert all(torch.equal(x[:, 1:], y) for x, y in zip(a, b))
    assert not torch.equal(a[1], c[1])
    views, boxes, flips = a
    assert views.shape == (2, 3, 3, 64, 64) and boxes.shape == (2, 3, 4)
    assert (boxes[..., 2] <= 160).all() and (boxes[..., 3] <= 120).all()


def test_view_crops_match_their_boxes():
    """A ramp image whose value is the x coordinate: the view's mean column values must be
    those of its box (flipped where flagged), so views and recorded geometry agree."""
    ramp = torch.arange(400.).expand(3, 300, 400) * (255 / 400)
    no_jitter = eval_view_spec(EVAL_VIEW_PIPELINE[:2])  # crop and flip only
    views, boxes, flips = make_view_batch([ramp] * 6, 50, seed=0, spec=no_jitter)
    for v in range(2):
        for k in range(6):
            x1, _, x2, _ = boxes[v, k].tolist()
            expected = (x1 + (torch.arange(50) + 0.5) * (x2 - x1) / 50 - 0.5) * 255 / 400
            got = views[v, k, 0].mean(0)
            got = got.flip(0) if flips[v, k] else got
            assert torch.allclose(got[2:-2], expected[2:-2], atol=1.5), (v, k)


def test_linear_probe_separates_a_linearly_separable_set():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(12, 8, 6, 6, generator=gen)
    a, b = feats[:, 0] + 0.5 * feats[:, 1], feats[:, 2] - 0.3
    labels = ((a > 0).long() + 2 * (b > 0).long()).to(torch.uint8)  # four quadrants
    labels[(a.abs() < 0.15) | (b.abs() < 0.15)] = 255  # a margin: no cell on a border
    # labels at feature resolution: no upsampling blur
    pred = linear_readout(feats, labels, feats, num_classes=4, steps=300, lr=0.01)
    assert miou(pred, labels, 4, 'present')['miou'] > 0.97
    # with labels unrelated to the features it cannot do the same
    shuffled = labels.flatten()[torch.randperm(labels.numel())].view_as(labels)
    pred = linear_readout(feats, shuffled, feats, num_classes=4, steps=300, lr=0.01)
    assert miou(pred, shuffled, 4, 'present')['miou'] < 0.7


def test_knn_transfer_is_exact_on_duplicated_images():
    gen = torch.Generator().manual_seed(1)
    labels_cells = torch.randint(0, 3, (4, 5, 5), generator=gen)
    prototypes = torch.randn(3, 16, generator=gen)
    noise = 0.01 * torch.randn(4, 16, 5, 5, generator=gen)
    feats = prototypes[labels_cells].permute(0, 3, 1, 2) + noise
    labels = labels_cells.repeat_interleave(8, 1).repeat_interleave(8, 2).to(torch.uint8)
    labels[:, :2, :] = 255  # ignored pixels are left out of the bank and the score
    pred = knn_readout(feats, labels, feats, labels.shape[-2:], num_classes=3, k=5,
                       temperature=0.07)
    valid = labels != 255
    assert bool((pred[valid] == labels[valid].long()).float().mean() > 0.9)
    assert (pred[:, 4::8, 4::8][labels[:, 4::8, 4::8] != 255] ==
            labels[:, 4::8, 4::8][labels[:, 4::8, 4::8] != 255].long()).all()


def test_miou_over_present_classes_worked_by_hand():
    labels = torch.tensor([[0, 0, 1, 1, 255]], dtype=torch.uint8)
    pred = torch.tensor([[0, 1, 1, 1, 0]])
    # class 0: inter 1, union 2 -> 0.5; class 1: inter 2, union 3 -> 2/3
    scores = miou(pred, labels, 2, 'present')
    assert scores['miou'] == pytest.approx((0.5 + 2 / 3) / 2)
    assert scores['acc'] == pytest.approx(3 / 4)
    assert not math.isnan(miou(pred, labels, 5, 'present')['miou'])


def test_chance_counted_by_rows_equals_a_brute_force_count():
    from dense_ssl_mm.evaluation.metrics.pck import chance_within
    gen = torch.Generator().manual_seed(0)
    for size in [(7, 7), (14, 9), (56, 56)]:
        # points inside and just outside the map
        span = torch.tensor([size[1] + 4., size[0] + 4.])
        truth = torch.rand(3, 200, 2, generator=gen) * span - 2
        grid = cell_centers(torch.tensor([[0., 0., size[1], size[0]]]),
                            torch.zeros(1, dtype=torch.bool), size) - 0.5  # centres (j, i)
        dist = torch.cdist(truth, grid.expand(3, -1, -1))
        for k in (1, 2):
            assert torch.equal(chance_within(truth, size, k), (dist <= k).float().mean(-1))
