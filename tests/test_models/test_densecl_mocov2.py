"""DenseCL and MoCo v2 against mmpretrain 1.2.0 (same weights, same inputs) and against direct
loops over the papers' formulas; the feature-argmax matcher by hand."""
import math

import pytest
import torch
import torch.nn.functional as F

from dense_ssl_mm.models.matchers import FeatureArgmax, MatchContext, WholeImage
from dense_ssl_mm.registry import MODELS
from dense_ssl_mm.structures import ViewData
from ..helpers import fixed_batch, tiny_moco_cfg

BACKBONE = dict(tiny_moco_cfg()['backbone'], type='mmdet.ResNet')  # the twin: mmdet's own


def tiny(algorithm='DenseCL', queue_size=16):
    torch.manual_seed(0)
    model = MODELS.build(tiny_moco_cfg(algorithm, queue_size))
    model.init_weights()
    return model.train()


def linear(conv_state, prefix):
    """Our 1x1-conv MLP weights as mmpretrain's Linear/Conv weights (same numbers)."""
    return {f'{prefix}{k}': v.flatten(1) if v.dim() == 4 else v for k, v in conv_state.items()}


def mmpretrain_twin(ours):
    """mmpretrain's model of the same method, loaded with our weights and queues."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    from mmpretrain.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    dense = type(ours).__name__ == 'DenseCL'
    neck = dict(type='DenseCLNeck', in_channels=128, hid_channels=64, out_channels=32) \
        if dense else dict(type='MoCoV2Neck', in_channels=128, hid_channels=64,
                           out_channels=32, with_avg_pool=True)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        theirs = MMPRETRAIN_MODELS.build(dict(
            type='DenseCL' if dense else 'MoCo', backbone=BACKBONE, neck=neck,
            head=dict(type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'),
                      temperature=0.2),
            queue_len=ours.queue.size, feat_dim=32))
    assert type(theirs).__module__.startswith('mmpretrain.')
    state = {f'backbone.{k}': v for k, v in ours.backbone.state_dict().items()}
    state.update(linear(ours.neck.mlp.state_dict(), 'neck.mlp.'))
    if dense:
        state.update({f'neck.mlp2.{k}': v for k, v in ours.dense_neck.mlp.state_dict().items()})
        state['queue2'] = ours.dense_queue.queue.t().clone()
    state['queue'] = ours.queue.queue.t().clone()
    missing, _ = theirs.load_state_dict(state, strict=False)
    assert all(k.startswith('encoder_k.') or k.endswith('_ptr') for k in missing), missing
    return theirs.train()  # its first EMA update copies the online weights into encoder_k


@pytest.mark.parametrize('algorithm', ['DenseCL', 'MoCoV2'])
def test_loss_and_queues_equal_mmpretrain(algorithm):
    ours = tiny(algorithm, queue_size=16)
    theirs = mmpretrain_twin(ours)
    batch = fixed_batch(n=4, size=64, seed=3)
    losses = ours(batch, mode='loss')
    reference = theirs.loss(list(batch['views']), None)
    if algorithm == 'DenseCL':
        assert set(losses) == {'loss_global', 'loss_dense'}
        assert torch.allclose(losses['loss_global'], reference['loss_single'], atol=1e-5)
        assert torch.allclose(losses['loss_dense'], reference['loss_dense'], atol=1e-5)
        assert torch.allclose(ours.dense_queue.queue, theirs.queue2.t(), atol=1e-6)
    else:
        assert torch.allclose(losses['loss_moco'], reference['loss'], atol=1e-5)
    assert torch.allclose(ours.queue.queue, theirs.queue.t(), atol=1e-6)  # keys enqueued
    assert int(ours.queue.ptr) == int(theirs.queue_ptr) == 4
    # and the gradients of the online backbone agree
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    sum(v for k, v in reference.items() if 'loss' in k).backward()
    for (name, p), q in zip(ours.backbone.named_parameters(), theirs.backbone.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5, rtol=1e-3), name


def cos(a, b):
    return float(a @ b / (a.norm() * b.norm()))


def test_densecl_loss_equals_a_loop_over_the_formulas():
    model = tiny('DenseCL', queue_size=8).double()
    batch = {k: v.double() if v.is_floating_point() else v for k, v in fixed_batch(2).items()}
    queue, dense_queue = model.queue.queue.clone(), model.dense_queue.queue.clone()
    losses = model(batch, mode='loss')
    with torch.no_grad():
        q_feat = model.backbone(batch['views'][0])[-1]
        k_feat = model.target_backbone(batch['views'][1])[-1]
        q_dense, k_dense = model.dense_neck(q_feat), model.target_dense_neck(k_feat)
        q_glob, k_glob = model.neck(q_feat).flatten(1), model.target_neck(k_feat).flatten(1)

    def nce(q, k, negatives, tau=0.2):
        pos = math.exp(cos(q, k) / tau)
        return -math.log(pos / (pos + sum(math.exp(cos(q, n) / tau) for n in negatives)))

    glob = sum(nce(q_glob[i], k_glob[i], queue) for i in range(2)) / 2
    dense, cells = 0.0, 0
    for i in range(2):
        fq, fk = q_feat[i].flatten(1).T, k_feat[i].flatten(1).T  # [S^2, C]
        dq, dk = q_dense[i].flatten(1).T, k_dense[i].flatten(1).T
        for s in range(fq.shape[0]):
            j = max(range(fk.shape[0]), key=lambda t: cos(fq[s], fk[t]))
            dense += nce(dq[s], dk[j], dense_queue)
            cells += 1
    assert abs(losses['loss_global'].item() - 0.5 * glob) < 1e-6
    assert abs(losses['loss_dense'].item() - 0.5 * dense / cells) < 1e-6
    expected = F.normalize(k_dense.mean((2, 3)), dim=1)  # the dense queue gets averaged keys
    assert torch.allclose(model.dense_queue.queue[:2], expected)


def test_feature_argmax_by_hand():
    # 2 x 2 query cells, 1 x 3 key cells; directions of the vectors decide, not their length
    fq = torch.tensor([[1., 0.], [0., 1.], [1., 1.], [-1., 0.]]).T.reshape(1, 2, 2, 2)
    fk = torch.tensor([[0., 5.], [3., 0.], [-1., -1.]]).T.reshape(1, 2, 1, 3)
    geometry = ViewData.from_tensors(torch.zeros(2, 1, 4), torch.zeros(2, 1, dtype=bool))
    match, = FeatureArgmax()(MatchContext(geometry, ((0, 1), ), ((2, 2), None), (None, (1, 3)),
                                          [fq, fk]))
    assert match.key_index.tolist() == [[1, 0, 0, 2]]  # [1,1] ties 0 and 1: the lower index
    assert match.query_index.tolist() == [[0, 1, 2, 3]] and match.valid.all()
    with pytest.raises(ValueError, match='FeatureArgmax needs matching features'):
        FeatureArgmax()(MatchContext(geometry, ((0, 1), ), ((2, 2), None), (None, (1, 3))))
    with pytest.raises(ValueError, match=r'WholeImage matches \(N, C, 1, 1\) maps, got \(2, 2\)'):
        WholeImage()(MatchContext(geometry, ((0, 1), ), ((2, 2), None), (None, (1, 1))))


@pytest.mark.parametrize('algorithm', ['DenseCL', 'MoCoV2'])
def test_keys_get_no_gradient_and_loss_falls(algorithm):
    # On one fixed batch the queue would fill with the batch's own keys (negatives that are
    # positives): restore the random negatives every step so the objective stays fixed.
    model = tiny(algorithm, queue_size=64)
    batch = fixed_batch(n=4, size=64)
    queues = {n: b.clone() for n, b in model.named_buffers() if n.endswith('queue')}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    values = []
    for _ in range(10):
        for name, value in queues.items():
            model.get_buffer(name).copy_(value)
        losses = model(batch, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.momentum_update(0.99)
        values.append(loss.item())
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith('target_'))
    assert values[-1] < values[0] - 0.2, values


@pytest.mark.parametrize('algorithm', ['DenseCL', 'MoCoV2'])
def test_export_gives_an_mmdet_backbone(algorithm, tmp_path):
    from dense_ssl_mm.apis.export import export_checkpoint
    model = tiny(algorithm)
    torch.save(dict(state_dict=model.state_dict()), tmp_path / 'pre.pth')
    export_checkpoint(str(tmp_path / 'pre.pth'), str(tmp_path / 'bb.pth'))
    resnet = MODELS.build(BACKBONE)
    resnet.load_state_dict(torch.load(tmp_path / 'bb.pth'), strict=True)
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(resnet.state_dict()[key], value), key
