"""Views, not pairs: multi-crop batches (2 x 64 + 4 x 32) on the CPU and the device path,
every view's pixels against its recorded box (ramp images), and the head's view pairs."""
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from dense_ssl_mm.datasets.transforms import MultiViewTransform, PackViews
from dense_ssl_mm.models.data_preprocessors import ViewDataPreprocessor
from dense_ssl_mm.models.heads.dense_contrast_head import resolve_pairs
from dense_ssl_mm.structures import ViewData, split_views, view_groups
from .test_device_views import expected_coords, packed, ramp


def crop_flip(size, scale):
    return [dict(type='RandomResizedCropWithBox', size=size, scale=scale),
            dict(type='RandomFlip', prob=0.5, direction='horizontal')]


MULTI_CROP = [crop_flip(64, (0.4, 1.0))] * 2 + [crop_flip(32, (0.05, 0.4))] * 4
IDENTITY = dict(mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False)


def check_views_show_boxes(views, geometry, shape, tol, edge=0):
    """Each view's x / y ramp channels equal its box's pixel-centre coordinates (``edge``
    output pixels along the box border are left out: a resize filter cut at the box)."""
    singles = split_views(views)
    assert len(singles) == geometry.num_views == 6
    for v, view in enumerate(singles):
        size = (64, 64) if v < 2 else (32, 32)
        assert tuple(view.shape[-2:]) == size
        xs, ys = expected_coords(geometry.boxes[v].double(), geometry.flips[v], size)
        got_x = view[:, 0].double().mean(1)  # [N, w]
        got_y = view[:, 1].double().mean(2)  # [N, h]
        inner_x = (xs > 2) & (xs < shape[1] - 2)
        inner_y = (ys > 2) & (ys < shape[0] - 2)
        if edge:
            inner_x[:, :edge] = inner_x[:, -edge:] = inner_y[:, :edge] = inner_y[:, -edge:] = 0
        assert inner_x.float().mean() > 0.75
        assert ((got_x - (xs - 0.5)).abs()[inner_x] < tol).all(), v
        assert ((got_y - (ys - 0.5)).abs()[inner_y] < tol).all(), v


def test_cpu_multi_crop_batch_gives_every_views_box():
    np.random.seed(0)
    image = ramp(200, 250)
    transform, pack = MultiViewTransform(MULTI_CROP), PackViews()
    samples = [pack(transform(dict(img=image, ori_shape=image.shape[:2]))) for _ in range(6)]
    first = samples[0]['inputs']
    assert [tuple(g.shape) for g in first] == [(2, 3, 64, 64), (4, 3, 32, 32)]
    out = ViewDataPreprocessor(**IDENTITY)(dict(inputs=[s['inputs'] for s in samples],
                                                data_samples=[s['data_samples'] for s in samples]))
    views, geometry = out['inputs'], out['data_samples']
    assert view_groups(views) == (2, 4) and geometry.view_groups == (2, 4)
    assert [tuple(g.shape) for g in views] == [(2, 6, 3, 64, 64), (4, 6, 3, 32, 32)]
    assert tuple(geometry.boxes.shape) == (6, 6, 4) and geometry.flips.any()
    # antialiased resize of a linear ramp: centre values up to the uint8 rounding
    check_views_show_boxes(views, geometry, image.shape, tol=0.51, edge=1)
    # mmengine's pseudo_collate hands the groups over group-major: the same batch
    collated = pseudo_collate(samples)
    again = ViewDataPreprocessor(**IDENTITY)(collated)['inputs']
    assert all(torch.equal(a, b) for a, b in zip(again, views))
    areas = (geometry.boxes[..., 2] - geometry.boxes[..., 0]) * \
        (geometry.boxes[..., 3] - geometry.boxes[..., 1]) / (200 * 250)
    assert (areas[:2] >= 0.4 * 0.98).all() and (areas[2:] <= 0.4 * 1.02).all()


def test_device_multi_crop_batch_gives_every_views_box():
    image = ramp(200, 250)
    samples = [packed(image) for _ in range(6)]
    pre = ViewDataPreprocessor(**IDENTITY, device_views=dict(view_pipelines=MULTI_CROP, seed=3))
    out = pre(dict(inputs=[s[0] for s in samples], data_samples=[s[1] for s in samples]))
    views, geometry = out['inputs'], out['data_samples']
    assert [tuple(g.shape) for g in views] == [(2, 6, 3, 64, 64), (4, 6, 3, 32, 32)]
    assert geometry.view_groups == (2, 4) and geometry.flips.any()
    check_views_show_boxes(views, geometry, image.shape, tol=0.02)


