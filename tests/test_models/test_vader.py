"""VADeR: matched pairs, the queue, the NCE loss, the dense output and training."""
import pytest
import torch
import torch.nn.functional as F

from dense_ssl_mm.models.heads import DenseContrastHead
from dense_ssl_mm.models.losses import queue_infonce_loss as vader_nce_loss
from dense_ssl_mm.structures import ViewData
from dense_ssl_mm.geometry.correspondence import cell_centers, sample_matched_pairs
from dense_ssl_mm.models.utils import FeatureQueue
from dense_ssl_mm.registry import MODELS
from ..helpers import fixed_batch, tiny_vader_cfg


def coordinate_map(boxes, flips, size):
    """(N, 2, H, W) map whose cells hold their own centre (x, y) in original-image pixels."""
    n = boxes.shape[0]
    return cell_centers(boxes, flips, size).view(n, *size, 2).permute(0, 3, 1, 2)


@pytest.mark.parametrize('flip1,flip2', [(False, False), (False, True), (True, True)])
def test_matched_pairs_show_the_same_image_point(flip1, flip2):
    torch.manual_seed(0)
    b1 = torch.tensor([[10., 20., 138., 148.], [0., 0., 64., 64.]])
    b2 = torch.tensor([[60., 40., 220., 200.], [32., 16., 96., 80.]])
    f1, f2 = torch.tensor([flip1, flip1]), torch.tensor([flip2, flip2])
    size = (16, 16)
    index, grid, valid = sample_matched_pairs(b1, f1, size, b2, f2, 32)
    assert valid.all()
    points1 = cell_centers(b1, f1, size).gather(1, index[..., None].expand(-1, -1, 2))
    # sample view 2's coordinate map where the pairs point: bilinear sampling of a linear map
    # returns the point itself (up to the half cell clamped at the map's border)
    coords2 = coordinate_map(b2, f2, size)
    sampled = F.grid_sample(coords2, grid[:, :, None], mode='bilinear', padding_mode='border',
                            align_corners=False)[..., 0].transpose(1, 2)  # [N, P, 2]
    half_cell = ((b2[:, 2:] - b2[:, :2]) / 16 / 2)[:, None]  # [N, 1, 2]
    assert ((sampled - points1).abs() <= half_cell + 1e-4).all()
    # and every sampled view-1 cell centre lies inside view 2's box (never outside the overlap)
    inside = ((points1 > b2[:, None, :2]) & (points1 < b2[:, None, 2:])).all(-1)
    assert inside.all()
    assert len(set(index[0].tolist())) == 32  # distinct pixels when enough are visible


def test_few_visible_pixels_are_repeated_and_none_visible_is_invalid():
    b1 = torch.tensor([[0., 0., 64., 64.], [0., 0., 64., 64.]])
    b2 = torch.tensor([[56., 56., 120., 120.], [100., 100., 164., 164.]])  # 2x2 cells / none
    f = torch.tensor([False, False])
    index, grid, valid = sample_matched_pairs(b1, f, (8, 8), b2, f, 10)
    assert set(index[0].tolist()) == {63}  # only cell (7, 7) has its centre (60, 60) inside
    assert valid[0].all() and not valid[1].any()


def test_queue_wraps_around_and_survives_save_resume(tmp_path):
    q = FeatureQueue(size=5, dim=2)
    q.enqueue(torch.tensor([[1., 0.], [2., 0.], [3., 0.]]))
    q.enqueue(torch.tensor([[4., 0.], [5., 0.], [6., 0.]]))
    assert int(q.ptr) == 1
    assert q.queue[:, 0].tolist() == [6., 2., 3., 4., 5.]
    q.enqueue(torch.tensor([[7., 0.], [8., 0.], [9., 0.]]), valid=torch.tensor([True, False,
                                                                                True]))
    assert q.queue[:, 0].tolist() == [6., 7., 9., 4., 5.] and int(q.ptr) == 3
    torch.save(q.state_dict(), tmp_path / 'q.pth')
    restored = FeatureQueue(size=5, dim=2)
    restored.load_state_dict(torch.load(tmp_path / 'q.pth'))
    assert torch.equal(restored.queue, q.queue) and int(restored.ptr) == int(q.ptr)


def test_queue_keeps_last_keys_of_a_long_batch():
    q = FeatureQueue(size=4, dim=1)
    q.enqueue(torch.arange(6.).view(6, 1))
    assert sorted(q.queue[:, 0].tolist()) == [2., 3., 4., 5.] and int(q.ptr) == 0


