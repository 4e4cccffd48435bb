"""PPM and the dense losses against direct loops over cells (float64, tolerance 1e-5)."""
import math

import pytest
import torch

from dense_ssl_mm.models.heads import DenseContrastHead
from dense_ssl_mm.models.losses import pixcontrast_loss, pixpro_consistency_loss
from dense_ssl_mm.models.necks import PixelPropagationModule
from dense_ssl_mm.geometry.correspondence import normalized_center_distance
from dense_ssl_mm.structures import ViewData


def cos(a, b):
    return float(a @ b / (a.norm() * b.norm()))


def random_geometry(n, gen):
    xy = torch.rand(2, n, 2, generator=gen, dtype=torch.float64) * 40
    wh = torch.rand(2, n, 2, generator=gen, dtype=torch.float64) * 60 + 20
    boxes = torch.cat([xy, xy + wh], -1)  # [2, N, 4]
    flips = torch.rand(2, n, generator=gen) > 0.5
    return boxes, flips


@pytest.mark.parametrize('layers,gamma', [(0, 2.0), (1, 2.0), (2, 1.0), (1, 0.5)])
def test_ppm_matches_loop(layers, gamma):
    torch.manual_seed(0)
    ppm = PixelPropagationModule(channels=6, gamma=gamma, num_transform_layers=layers).double()
    ppm.eval()
    x = torch.randn(2, 6, 3, 4, dtype=torch.float64)
    y = ppm(x)
    g = ppm.transform(x)
    for n in range(2):
        cells = x[n].flatten(1).T  # [HW, C]
        values = g[n].flatten(1).T
        values = values / values.norm(dim=1, keepdim=True)
        for i in range(12):
            expected = torch.zeros(6, dtype=torch.float64)
            for j in range(12):
                s = max(cos(cells[i], cells[j]), 0.0)
                s = (s + 1e-6) ** gamma if gamma < 1 else s ** gamma
                expected += s * values[j]
            assert torch.allclose(y[n].flatten(1)[:, i], expected, atol=1e-5)


