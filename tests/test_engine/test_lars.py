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
