"""DetCon: the loss equals lightly's DetConBLoss / DetConSLoss (test-only reference) and a
float64 loop over the paper's formula; masks cut with each view's geometry show the right
regions; pooling by hand; online and target pool the same segments; the models train."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from lightly.loss import DetConBLoss, DetConSLoss  # test-only reference (lightly 1.6.0)

from dense_ssl_mm.datasets.fh_masks import mask_path, write_mask
from dense_ssl_mm.datasets.transforms import (LoadFHMask, MasksToViews, MultiViewTransform,
                                              PackViews)
from dense_ssl_mm.engine.optimizers import LARS
from dense_ssl_mm.models.losses import DetConLoss
from dense_ssl_mm.models.utils import cell_segments, pool_segments, sample_segments
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData
from ..helpers import tiny_detconb_cfg


def random_inputs(n=3, k=5, d=8, ids=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    preds = [torch.randn(n, k, d, generator=gen, dtype=torch.float64) for _ in range(2)]
    targets = [torch.randn(n, k, d, generator=gen, dtype=torch.float64) for _ in range(2)]
    drawn = [torch.randint(0, ids, (n, k), generator=gen) for _ in range(2)]
    return preds, targets, drawn


def loop_detcon(preds, targets, ids, tau):
    """The paper's loss by loops: for each view a, image i, slot s: softmax over the other
    view's targets of every image and slot plus this view's targets (the same image's same
    id removed), positives the other view's slots of image i with the same id."""
    n, k, _ = preds[0].shape
    total = 0.0
    for a in (0, 1):
        b = 1 - a
        p = F.normalize(preds[a], dim=-1)
        tb, ta = F.normalize(targets[b], dim=-1), F.normalize(targets[a], dim=-1)
        rows = 0.0
        for i in range(n):
            for s in range(k):
                logits, positive = [], []
                for j in range(n):
                    for r in range(k):
                        logits.append(float(p[i, s] @ tb[j, r]) / tau)
                        positive.append(j == i and int(ids[b][i, r]) == int(ids[a][i, s]))
                for j in range(n):
                    for r in range(k):
                        same = j == i and int(ids[a][i, r]) == int(ids[a][i, s])
                        logits.append(float(p[i, s] @ ta[j, r]) / tau - (1e9 if same else 0))
                        positive.append(False)
                if not any(positive):
                    continue
                log_z = float(torch.logsumexp(torch.tensor(logits, dtype=torch.float64), 0))
                ce = -sum(lg - log_z for lg, pos in zip(logits, positive) if pos) / sum(positive)
                drawn = sum(int(ids[a][i, r]) == int(ids[a][i, s]) for r in range(k))
                rows += ce / drawn
        total += rows / (n * k)
    return total


def test_detcon_loss_equals_lightly_and_a_loop():
    preds, targets, ids = random_inputs()
    ours = float(DetConLoss(0.1)(preds, targets, ids)['loss_detcon'])
    lightly_b = float(DetConBLoss(0.1, gather_distributed=False)(*preds, *targets, *ids))
    assert abs(ours - lightly_b) < 1e-6 * abs(ours)  # lightly weighs in float32
    assert abs(ours - loop_detcon(preds, targets, ids, 0.1)) < 1e-10
    simclr = float(DetConLoss(0.1)(preds, preds, ids)['loss_detcon'])
    assert abs(simclr - float(DetConSLoss(0.1, gather_distributed=False)(*preds, *ids))) < \
        1e-6 * abs(simclr)
    assert abs(simclr - loop_detcon(preds, preds, ids, 0.1)) < 1e-10


def test_rows_without_positive_weigh_nothing():
    preds, targets, _ = random_inputs(n=2, k=3)
    apart = [torch.tensor([[0, 0, 1], [2, 2, 2]]), torch.tensor([[5, 5, 5], [6, 6, 6]])]
    # no id in both views
    assert float(DetConLoss(0.1)(preds, targets, apart)['loss_detcon']) == 0.0


def test_cell_segments_and_pooling_by_hand():
    # a 4 x 4 mask over a 2 x 2 grid: each 2 x 2 block is one cell
    mask = torch.tensor([[[7, 7, 1, 1], [7, 2, 1, 1], [3, 3, 5, 6], [3, 3, 6, 5]]])
    cells = cell_segments(mask, (2, 2))
    assert cells.tolist() == [[7, 1, 3, 5]]  # 5 and 6 tie in the last cell: the smaller id
    feats = torch.arange(8.).view(1, 2, 2, 2)  # channel 0: 0..3, channel 1: 4..7
    pooled = pool_segments(feats, torch.tensor([[7, 1, 7, 5]]), torch.tensor([[7, 5, 1]]))
    assert pooled.tolist() == [[[1.0, 5.0], [3.0, 7.0], [1.0, 5.0]]]  # 7: cells 0 and 2
    with pytest.raises(ValueError, match='a 4x4 mask does not split into 3x3 equal cells'):
        cell_segments(mask, (3, 3))


def test_sampling_is_uniform_over_present_segments():
    cells = torch.tensor([[5] * 40 + [2] + [9] * 8, [4] * 49])
    ids = sample_segments(cells, 30000, torch.Generator().manual_seed(0))
    share = torch.stack([(ids[0] == v).double().mean() for v in (2, 5, 9)])
    assert torch.allclose(share, torch.full((3, ), 1 / 3, dtype=torch.float64), atol=0.01)
    assert (ids[1] == 4).all()


