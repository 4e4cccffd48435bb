"""Monitors on constructed features: known spectra and the expected extremes."""
import math

import pytest
import torch

from dense_ssl_mm.evaluation.monitors import (feature_monitors, position_r2, rankme,
                                              spatial_share)


def test_rankme_of_known_spectra_by_hand():
    u, _ = torch.linalg.qr(torch.randn(50, 50, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(8, 8, dtype=torch.float64))

    def with_spectrum(s):
        return u[:, :8] @ torch.diag(torch.tensor(s, dtype=torch.float64)) @ v.t()

    assert rankme(with_spectrum([1.0] * 8)) == pytest.approx(8.0, rel=1e-4)  # flat: full rank
    assert rankme(with_spectrum([1.0] + [0.0] * 7)) == pytest.approx(1.0, rel=1e-4)
    s = [4.0, 2.0, 1.0, 1.0, 0, 0, 0, 0]
    p = [x / 8 for x in s if x]
    expected = math.exp(-sum(q * math.log(q) for q in p))  # 3.36...
    assert rankme(with_spectrum(s)) == pytest.approx(expected, rel=1e-4)
    assert rankme(torch.zeros(10, 4)) == 1.0


def constructed(kind, n=12, c=16, h=7, w=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    if kind == 'constant':
        return torch.ones(n, c, h, w)
    if kind == 'global':  # one vector per image, copied to every cell
        return torch.randn(n, c, 1, 1, generator=gen).expand(n, c, h, w).clone()
    if kind == 'position':  # the same smooth position map in every image
        yy, xx = torch.meshgrid(torch.linspace(-1, 1, h), torch.linspace(-1, 1, w),
                                indexing='ij')
        basis = torch.stack([yy, xx, yy * xx, yy ** 2, xx ** 2])  # [5, h, w]
        mix = torch.randn(c, 5, generator=gen)
        return torch.einsum('ck,khw->chw', mix, basis).expand(n, c, h, w).clone()
    if kind == 'content':  # every cell its own random content
        return torch.randn(n, c, h, w, generator=gen)
    raise ValueError(kind)


def test_spatial_share_extremes():
    assert spatial_share(constructed('constant')) == 0.0
    assert spatial_share(constructed('global')) == pytest.approx(0.0, abs=1e-9)
    assert spatial_share(constructed('position')) == pytest.approx(1.0, abs=1e-9)
    assert 0.85 < spatial_share(constructed('content')) < 1.0


def test_position_readout_extremes():
    assert position_r2(constructed('position')) > 0.99
    assert position_r2(constructed('content')) < 0.2
    assert position_r2(constructed('global')) < 0.05
    assert position_r2(constructed('constant')) < 0.05
    with pytest.raises(ValueError, match='at least 2 images, got 1'):
        position_r2(torch.randn(1, 4, 3, 3))


def test_feature_monitors_reports_all_and_subsamples():
    out = feature_monitors(constructed('content', n=4, c=8), max_cells=100)
    assert set(out) == {'rankme', 'rankme_max', 'spatial_share', 'position_r2'}
    assert out['rankme_max'] == 8 and 6 < out['rankme'] <= 8
    collapsed = feature_monitors(constructed('global', n=4, c=8))
    assert collapsed['spatial_share'] < 0.01


def test_verdict_names_each_failure_from_constructed_runs():
    from dense_ssl_mm.evaluation.health import THRESHOLDS, verdict
    healthy = dict(rankme_share=0.3, spatial_share=0.6, target_lag=0.05, pck1_gain=0.05,
                   position_r2=0.1)
    assert verdict(healthy) == 'healthy'
    assert verdict(dict(healthy, rankme_share=0.01)).startswith('collapsed')
    assert verdict(dict(healthy, spatial_share=0.01)).startswith('spatially collapsed')
    assert verdict(dict(healthy, target_lag=3.0)).startswith('target far behind')
    assert verdict(dict(healthy, pck1_gain=0.0)).startswith(
        'not learning spatial correspondence')
    assert verdict(dict(healthy, position_r2=0.9)).startswith('encodes position')
    both = verdict(dict(healthy, target_lag=3.0, pck1_gain=-0.01))
    assert 'target far behind' in both and 'not learning' in both
    assert verdict({}) == 'healthy'  # nothing measured, nothing flagged
    assert set(THRESHOLDS) == {'rankme_share', 'spatial_share', 'target_lag', 'pck1_gain',
                               'position_r2'}


def test_target_lag_of_a_checkpoint_state():
    from dense_ssl_mm.evaluation.health import target_lag
    online = {'backbone.w': torch.ones(4), 'backbone.bn.running_mean': torch.zeros(4)}
    same = dict(online, **{'target_backbone.w': torch.ones(4),
                           'target_backbone.bn.running_mean': torch.full((4, ), 9.0)})
    assert target_lag(same) == 0.0  # running statistics are left out
    moved = dict(same, **{'target_backbone.w': torch.zeros(4)})
    assert target_lag(moved) == pytest.approx(1.0)
    assert target_lag(online) is None


def test_logged_target_momentum_of_one_is_a_frozen_target(tmp_path):
    import json
    from dense_ssl_mm.evaluation.health import logged, loss_drop, verdict
    scalars = tmp_path / 'scalars.json'
    scalars.write_text('\n'.join(json.dumps(r) for r in (
        dict(step=i, loss=-0.1 * i, target_momentum=1.0) for i in range(20))))
    assert logged(str(scalars), 'target_momentum') == [1.0] * 20
    assert loss_drop(str(scalars)) == pytest.approx((-0.05 + 1.85) / 1.9)  # tenths' means
    assert verdict(dict(target_momentum_min=1.0)).startswith('target frozen (the logged')
    assert verdict(dict(target_momentum_min=0.99)) == 'healthy'
