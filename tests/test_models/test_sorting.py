"""The differentiable bitonic sorting network: exact order when steep, doubly stochastic soft
permutations, finite gradients (gradcheck in float64), equal to diffsort (Petersen et al.'s
implementation, test-only) for power-of-two and other sizes."""
import pytest
import torch
from diffsort import DiffSortNet  # test-only reference (diffsort 0.2.0)

from dense_ssl_mm.models.utils.sorting import bitonic_layers, soft_sort


@pytest.mark.parametrize('n', [2, 5, 8, 49])
def test_steep_network_sorts_exactly(n):
    gen = torch.Generator().manual_seed(n)
    x = torch.randn(6, n, generator=gen, dtype=torch.float64)
    values, perm = soft_sort(x, steepness=1e12)  # Cauchy tails: ~1 / (pi beta gap)
    assert (values - x.sort(-1).values).abs().max() < 1e-6
    hard = torch.zeros_like(perm).scatter_(-1, x.argsort(-1)[..., None], 1.0)
    assert (perm - hard).abs().max() < 1e-6  # row i picks the input of rank i


def test_soft_permutations_are_doubly_stochastic_and_reproduce_the_values():
    x = torch.randn(3, 7, 49, dtype=torch.float64)  # leading axes are batched
    values, perm = soft_sort(x, steepness=100.0)
    assert perm.shape == (3, 7, 49, 49) and (perm >= 0).all() and (perm <= 1).all()
    assert (perm.sum(-1) - 1).abs().max() < 1e-12 and (perm.sum(-2) - 1).abs().max() < 1e-12
    assert torch.allclose(values, (perm @ x[..., None])[..., 0], atol=1e-12)
    assert not torch.allclose(values, x.sort(-1).values, atol=1e-3)  # soft at 100


def test_gradients_are_finite_and_checked():
    x = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: soft_sort(t, steepness=3.0), (x, ))
    values, perm = soft_sort(x, 100.0)
    (values.sum() + (perm * torch.randn_like(perm)).sum()).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize('n', [8, 49])
def test_equals_diffsort(n):
    x = torch.randn(4, n, dtype=torch.float64)
    theirs_values, theirs = DiffSortNet('bitonic', n, steepness=100.0, distribution='cauchy')(x)
    values, perm = soft_sort(x, 100.0)
    assert (values - theirs_values).abs().max() < 1e-12
    assert (perm - theirs.transpose(-1, -2)).abs().max() < 1e-12


def test_network_shape():
    assert len(bitonic_layers(64)) == 21 == len(bitonic_layers(49))  # 6 * 7 / 2 layers
    partner, _, active = bitonic_layers(8)[0]
    assert partner == (1, 0, 3, 2, 5, 4, 7, 6) and all(active)
