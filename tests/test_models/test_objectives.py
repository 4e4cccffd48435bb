"""The objective contract, over every registered loss (collected from the registry): one
call signature, named terms ``loss_<name>[_<part>]``, ``loss_weight`` applied by the loss
and nowhere else. Each loss's value is tested against its formula in its own test file; this
one holds every loss to the contract, and a new loss is covered once it has inputs below."""
import inspect

import pytest
import torch
import torch.nn.functional as F

from dense_ssl_mm.models.losses import Objective
from dense_ssl_mm.models.matchers import CellMask, PointPairs, TwoWayPairs
from dense_ssl_mm.registry import MODELS


def registered_losses():
    return sorted(name for name, cls in MODELS.module_dict.items() if isinstance(cls, type)
                  and cls.__module__.startswith('dense_ssl_mm.models.losses'))


def _point_pairs(gen, n=2, p=3, cells=4):
    return PointPairs(torch.randint(cells, (n, p), generator=gen),
                      torch.ones(n, p, dtype=torch.bool),
                      torch.randint(cells, (n, p), generator=gen))


def example_inputs(name):
    """``(query, key, match, negatives)`` of tiny shapes for each registered loss."""
    gen = torch.Generator().manual_seed(0)

    def randn(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    maps = randn(2, 4, 2, 2), randn(2, 4, 2, 2)
    cell_mask = CellMask(torch.rand(2, 4, 4, generator=gen) > 0.5)
    queue = F.normalize(randn(5, 4), dim=1)
    return {
        'PixProConsistencyLoss': (*maps, cell_mask, None),
        'PixContrastLoss': (*maps, cell_mask, None),
        'QueueInfoNCELoss': (*maps, _point_pairs(gen), queue),
        'VICRegLocalLoss': (*maps, TwoWayPairs(_point_pairs(gen), _point_pairs(gen)), None),
        'VICRegGlobalLoss': ([randn(4, 6) for _ in range(3)], None, ((0, 1), (0, 2)), None),
        'DetConLoss': ([randn(2, 3, 5), randn(2, 3, 5)], [randn(2, 3, 5), randn(2, 3, 5)],
                       [torch.randint(3, (2, 3), generator=gen) for _ in range(2)], None),
        'NeighbourSortingLoss': (randn(2, 4, 5), randn(2, 4, 5), None, randn(2, 6, 5)),
        'InstanceConsistencyLoss': (randn(3, 5), randn(3, 5), None, None),
    }[name]


def test_the_registry_has_every_loss_of_the_package():
    assert len(registered_losses()) >= 8
    assert 'InstanceConsistencyLoss' in registered_losses()


@pytest.mark.parametrize('name', registered_losses())
def test_every_loss_keeps_the_contract(name):
    cls = MODELS.get(name)
    assert issubclass(cls, Objective), f'{name} is not an Objective'
    assert cls.forward is Objective.forward, f'{name} overrides forward: implement compute'
    params = inspect.signature(cls.compute).parameters
    assert list(params)[:5] == ['self', 'query', 'key', 'match', 'negatives'], name
    init = inspect.signature(cls.__init__).parameters
    assert 'loss_weight' in init and 'name' in init, f'{name} takes no loss_weight / name'

    query, key, match, negatives = example_inputs(name)
    once = cls(loss_weight=1.0)(query, key, match, negatives)
    assert once and all(k == f'loss_{cls.name}' or k.startswith(f'loss_{cls.name}_')
                        for k in once), (name, sorted(once))
    assert all(v.dim() == 0 and torch.isfinite(v) for v in once.values())
    thrice = cls(loss_weight=3.0, name='renamed')(query, key, match, negatives)
    assert sorted(thrice) == sorted(k.replace(f'loss_{cls.name}', 'loss_renamed', 1)
                                    for k in once)
    for key_once, value in once.items():
        value3 = thrice[key_once.replace(f'loss_{cls.name}', 'loss_renamed', 1)]
        assert torch.allclose(value3, 3 * value, rtol=1e-12, atol=0), name


def test_the_base_names_and_weights_parts_by_hand():
    class Parts(Objective):
        name = 'toy'

        def compute(self, query, key=None, match=None, negatives=None):
            return dict(a=query.sum(), b=(query * key).sum())

    q, k = torch.tensor([1.0, 2.0]), torch.tensor([3.0, -1.0])
    out = Parts(loss_weight=0.5)(q, k)
    assert out == {'loss_toy_a': torch.tensor(1.5), 'loss_toy_b': torch.tensor(0.5)}
    with pytest.raises(ValueError, match=r"Parts: loss_weight must be >= 0, got -1"):
        Parts(loss_weight=-1)
    with pytest.raises(ValueError, match=r"Nameless: name must be lower case .*got ''"):
        type('Nameless', (Objective, ), {})()


def test_instance_consistency_by_hand():
    """``-2 * mean cos``: rows at cos 1 and -1 give 0; equal rows give the floor -2; a head
    with ``pairs='symmetric'`` sums both directions (floor -4)."""
    from dense_ssl_mm.models.heads import DenseContrastHead
    from dense_ssl_mm.models.losses import instance_consistency_loss
    from dense_ssl_mm.structures import ViewData
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z = torch.tensor([[2.0, 0.0], [0.0, -3.0]])
    assert float(instance_consistency_loss(p, z)) == 0.0
    assert float(instance_consistency_loss(p, 5 * p)) == pytest.approx(-2.0)
    head = DenseContrastHead(matcher=None, loss=dict(type='InstanceConsistencyLoss',
                                                     loss_weight=0.5))
    geometry = ViewData(boxes=torch.zeros(2, 2, 4), flips=torch.zeros(2, 2, dtype=torch.bool))
    out = head.loss([p, z], [z, p], geometry)
    # pairs (0, 1): cos(p, p) = 1 -> -2; (1, 0): cos(z, z) = 1 -> -2; times 0.5
    assert out == {'loss_instance': torch.tensor(-2.0)}