def position_labels(h, w):
    """Segment id of a pixel = its 8 x 8 block: (y // 8) * 100 + x // 8."""
    y, x = np.mgrid[0:h, 0:w]
    return ((y // 8) * 100 + x // 8).astype(np.int32)


def test_view_masks_show_the_regions_of_the_view(tmp_path):
    # ramp image (the pixel shows its own x, y) and a mask of known regions, cached
    h, w = 160, 200
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x, y, np.zeros_like(x)], -1).astype(np.uint8)
    img_path = str(tmp_path / 'images' / 'a.png')
    labels = position_labels(h, w)
    write_mask(mask_path(img_path, str(tmp_path / 'images'), str(tmp_path / 'masks')), labels)
    load = LoadFHMask(img_root=str(tmp_path / 'images'), mask_root=str(tmp_path / 'masks'),
                      on_missing='raise')
    crop = dict(type='RandomResizedCropWithBox', size=48, scale=(0.2, 0.6))
    flip = dict(type='RandomFlip', prob=0.5, direction='horizontal')
    views = MultiViewTransform([[crop, flip], [crop, flip]])
    np.random.seed(3)
    seen_flip = False
    for _ in range(6):
        out = MasksToViews()(views(load(dict(img=img, img_path=img_path))))
        assert out['view_masks'].shape == (2, 48, 48) and 'segments' not in out
        for v in range(2):
            seen_flip |= bool(out['view_flips'][v])
            px = out['views'][v][..., 0].astype(int)  # where each view pixel comes from
            py = out['views'][v][..., 1].astype(int)
            mask = out['view_masks'][v]
            # the mask's block holds the pixel's position (one pixel of resampling slack)
            bx, by = mask % 100, mask // 100
            assert (np.abs(bx * 8 + 3.5 - px) <= 5).mean() > 0.97
            assert (np.abs(by * 8 + 3.5 - py) <= 5).mean() > 0.97
        packed = PackViews()(out)['data_samples']
        assert tuple(packed.masks.shape) == (2, 48, 48)
    assert seen_flip


def detconb_cfg(**kw):
    return tiny_detconb_cfg(**kw)


def masked_batch(n=4, seed=0):
    """Two overlapping 64 px views; masks of 16 x 16 blocks in original coordinates."""
    gen = torch.Generator().manual_seed(seed)
    canvas = torch.randn(n, 3, 96, 96, generator=gen)
    labels = torch.from_numpy(position_labels(96, 96) // 2)  # 16 x 16 blocks... of 8 px ids
    views = torch.stack([canvas[..., :64, :64], canvas[..., 32:, 32:]])
    masks = torch.stack([labels[:64, :64], labels[32:, 32:]])[:, None].expand(2, n, 64, 64)
    boxes = torch.tensor([[0., 0., 64., 64.], [32., 32., 96., 96.]])[:, None].expand(2, n, 4)
    return dict(views=views, boxes=boxes.contiguous(), flips=torch.zeros(2, n, dtype=bool),
                masks=masks.contiguous())


def test_online_and_target_pool_the_same_segments():
    torch.manual_seed(0)
    model = MODELS.build(detconb_cfg(predictor=dict(type='ConvMLPNeck', in_channels=32,
                                                    hid_channels=32, out_channels=32,
                                                    num_layers=1)))
    model.init_weights()
    with torch.no_grad():  # an identity predictor: predictions = online projections
        model.predictor.mlp[0].weight.copy_(torch.eye(32)[..., None, None])
        model.predictor.mlp[0].bias.zero_()
    seen = {}
    model.detcon_loss.forward = lambda preds, targets, ids: seen.update(
        preds=preds, targets=targets, ids=ids) or {'loss_detcon': torch.zeros(())}
    model(masked_batch(), mode='loss')
    for v in range(2):  # the target is an exact copy at init: equal iff the same segments
        assert torch.allclose(seen['preds'][v], seen['targets'][v], atol=1e-5)
    assert not torch.equal(seen['ids'][0], seen['ids'][1])


@pytest.mark.parametrize('algorithm', ['DetConB', 'DetConS'])
def test_detcon_trains(algorithm):
    torch.manual_seed(0)
    cfg = detconb_cfg() if algorithm == 'DetConB' else \
        {k: v for k, v in detconb_cfg(type='DetConS').items() if k != 'predictor'}
    model = MODELS.build(cfg)
    model.init_weights()
    model.train()
    assert any(n.startswith('target_') for n, _ in model.named_parameters()) == \
        (algorithm == 'DetConB')
    batch = masked_batch(n=6)
    opt = LARS(model.parameters(), lr=0.5, weight_decay=1e-5)
    values = []
    for _ in range(8):
        loss = model(batch, mode='loss')['loss_detcon']
        opt.zero_grad()
        loss.backward()
        opt.step()
        if algorithm == 'DetConB':
            model.momentum_update(0.99)
        values.append(loss.item())
    assert values[-1] < values[0] - 0.1, values
    assert int(model.sampling_steps) == 8


def test_a_view_without_masks_is_a_clear_error():
    model = MODELS.build(detconb_cfg())
    batch = masked_batch()
    del batch['masks']
    with pytest.raises(ValueError, match="needs each view's segment mask"):
        model(batch, mode='loss')


def test_geometry_carries_masks_through_the_preprocessor():
    geometry = ViewData.from_tensors(torch.zeros(2, 1, 4), torch.zeros(2, 1, dtype=bool),
                                     masks=torch.zeros(2, 1, 8, 8, dtype=torch.int32))
    assert tuple(geometry.masks.shape) == (2, 1, 8, 8)
