"""Overclustering: matching by hand, k-means on separable data, the protocol end to end."""
import pytest
import torch

from dense_ssl_mm.evaluation.metrics.matching import match_ids, matched_miou
from dense_ssl_mm.evaluation.metrics.miou import confusion_matrix
from dense_ssl_mm.evaluation.protocols.overcluster import kmeans, overcluster, pca_reduce


def test_many_to_one_and_hungarian_by_hand():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2, 255])
    clusters = torch.tensor([3, 3, 1, 1, 0, 0, 2, 2, 0])  # class 0 split in clusters 3 and 1
    conf = confusion_matrix(clusters, labels, 3, 4)
    assert conf.tolist() == [[0, 2, 0, 2], [2, 0, 0, 0], [0, 0, 2, 0]]
    assert match_ids(conf, 'many_to_one').tolist() == [1, 0, 2, 0]
    assert matched_miou(clusters, labels, 3, 4, 'many_to_one')['miou'] == pytest.approx(1.0)
    # Hungarian: one cluster per class; the other half of class 0 lands on class 0 too
    # (unassigned ids count as class 0), so still perfect here
    assert matched_miou(clusters, labels, 3, 4, 'hungarian')['miou'] == pytest.approx(1.0)
    # a cluster mixing classes 1 and 2: many-to-one gives it to one class
    mixed = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    lab = torch.tensor([0, 0, 0, 0, 1, 1, 2, 2])
    result = matched_miou(mixed, lab, 3, 2, 'many_to_one')  # IoU 1, 0.5, 0
    assert result['miou'] == pytest.approx(0.5)
    with pytest.raises(ValueError, match='identity matching needs as many ids'):
        match_ids(conf, 'identity')


@pytest.mark.parametrize('backend', ['torch', 'faiss'])
def test_kmeans_separates_well_separated_blobs(backend):
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 8, generator=gen) * 20
    truth = torch.arange(5).repeat_interleave(40)
    x = centres[truth] + torch.randn(200, 8, generator=gen)
    ids = kmeans(x, 5, iters=20, restarts=3, seed=1, backend=backend)
    assert matched_miou(ids, truth, 5, 5, 'hungarian')['miou'] == pytest.approx(1.0)


def test_pca_reduce_standardises_and_keeps_the_top_directions():
    gen = torch.Generator().manual_seed(1)
    latent = torch.randn(500, 3, generator=gen)
    x = latent @ torch.randn(3, 20, generator=gen) + 0.01 * torch.randn(500, 20, generator=gen)
    reduced = pca_reduce(x, 3).double()
    assert reduced.shape == (500, 3)
    # three directions keep (almost) all of the standardised variance
    standard = (x - x.mean(0)) / x.std(0, unbiased=False)
    assert float(reduced.var(0, unbiased=False).sum() /
                 standard.double().var(0, unbiased=False).sum()) > 0.99


def test_overcluster_protocol_on_features_that_know_the_classes():
    gen = torch.Generator().manual_seed(2)
    labels = torch.randint(0, 3, (6, 1, 8, 8), generator=gen).repeat_interleave(4, 2) \
        .repeat_interleave(4, 3)[:, 0]  # (6, 32, 32) blocks of 4 x 4 pixels
    codes = torch.randn(3, 12, generator=gen) * 5
    cells = labels[:, ::4, ::4]  # the class of every 4 x 4 block = one feature cell
    features = codes[cells.long()].permute(0, 3, 1, 2) + 0.1 * torch.randn(6, 12, 8, 8,
                                                                           generator=gen)
    out = overcluster(features, labels.to(torch.uint8), 3, ks=[3, 10], seeds=(0, 1),
                      eval_size=32, iters=20, restarts=2, backend='torch')
    assert out['miou_k3'] == pytest.approx(1.0) and out['matching_k3'] == 'hungarian'
    assert out['miou_k10'] == pytest.approx(1.0) and out['matching_k10'] == 'many_to_one'
    noise = torch.randn(6, 12, 8, 8, generator=gen)
    assert overcluster(noise, labels.to(torch.uint8), 3, ks=[3], seeds=(0, ), eval_size=32,
                       iters=20, restarts=2, backend='torch')['miou_k3'] < 0.5
    with pytest.raises(ValueError, match='K >= the 3 classes, got 2'):
        overcluster(features, labels.to(torch.uint8), 3, ks=[2], backend='torch')
