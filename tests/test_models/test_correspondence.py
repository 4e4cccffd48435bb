"""Cell correspondence on hand-worked cases."""
import pytest
import torch

from dense_ssl_mm.geometry.correspondence import (bin_diagonal, cell_centers,
                                                  normalized_center_distance, positive_mask,
                                                  project_points)
from dense_ssl_mm.models.losses import pixpro_consistency_loss
from dense_ssl_mm.structures import ViewData

F_ = torch.tensor([False])
T_ = torch.tensor([True])


def box(*xyxy):
    return torch.tensor([xyxy], dtype=torch.float64)


def test_cell_centres_inside_box_with_bin_spacing():
    b = box(10., 20., 50., 40.)  # 40 x 20 px
    c = cell_centers(b, F_, (2, 4)).view(2, 4, 2)
    # bin 10 x 10: centres at x = 15, 25, 35, 45 and y = 25, 35
    assert torch.allclose(c[0, :, 0], torch.tensor([15., 25., 35., 45.], dtype=torch.float64))
    assert torch.allclose(c[:, 0, 1], torch.tensor([25., 35.], dtype=torch.float64))
    assert torch.allclose(c[..., 0].diff(dim=1), torch.full((2, 3), 40. / 4, dtype=torch.float64))
    assert (c[..., 0] > 10).all() and (c[..., 0] < 50).all()
    assert (c[..., 1] > 20).all() and (c[..., 1] < 40).all()
    assert torch.allclose(bin_diagonal(b, (2, 4)), torch.tensor([200 ** 0.5], dtype=torch.float64))


def test_flipped_view_mirrors_columns():
    b = box(0., 0., 70., 70.)
    plain = cell_centers(b, F_, (7, 7)).view(7, 7, 2)
    flipped = cell_centers(b, T_, (7, 7)).view(7, 7, 2)
    assert torch.allclose(flipped, plain.flip(1))


def test_identical_crops_give_exactly_the_diagonal():
    b = box(5., 5., 229., 229.)
    mask = positive_mask(b, F_, (7, 7), b, F_, (7, 7), 0.7)
    assert torch.equal(mask[0], torch.eye(49, dtype=torch.bool))


def test_flipped_second_view_mirrors_positive_pairs():
    b = box(5., 5., 229., 229.)
    mask = positive_mask(b, F_, (7, 7), b, T_, (7, 7), 0.7)[0]
    # cell (i, j) of view 1 shows what cell (i, 6 - j) of the flipped view shows
    expected = torch.zeros(49, 49, dtype=torch.bool)
    for i in range(7):
        for j in range(7):
            expected[i * 7 + j, i * 7 + 6 - j] = True
    assert torch.equal(mask, expected)


def test_disjoint_crops_have_no_positive_and_zero_loss():
    b1, b2 = box(0., 0., 100., 100.), box(300., 300., 400., 400.)
    mask = positive_mask(b1, F_, (7, 7), b2, F_, (7, 7), 0.7)
    assert not mask.any()
    pred, target = torch.randn(1, 8, 7, 7), torch.randn(1, 8, 7, 7)
    loss = pixpro_consistency_loss(pred, target, mask)
    assert torch.isfinite(loss) and loss.item() == 0.0


def test_distance_scaled_by_larger_bin_diagonal():
    # view 2 is view 1 scaled x2 around the same origin: bins 10 x 10 and 20 x 20 px.
    b1, b2 = box(0., 0., 20., 20.), box(0., 0., 40., 40.)
    d = normalized_center_distance(b1, F_, (2, 2), b2, F_, (2, 2))[0]
    # centres: view 1 (5, 5), (15, 5), ...; view 2 (10, 10), (30, 10), ...; scale 20 * sqrt(2)
    expected = torch.cdist(torch.tensor([[5., 5.], [15., 5.], [5., 15.], [15., 15.]]),
                           torch.tensor([[10., 10.], [30., 10.], [10., 30.], [30., 30.]]))
    assert torch.allclose(d.float(), expected / (20 * 2 ** 0.5), atol=1e-6)


def test_matches_reference_normalised_formula_on_square_images():
    # The reference encodes a box as (x1/(W-1), y1/(H-1), (x2-1)/(W-1), (y2-1)/(H-1)). On a
    # square image that is a uniform rescaling up to the -1 px, so its distances equal ours
    # within a small tolerance and the masks differ only at pairs near the threshold. (On a
    # non-square image the reference measures in anisotropic normalised units; we measure in
    # pixels on purpose.)
    gen = torch.Generator().manual_seed(0)
    side = 400.
    xy = torch.rand(16, 2, generator=gen) * (side - 200)
    size = torch.rand(16, 2, generator=gen) * 150 + 50
    b1 = torch.cat([xy, xy + size], 1).double()
    b2 = b1.roll(1, 0)
    flips = torch.rand(16, generator=gen) > 0.5
    ours = normalized_center_distance(b1, flips, (7, 7), b2, ~flips, (7, 7))
    shift = torch.tensor([0., 0., 1., 1.], dtype=torch.float64)
    ref = normalized_center_distance((b1 - shift) / (side - 1), flips, (7, 7),
                                     (b2 - shift) / (side - 1), ~flips, (7, 7))
    assert ((ours - ref).abs() <= 0.03 * ours + 0.06).all()  # 1 px is up to 0.06 bins here
    disagree = (ours < 0.7) != (ref < 0.7)
    assert ((ours[disagree] - 0.7).abs() < 0.1).all()


