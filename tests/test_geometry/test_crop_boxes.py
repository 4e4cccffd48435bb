"""The random-resized-crop box draw: hand-worked values, torchvision's draw, and its back ends
(numpy scalar, torch scalar, torch batched) against each other."""
import math

import numpy as np
import pytest
import torch
from torchvision.transforms import RandomResizedCrop

from dense_ssl_mm.geometry.crop_boxes import (NumpyDraws, TorchDraws, box_overlap_area,
                                              candidate_sides, central_box, draw_crop_box,
                                              draw_crop_boxes, overlap_constraints,
                                              overlap_fallback)

RATIO = (3 / 4, 4 / 3)


class Scripted:
    """A source of random numbers that returns given values and records each call."""

    def __init__(self, uniforms, ints):
        self.uniforms, self.ints, self.calls = list(uniforms), list(ints), []

    def uniform(self, low, high):
        self.calls.append(('uniform', low, high))
        return self.uniforms.pop(0)

    def randint(self, high):
        self.calls.append(('randint', high))
        return self.ints.pop(0)


def test_candidate_sides_round_half_to_even_for_floats_and_tensors():
    # 100 px at aspect 4: sqrt(400) = 20 wide, sqrt(25) = 5 high
    assert candidate_sides(100.0, 4.0) == (20, 5)
    # sqrt(6.25) = 2.5 -> 2 and sqrt(12.25) = 3.5 -> 4 (half to even, both back ends)
    assert candidate_sides(6.25, 1.0) == (2, 2)
    assert candidate_sides(12.25, 1.0) == (4, 4)
    w, h = candidate_sides(torch.tensor([100.0, 6.25, 12.25]), torch.tensor([4.0, 1.0, 1.0]))
    assert w.tolist() == [20., 2., 4.] and h.tolist() == [5., 2., 4.]


@pytest.mark.parametrize('height, width, box', [
    (10, 1000, (493., 0., 506., 10.)),  # too wide: 13 = round(10 * 4 / 3) px, centred
    (1000, 10, (0., 493., 10., 506.)),  # too tall: 13 = round(10 / (3 / 4)) px high
    (90, 100, (0., 0., 100., 90.)),  # ratio in range: the whole image
])
def test_central_box_by_hand(height, width, box):
    assert central_box(height, width, RATIO) == box
    batched = central_box(torch.tensor([float(height)]), torch.tensor([float(width)]), RATIO)
    assert batched.tolist() == [list(box)]


def test_overlap_area_and_fallback_by_hand():
    assert box_overlap_area((0, 0, 10, 10), (5, 5, 20, 20)) == 25
    assert box_overlap_area((0, 0, 10, 10), (10, 0, 20, 10)) == 0
    a, b = (0., 0., 10., 10.), (5., 5., 20., 20.)
    assert overlap_constraints((a, 3)) == [(a, 3.0)]
    assert overlap_constraints([(a, 3), (b, 4)]) == [(a, 3.0), (b, 4.0)]
    # the intersection (5, 5, 10, 10) has 25 px: enough for minima of 25, not for 26
    assert overlap_fallback([(a, 25.0), (b, 25.0)]) == (5., 5., 10., 10.)
    assert overlap_fallback([(a, 25.0), (b, 26.0)]) == a


def test_one_draw_by_hand_and_its_random_number_consumption():
    # H 100, W 200: share 0.5 -> 10000 px at aspect 2: w = round(sqrt(20000)) = 141,
    # h = round(sqrt(5000)) = 71; corner y in [0, 30), x in [0, 60)
    draws = Scripted([0.5, math.log(2.0)], [7, 11])
    box, fallback = draw_crop_box(100, 200, (0.1, 1.0), (0.5, 2.0), draws)
    assert (box, fallback) == ((11., 7., 152., 78.), False)
    assert draws.calls == [('uniform', 0.1, 1.0), ('uniform', math.log(0.5), math.log(2.0)),
                           ('randint', 30), ('randint', 60)]
    draws = Scripted([0.5, math.log(2.0)], [11, 7])
    assert draw_crop_box(100, 200, (0.1, 1.0), (0.5, 2.0), draws, x_first=True)[0] == \
        (11., 7., 152., 78.)
    assert [c[1] for c in draws.calls[2:]] == [60, 30]  # x first