@pytest.mark.parametrize('size, batch', [(7, 3), (7, 7), (5, 12), (16, 40)])
def test_sync_free_masked_enqueue_equals_boolean_indexing(size, batch):
    """``enqueue(keys, valid)`` (no host sync) against the plain rule ``enqueue(keys[valid])``
    over many steps with random masks, including all-valid, none-valid and batches longer
    than the queue."""
    gen = torch.Generator().manual_seed(size * 100 + batch)
    ours, reference = FeatureQueue(size, 3), FeatureQueue(size, 3)
    reference.load_state_dict(ours.state_dict())
    for step in range(25):
        keys = torch.randn(batch, 3, generator=gen)
        valid = torch.rand(batch, generator=gen) < [0.5, 1.0, 0.0, 0.9, 0.2][step % 5]
        ours.enqueue(keys, valid)
        reference.enqueue(keys[valid])
        assert torch.equal(ours.queue, reference.queue), step
        assert int(ours.ptr) == int(reference.ptr), step


def test_nce_loss_matches_direct_computation_and_minimum():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    k = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    negs = F.normalize(torch.randn(5, 4, generator=gen, dtype=torch.float64), dim=1)
    valid = torch.tensor([True, False, True])
    tau = 0.07
    expected = []
    for i in (0, 2):
        qi, ki = q[i] / q[i].norm(), k[i] / k[i].norm()
        pos = torch.exp(qi @ ki / tau)
        neg = sum(torch.exp(qi @ n / tau) for n in negs)
        expected.append(-torch.log(pos / (pos + neg)))
    assert abs(vader_nce_loss(q, k, valid, negs, tau).item() - sum(expected).item() / 2) < 1e-5
    # positive = query, negatives orthogonal to it: log(1 + K exp(-1/tau)), about 0
    e = torch.eye(8, dtype=torch.float64)
    loss = vader_nce_loss(e[:1], e[:1], torch.tensor([True]), e[1:], tau).item()
    expected = torch.log1p(torch.tensor(7 * torch.exp(torch.tensor(-1 / tau)))).item()
    assert abs(loss - expected) < 1e-9
    assert loss < 1e-4


def tiny_vader(queue_size=4096):
    torch.manual_seed(0)
    model = MODELS.build(tiny_vader_cfg(queue_size, out_channels=128, num_samples=32))
    model.init_weights()
    return model


def test_dense_output_is_unit_128_at_stride_4_and_target_frozen():
    model = tiny_vader()
    out = model.extract_dense(torch.randn(2, 3, 64, 96))
    assert out.shape == (2, 128, 16, 24)
    assert torch.allclose(out.norm(dim=1), torch.ones(2, 16, 24), atol=1e-5)
    assert all(not p.requires_grad for n, p in model.named_parameters()
               if n.startswith('target_'))
    assert 'queue.queue' in model.state_dict() and 'queue.ptr' in model.state_dict()
    with pytest.raises(ValueError, match='VADeR needs a DenseContrastHead with '
                       'QueueInfoNCELoss .*got PixProConsistencyLoss'):
        MODELS.build(dict(type='VADeR', backbone=dict(type='ResNet', depth=18),
                          neck=dict(type='DenseFPNNeck'), head=dict(type='DenseContrastHead')))


def test_loss_falls_and_queue_fills():
    # The queue holds exactly one step's keys (2 directions x 4 images x 32 pairs), so from
    # step 2 on the negatives are the previous step's keys of the same fixed batch.
    model = tiny_vader(queue_size=256)
    model.train()
    batch = fixed_batch(n=4, size=64)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    values = []
    for _ in range(8):
        loss = model(batch, mode='loss')['loss_vader']
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.momentum_update(0.99)
        values.append(loss.item())
    assert values[-1] < values[1] - 0.5, values
    assert int(model.queue.ptr) == 0  # 8 full turns of a 256-slot queue
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith('target_'))


def test_head_vader_needs_queue():
    head = DenseContrastHead(matcher=dict(type='MatchedPixelPairs'),
                             loss=dict(type='QueueInfoNCELoss'))
    x = [torch.randn(1, 4, 4, 4)] * 2
    boxes = torch.tensor([[[0., 0., 8., 8.]], [[0., 0., 8., 8.]]])
    geometry = ViewData.from_tensors(boxes, torch.zeros(2, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match='QueueInfoNCELoss needs the queue of negatives'):
        head.loss(x, x, geometry)


def test_fpn_export_loads_into_mmdet_fpn(tmp_path):
    from dense_ssl_mm.apis.export import export_checkpoint as export
    model = tiny_vader(queue_size=8)
    path = tmp_path / 'vader.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    written = export(str(path), str(tmp_path / 'bb.pth'), neck=str(tmp_path / 'fpn.pth'))
    fpn = MODELS.build(dict(type='mmdet.FPN', in_channels=[16, 32, 64, 128], out_channels=32,
                            num_outs=5, norm_cfg=dict(type='BN')))
    state = torch.load(tmp_path / 'fpn.pth')
    assert written[str(tmp_path / 'fpn.pth')] == len(model.neck.fpn.state_dict()) == len(state)
    fpn.load_state_dict(state, strict=True)  # mmdet's FPN takes every tensor, missing none
    for key, value in model.neck.fpn.state_dict().items():
        assert torch.equal(fpn.state_dict()[key], value), key