def masks_by_loop(boxes, flips, size, threshold):
    n = boxes.shape[1]
    h, w = size
    mask = torch.zeros(n, h * w, h * w, dtype=torch.bool)
    for b in range(n):
        def centre(v, i, j):
            x1, y1, x2, y2 = boxes[v, b].tolist()
            jj = w - 1 - j if flips[v, b] else j
            return x1 + (jj + 0.5) * (x2 - x1) / w, y1 + (i + 0.5) * (y2 - y1) / h

        diag = max(math.hypot((boxes[v, b, 2] - boxes[v, b, 0]) / w,
                              (boxes[v, b, 3] - boxes[v, b, 1]) / h) for v in (0, 1))
        for p in range(h * w):
            for q in range(h * w):
                c1, c2 = centre(0, p // w, p % w), centre(1, q // w, q % w)
                mask[b, p, q] = math.dist(c1, c2) / diag < threshold
    return mask


def test_mask_matches_loop():
    gen = torch.Generator().manual_seed(1)
    boxes, flips = random_geometry(3, gen)
    ours = normalized_center_distance(boxes[0], flips[0], (3, 3), boxes[1], flips[1],
                                      (3, 3)) < 0.7
    assert torch.equal(ours, masks_by_loop(boxes, flips, (3, 3), 0.7))


def pixpro_by_loop(pred, target, mask):
    total = 0.0
    for n in range(pred.shape[0]):
        p, t = pred[n].flatten(1).T, target[n].flatten(1).T
        num, count = 0.0, 0.0
        for i in range(p.shape[0]):
            for j in range(t.shape[0]):
                if mask[n, i, j]:
                    num += cos(p[i], t[j])
                    count += 1
        total += -2 * num / (count + 1e-6)
    return total / pred.shape[0]


def pixcontrast_by_loop(q, k, mask, tau):
    losses = []
    for n in range(q.shape[0]):
        a, b = q[n].flatten(1).T, k[n].flatten(1).T
        for i in range(a.shape[0]):
            if not mask[n, i].any():
                continue
            e = [math.exp(cos(a[i], b[j]) / tau) for j in range(b.shape[0])]
            pos = sum(v for j, v in enumerate(e) if mask[n, i, j])
            losses.append(-math.log(pos / sum(e)))
    return sum(losses) / len(losses) if losses else 0.0


def test_pixpro_and_pixcontrast_losses_match_loops():
    gen = torch.Generator().manual_seed(2)
    boxes, flips = random_geometry(4, gen)
    boxes[1, 3] = torch.tensor([200., 200., 230., 230.], dtype=torch.float64)  # disjoint
    mask = masks_by_loop(boxes, flips, (3, 3), 0.7)
    assert mask.any() and not mask[3].any()
    pred = torch.randn(4, 5, 3, 3, generator=gen, dtype=torch.float64)
    target = torch.randn(4, 5, 3, 3, generator=gen, dtype=torch.float64)
    assert abs(pixpro_consistency_loss(pred, target, mask).item() -
               pixpro_by_loop(pred, target, mask)) < 1e-5
    assert abs(pixcontrast_loss(pred, target, mask, 0.3).item() -
               pixcontrast_by_loop(pred, target, mask, 0.3)) < 1e-5


@pytest.mark.parametrize('loss_type', ['pixpro', 'pixcontrast'])
def test_head_sums_both_directions(loss_type):
    gen = torch.Generator().manual_seed(3)
    boxes, flips = random_geometry(3, gen)
    online = [torch.randn(3, 5, 3, 3, generator=gen, dtype=torch.float64) for _ in range(2)]
    target = [torch.randn(3, 5, 3, 3, generator=gen, dtype=torch.float64) for _ in range(2)]
    loss = dict(type='PixProConsistencyLoss') if loss_type == 'pixpro' else dict(
        type='PixContrastLoss', temperature=0.3)
    head = DenseContrastHead(loss=loss)
    out = head.loss(online, target, ViewData.from_tensors(boxes, flips))[
        f'loss_{loss_type}']
    m12 = masks_by_loop(boxes, flips, (3, 3), 0.7)
    m21 = masks_by_loop(boxes.flip(0), flips.flip(0), (3, 3), 0.7)
    if loss_type == 'pixpro':
        expected = (pixpro_by_loop(online[0], target[1], m12) +
                    pixpro_by_loop(online[1], target[0], m21))
    else:
        expected = (pixcontrast_by_loop(online[0], target[1], m12, 0.3) +
                    pixcontrast_by_loop(online[1], target[0], m21, 0.3))
    assert abs(out.item() - expected) < 1e-5


def test_pixcontrast_without_positives_is_zero_with_finite_gradient():
    q = torch.randn(2, 4, 2, 2, dtype=torch.float64, requires_grad=True)
    k = torch.randn(2, 4, 2, 2, dtype=torch.float64)
    loss = pixcontrast_loss(q, k, torch.zeros(2, 4, 4, dtype=torch.bool), 0.3)
    loss.backward()
    assert loss.item() == 0.0 and torch.isfinite(q.grad).all()


def test_pixpro_loss_floor_is_minus_two_per_direction():
    x = torch.randn(2, 8, 3, 3, dtype=torch.float64)
    mask = torch.eye(9, dtype=torch.bool).expand(2, 9, 9)
    assert abs(pixpro_consistency_loss(x, x, mask).item() + 2) < 1e-5


def test_head_rejects_bad_arguments():
    with pytest.raises(KeyError, match='MoCoLoss is not in the .*model registry'):
        DenseContrastHead(loss=dict(type='MoCoLoss'))
    with pytest.raises(ValueError, match='temperature must be > 0, got 0'):
        DenseContrastHead(loss=dict(type='PixContrastLoss', temperature=0))
    with pytest.raises(ValueError, match="name must be lower case .*got 'loss-pix'"):
        DenseContrastHead(loss=dict(type='PixProConsistencyLoss', name='loss-pix'))
    with pytest.raises(ValueError, match='loss must build an Objective.*got ConvMLPNeck'):
        DenseContrastHead(loss=dict(type='ConvMLPNeck', in_channels=4))