def test_views_of_one_size_must_be_adjacent():
    mixed = [crop_flip(64, (0.4, 1.0)), crop_flip(32, (0.05, 0.4)), crop_flip(64, (0.4, 1.0))]
    with pytest.raises(ValueError, match=r'views of one size must be adjacent'):
        PackViews()(MultiViewTransform(mixed)(dict(img=ramp(100, 100))))
    with pytest.raises(ValueError, match=r'views of one size must be adjacent'):
        ViewDataPreprocessor(device_views=dict(view_pipelines=mixed))


def test_view_pairs_by_hand():
    assert resolve_pairs('symmetric', (2, )) == ((0, 1), (1, 0))
    assert resolve_pairs('one_way', (2, )) == ((0, 1), )
    assert resolve_pairs('all', (3, )) == ((0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1))
    # 2 global + 2 local: a global query against every other view; keys only global
    assert resolve_pairs('global_to_all', (2, 2)) == ((0, 1), (0, 2), (0, 3), (1, 0), (1, 2),
                                                      (1, 3))
    assert resolve_pairs('all_to_global', (2, 2)) == ((0, 1), (1, 0), (2, 0), (2, 1), (3, 0),
                                                      (3, 1))
    assert resolve_pairs([(2, 0)], (2, 1)) == ((2, 0), )
    with pytest.raises(ValueError, match=r"view pairs \[\(2, 0\)\] need more views than the "
                                         r'batch has \(2, in size groups \(2,\)\)'):
        resolve_pairs([(2, 0)], (2, ))
    with pytest.raises(ValueError, match='symmetric'):
        resolve_pairs('symmetric', (1, ))
    assert resolve_pairs('same_view', (2, 1)) == ((0, 0), (1, 1), (2, 2))
    assert resolve_pairs('same_view', (1, )) == ((0, 0), )
    assert resolve_pairs('adjacent', (3, )) == ((0, 1), (1, 2))
    assert resolve_pairs([(1, 1), (0, 1)], (2, )) == ((1, 1), (0, 1))


def test_a_view_with_itself_is_the_identity_geometry():
    from dense_ssl_mm.models.heads import DenseContrastHead
    head = DenseContrastHead(pairs='same_view')
    # a wide crop: bins of 40 x 5 px, where the threshold rule would pair vertical neighbours
    geometry = ViewData.from_tensors(torch.tensor([[[0.0, 0.0, 160.0, 20.0]]]),
                                     torch.zeros(1, 1, dtype=torch.bool))
    maps = [torch.randn(1, 8, 4, 4)]
    matches = head.match(maps, maps, geometry)
    assert matches.pairs == ((0, 0), )
    assert torch.equal(matches.matches[0].mask[0], torch.eye(16, dtype=torch.bool))
    loss = head.loss(maps, maps, geometry)['loss_pixpro']  # -2 cos(x, x) = -2
    assert torch.allclose(loss, torch.tensor(-2.0))
    with pytest.raises(ValueError, match=r'pairs must be non-empty \(query, key\) view '
                       r'indices >= 0, got \(\(0, -1\),\)'):
        DenseContrastHead(pairs=[(0, -1)])


def test_split_views_keeps_view_order():
    a, b = torch.randn(2, 3, 1, 8, 8), torch.randn(4, 3, 1, 4, 4)
    singles = split_views([a, b])
    assert len(singles) == 6 and torch.equal(singles[1], a[1]) and torch.equal(singles[5], b[3])
    assert [s.data_ptr() for s in split_views(a)] == [a[0].data_ptr(), a[1].data_ptr()]


def test_view_data_accepts_v_views_and_names_bad_shapes():
    data = ViewData.from_tensors(torch.zeros(4, 2, 4), torch.zeros(4, 2, dtype=torch.bool))
    assert data.num_views == 4
    assert ViewData.from_tensors(torch.zeros(1, 2, 4),
                                 torch.zeros(1, 2, dtype=torch.bool)).num_views == 1
    with pytest.raises(ValueError, match=r'V >= 1 views, got \(0, 2, 4\)'):
        ViewData.from_tensors(torch.zeros(0, 2, 4), torch.zeros(0, 2, dtype=torch.bool))