def test_project_points_round_trip_and_visibility():
    b = box(10., 10., 50., 30.)
    pts = torch.tensor([[[10.5, 10.5], [30., 20.], [49.5, 29.5], [60., 20.]]], dtype=torch.float64)
    grid, inside = project_points(pts, b, F_)
    assert inside.tolist() == [[True, True, True, False]]
    assert torch.allclose(grid[0, 1], torch.zeros(2, dtype=torch.float64))
    gridf, _ = project_points(pts, b, T_)
    assert torch.allclose(gridf[..., 0], -grid[..., 0])
    assert torch.allclose(gridf[..., 1], grid[..., 1])


def official_positive_mask(coord_q, coord_k, size, threshold=0.7):
    """A direct transcription of the PixPro reference's mask formula (its units: crop coords
    normalised per axis, a flip stored by swapping x1 and x2)."""
    h, w = size
    xs = torch.arange(w, dtype=coord_q.dtype).view(1, 1, -1).repeat(1, h, 1)
    ys = torch.arange(h, dtype=coord_q.dtype).view(1, -1, 1).repeat(1, 1, w)

    def centres_and_diag(coord):
        bin_w = ((coord[:, 2] - coord[:, 0]) / w).view(-1, 1, 1)
        bin_h = ((coord[:, 3] - coord[:, 1]) / h).view(-1, 1, 1)
        cx = (xs + 0.5) * bin_w + coord[:, 0].view(-1, 1, 1)
        cy = (ys + 0.5) * bin_h + coord[:, 1].view(-1, 1, 1)
        return cx.view(-1, h * w), cy.view(-1, h * w), torch.sqrt(bin_w ** 2 + bin_h ** 2)

    qx, qy, qd = centres_and_diag(coord_q)
    kx, ky, kd = centres_and_diag(coord_k)
    dist = torch.sqrt((qx[:, :, None] - kx[:, None, :]) ** 2 +
                      (qy[:, :, None] - ky[:, None, :]) ** 2) / torch.max(qd, kd)
    return dist < threshold


def official_coords(boxes, flips, image_sizes):
    """What the reference's crop and flip transforms record for our (x1, y1, x2, y2) boxes."""
    h_img, w_img = image_sizes[:, 0], image_sizes[:, 1]
    x1, y1, x2, y2 = boxes.unbind(-1)
    coord = torch.stack([x1 / (w_img - 1), y1 / (h_img - 1), (x2 - 1) / (w_img - 1),
                         (y2 - 1) / (h_img - 1)], -1)
    swapped = coord[:, [2, 1, 0, 3]]
    return torch.where(flips[:, None], swapped, coord)


@pytest.mark.parametrize('image', [(480, 640), (300, 1000), (777, 333)])
def test_reference_distance_reproduces_the_official_mask(image):
    from dense_ssl_mm.registry import MODELS
    gen = torch.Generator().manual_seed(image[1])
    n, (h_img, w_img) = 64, image
    sizes = torch.tensor([[h_img, w_img]] * n, dtype=torch.float64)
    wh = (torch.rand(2, n, 2, generator=gen) * 0.6 + 0.3) * torch.tensor([w_img, h_img])
    xy = torch.rand(2, n, 2, generator=gen) * (torch.tensor([w_img, h_img]) - wh)
    boxes = torch.cat([xy, xy + wh], -1).round().double()  # integer pixels, as the crops
    flips = torch.rand(2, n, generator=gen) > 0.5
    head = MODELS.build(dict(type='DenseContrastHead',
                             matcher=dict(type='GeometricPositives', distance='reference')))
    feats = [torch.zeros(n, 1, 7, 7)] * 2
    geometry = ViewData.from_tensors(boxes, flips, sizes)
    ours = head.match(feats, feats, geometry).matches[0].mask
    official = official_positive_mask(official_coords(boxes[0], flips[0], sizes),
                                      official_coords(boxes[1], flips[1], sizes), (7, 7))
    assert int((ours != official).sum()) == 0 and int(official.sum()) > 0
    pixel = MODELS.build(dict(type='DenseContrastHead')).match(feats, feats,
                                                               geometry).matches[0].mask
    differing = float((pixel != official).any(-1).float().mean())  # cells whose positives change
    assert (differing > 0.05) == (max(image) / min(image) > 1.3)
    with pytest.raises(ValueError, match="distance='reference'\\) needs the original image"):
        head.match(feats, feats, ViewData.from_tensors(boxes, flips))
