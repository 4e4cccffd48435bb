"""LARS against the formula, with and without exclusion."""
import pytest
import torch

from dense_ssl_mm.engine.optimizers import LARS


def test_lars_step_matches_formula():
    w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]]))  # ||w|| = 5
    b = torch.nn.Parameter(torch.tensor([1.0, 2.0]))  # 1-D: excluded
    opt = LARS([w, b], lr=0.1, momentum=0.9, weight_decay=0.5, eta=0.01)
    w.grad = torch.tensor([[0.5, -1.0]])
    b.grad = torch.tensor([0.2, 0.4])
    opt.step()
    d = torch.tensor([[0.5, -1.0]]) + 0.5 * torch.tensor([[3.0, 4.0]])  # g + wd * w
    d = d * 0.01 * 5.0 / d.norm()
    assert torch.allclose(w.data, torch.tensor([[3.0, 4.0]]) - 0.1 * d, atol=1e-7)
    # excluded: no decay, no trust ratio
    assert torch.allclose(b.data, torch.tensor([1.0, 2.0]) - 0.1 * torch.tensor([0.2, 0.4]))
    # second step: momentum buffer v = 0.9 v + d
    w_before = w.data.clone()
    w.grad = torch.tensor([[0.5, -1.0]])
    b.grad = torch.tensor([0.0, 0.0])
    opt.step()
    d2 = torch.tensor([[0.5, -1.0]]) + 0.5 * w_before
    d2 = d2 * 0.01 * w_before.norm() / d2.norm()
    assert torch.allclose(w.data, w_before - 0.1 * (0.9 * d + d2), atol=1e-7)


def test_lars_group_exclusion_and_errors():
    w = torch.nn.Parameter(torch.ones(2, 2))
    opt = LARS([dict(params=[w], lars_exclude=True)], lr=1.0, momentum=0.0, weight_decay=1.0)
    w.grad = torch.full((2, 2), 0.5)
    opt.step()
    assert torch.allclose(w.data, torch.full((2, 2), 0.5))
    with pytest.raises(ValueError, match='momentum must lie in \\[0, 1\\), got 1.0'):
        LARS([w], lr=0.1, momentum=1.0)


def test_zero_gradient_tensor_gets_the_reference_step_with_epsilon():
    """A conv before a zero-initialised BN scale: gradient 0, the update is weight decay alone.

    The official ratio is ``eta * ||w|| / (||d|| + 1e-8)`` with ``d = wd * w``; by hand for
    ``w = (3, 4)`` (``||w|| = 5``), ``wd = 1e-5``, ``eta = 1e-3``: ``||d|| = 5e-5``, ratio
    ``5e-3 / (5e-5 + 1e-8) = 99.98000399920016``, step ``lr * ratio * d``.
    """
    w = torch.nn.Parameter(torch.tensor([[3.0, 4.0]], dtype=torch.float64))
    other = torch.nn.Parameter(torch.tensor([[1.0, -1.0]], dtype=torch.float64))
    opt = LARS([w, other], lr=0.5, momentum=0.9, weight_decay=1e-5, eta=1e-3)
    w.grad = torch.zeros_like(w)
    other.grad = torch.tensor([[0.3, 0.1]], dtype=torch.float64)
    opt.step()
    ratio = 5e-3 / (5e-5 + 1e-8)
    assert ratio == pytest.approx(99.98000399920016, rel=1e-15)
    expected = torch.tensor([[3.0, 4.0]], dtype=torch.float64) * (1 - 0.5 * ratio * 1e-5)
    assert torch.allclose(w.data, expected, rtol=0, atol=1e-15)
    without_eps = torch.tensor([[3.0, 4.0]], dtype=torch.float64) * (1 - 0.5 * 100.0 * 1e-5)
    assert not torch.allclose(w.data, without_eps, rtol=0, atol=1e-9)  # eps is visible
    # the other tensor: d = g + wd * w, ratio eta * ||w|| / (||d|| + eps)
    d = torch.tensor([[0.3, 0.1]], dtype=torch.float64) + 1e-5 * torch.tensor([[1.0, -1.0]])
    step = 0.5 * d * 1e-3 * 2 ** 0.5 / (d.norm() + 1e-8)
    assert torch.allclose(other.data, torch.tensor([[1.0, -1.0]], dtype=torch.float64) - step,
                          rtol=0, atol=1e-15)


def test_eps_is_validated_and_old_optimizer_states_get_it():
    w = torch.nn.Parameter(torch.ones(2, 2))
    with pytest.raises(ValueError, match=r'LARS: eps must .*got -1\.0'):
        LARS([w], lr=0.1, eps=-1.0)
    opt = LARS([w], lr=0.1, eps=1e-6)
    state = opt.state_dict()
    del state['param_groups'][0]['eps']  # saved before the argument existed
    fresh = LARS([w], lr=0.1, eps=1e-6)
    fresh.load_state_dict(state)
    assert fresh.param_groups[0]['eps'] == 1e-6