def test_rejected_tries_draw_no_corner_and_end_in_the_fallback():
    # every try: the whole area at aspect 4 -> 200 x 50 px in a 100 x 100 image: never fits
    draws = Scripted([1.0, math.log(4.0)] * 3, [])
    box, fallback = draw_crop_box(100, 100, (0.5, 1.0), (0.25, 4.0), draws, attempts=3)
    assert (box, fallback) == ((0., 0., 100., 100.), True)
    assert [c[0] for c in draws.calls] == ['uniform'] * 6
    # a candidate that fits but misses the overlap constraint is rejected after its corner
    draws = Scripted([0.25, 0.0] * 2, [0, 0, 0, 0])
    other = (50., 50., 100., 100.)  # the 50 x 50 candidate at (0, 0) misses it entirely
    box, fallback = draw_crop_box(100, 100, (0.1, 1.0), RATIO, draws, attempts=2,
                                  overlap=(other, 1.0))
    assert (box, fallback) == (other, True)
    assert [c[0] for c in draws.calls].count('randint') == 4


def test_torch_back_end_is_torchvisions_draw():
    for seed in range(300):
        for height, width, scale in ((100, 150, (0.08, 1.0)), (60, 900, (0.08, 1.0)),
                                     (480, 640, (0.5, 2.0))):
            torch.manual_seed(seed)
            ref = RandomResizedCrop.get_params(torch.empty(1, height, width), scale, RATIO)
            torch.manual_seed(seed)
            (x1, y1, x2, y2), _ = draw_crop_box(height, width, scale, RATIO, TorchDraws())
            assert ref == (int(y1), int(x1), int(y2 - y1), int(x2 - x1)), (seed, height)


def stats(boxes, height, width):
    """Area share, log aspect and centre of ``(N, 4)`` boxes."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return torch.stack([w * h / (height * width), torch.log(w / h),
                        (boxes[:, 0] + boxes[:, 2]) / 2 / width,
                        (boxes[:, 1] + boxes[:, 3]) / 2 / height])


@pytest.mark.parametrize('height, width, scale', [(480, 640, (0.08, 1.0)),
                                                  (60, 900, (0.5, 1.0))])
def test_the_back_ends_agree_in_distribution_and_constraints(height, width, scale):
    n = 3000
    rng, gen = np.random.RandomState(0), torch.Generator().manual_seed(0)
    scalar = {name: [draw_crop_box(height, width, scale, RATIO, draws) for _ in range(n)]
              for name, draws in (('numpy', NumpyDraws(rng)), ('torch', TorchDraws(gen)))}
    sizes = torch.tensor([[float(height), float(width)]]).expand(n, 2)
    batched, batched_fallback = draw_crop_boxes(sizes, scale, RATIO, 10, gen)
    results = {name: (torch.tensor([b for b, _ in drawn]), torch.tensor([f for _, f in drawn]))
               for name, drawn in scalar.items()}
    results['batched'] = (batched, batched_fallback)
    ref = stats(*results['numpy'][:1], height, width)
    for name, (boxes, fallback) in results.items():
        assert torch.equal(boxes, boxes.round()) and (boxes >= 0).all()
        assert (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
        assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
        drawn = boxes[~fallback]
        share = stats(drawn, height, width)[0]
        assert (share >= scale[0] - 0.02).all() and (share <= scale[1] + 0.02).all(), name
        assert (torch.exp(stats(drawn, height, width)[1]) <= RATIO[1] * 1.1).all(), name
        ours = stats(boxes, height, width)
        se = torch.sqrt(ours.var(1) / n + ref.var(1) / n)
        assert ((ours.mean(1) - ref.mean(1)).abs() < 4 * se + 1e-3).all(), name
        assert abs(fallback.float().mean() - results['numpy'][1].float().mean()) < 0.03, name
        if fallback.any():  # the fallback is the central crop
            assert (boxes[fallback] == torch.tensor(central_box(height, width, RATIO))).all()


def test_overlap_constraint_holds_in_both_back_ends():
    n, min_area = 2000, 6000.0
    gen = torch.Generator().manual_seed(1)
    sizes = torch.tensor([[120., 160.]]).expand(n, 2)
    first, _ = draw_crop_boxes(sizes, (0.08, 1.0), RATIO, 10, gen)
    second, fallback = draw_crop_boxes(sizes, (0.08, 1.0), RATIO, 10, gen, (first, min_area))
    shared = (torch.minimum(first[:, 2:], second[:, 2:]) -
              torch.maximum(first[:, :2], second[:, :2])).clamp(min=0).prod(1)
    assert (shared[~fallback] >= min_area).all()
    assert torch.equal(second[fallback], first[fallback])
    rng = NumpyDraws(np.random.RandomState(1))
    drawn = [draw_crop_box(120, 160, (0.08, 1.0), RATIO, rng, overlap=(tuple(b), min_area))
             for b in first.tolist()]
    for (box, was_fallback), anchor in zip(drawn, first.tolist()):
        assert box == tuple(anchor) if was_fallback else \
            box_overlap_area(box, anchor) >= min_area
    cpu_rate = np.mean([f for _, f in drawn])
    assert abs(cpu_rate - float(fallback.float().mean())) < 0.04
