"""The one implementation of view geometry -> feature-cell correspondence.

Convention (``MultiViewTransform`` writes it): a view's crop box is ``(x1, y1, x2, y2)`` in
original-image pixels with x2, y2 exclusive, never flipped; a separate flag says whether the
view was flipped horizontally. A feature map of ``H x W`` cells over that view splits the box
into equal bins: cell ``(i, j)`` has its centre at

    (x1 + (j + 0.5) * (x2 - x1) / W,  y1 + (i + 0.5) * (y2 - y1) / H)

and in a flipped view column ``j`` shows what column ``W - 1 - j`` would show unflipped.

The PixPro reference normalises boxes by ``(W_img - 1)`` and ``(H_img - 1)`` and encodes a
flip by swapping x1 and x2. On a square image its distances equal ours up to the one-pixel
offset (tested: within 3 % + 0.06 bins, masks differing only next to the threshold). On a non-square
image the reference measures distance in anisotropic normalised units; we measure in pixels,
deliberately, so that "0.7 bins" means the same in x and y.

Every function is batched over images (leading ``N``); nothing loops over images or cells.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

Size = Tuple[int, int]


def cell_centers(boxes: Tensor, flips: Tensor, size: Size) -> Tensor:
    """Centres of the cells of an ``H x W`` map over each view, in original-image pixels.

    Args:
        boxes: ``(N, 4)`` crop boxes ``(x1, y1, x2, y2)``.
        flips: ``(N,)`` bool, True where the view is flipped horizontally.
        size: ``(H, W)`` of the feature map.

    Returns:
        ``(N, H * W, 2)`` centres ``(x, y)``, cells in row-major order.
    """
    height, width = size
    n = boxes.shape[0]
    frac_x = (torch.arange(width, device=boxes.device, dtype=boxes.dtype) + 0.5) / width
    frac_y = (torch.arange(height, device=boxes.device, dtype=boxes.dtype) + 0.5) / height
    frac_x = torch.where(flips.view(n, 1), 1 - frac_x, frac_x)  # [N, W]
    x1, y1, x2, y2 = boxes.unbind(-1)
    cx = x1[:, None] + frac_x * (x2 - x1)[:, None]  # [N, W]
    cy = y1[:, None] + frac_y * (y2 - y1)[:, None]  # [N, H]
    centers = torch.stack(
        (cx[:, None, :].expand(n, height, width), cy[:, :, None].expand(n, height, width)), -1)
    return centers.reshape(n, height * width, 2)


def bin_diagonal(boxes: Tensor, size: Size) -> Tensor:
    """``(N,)`` length of one cell's diagonal in original-image pixels."""
    height, width = size
    bw = (boxes[:, 2] - boxes[:, 0]) / width
    bh = (boxes[:, 3] - boxes[:, 1]) / height
    return torch.sqrt(bw * bw + bh * bh)


def normalized_center_distance(boxes1: Tensor, flips1: Tensor, size1: Size, boxes2: Tensor,
                               flips2: Tensor, size2: Size) -> Tensor:
    """PixPro's distance between every cell of view 1 and every cell of view 2.

    Euclidean distance of the cell centres divided by the larger of the two views' bin
    diagonals, so it does not depend on the image size.

    Returns:
        ``(N, H1 * W1, H2 * W2)`` distances.
    """
    c1 = cell_centers(boxes1, flips1, size1)
    c2 = cell_centers(boxes2, flips2, size2)
    scale = torch.maximum(bin_diagonal(boxes1, size1), bin_diagonal(boxes2, size2))
    return torch.cdist(c1, c2) / scale[:, None, None]  # [N, HW1, HW2]


def reference_boxes(boxes: Tensor, image_sizes: Tensor) -> Tensor:
    """Boxes in the PixPro reference code's units: ``(x1 / (W - 1), y1 / (H - 1),
    (x2 - 1) / (W - 1), (y2 - 1) / (H - 1))`` per image (the reference's crops record their
    last pixel, not the exclusive end).

    Args:
        boxes: ``(N, 4)`` boxes in original-image pixels (x2, y2 exclusive).
        image_sizes: ``(N, 2)`` original ``(H, W)`` of each image.
    """
    height, width = image_sizes.to(boxes.dtype).unbind(-1)
    scale = torch.stack((width, height, width, height), -1) - 1
    shift = boxes.new_tensor([0., 0., 1., 1.])
    return (boxes - shift) / scale


def positive_mask(boxes1: Tensor, flips1: Tensor, size1: Size, boxes2: Tensor, flips2: Tensor,
                  size2: Size, threshold: float = 0.7) -> Tensor:
    """``(N, H1 * W1, H2 * W2)`` bool: cell pairs closer than ``threshold`` (PixPro's T)."""
    dist = normalized_center_distance(boxes1, flips1, size1, boxes2, flips2, size2)
    return dist < threshold


def project_points(points: Tensor, boxes: Tensor, flips: Tensor) -> Tuple[Tensor, Tensor]:
    """Where original-image points fall in a view, as ``grid_sample`` coordinates.

    Args:
        points: ``(N, P, 2)`` points ``(x, y)`` in original-image pixels.
        boxes: ``(N, 4)`` crop boxes of the view.
        flips: ``(N,)`` flip flags of the view.

    Returns:
        grid: ``(N, P, 2)`` coordinates in ``[-1, 1]`` over the view's extent (for
            ``F.grid_sample(..., align_corners=False)``: -1 and 1 are the outer edges).
        inside: ``(N, P)`` bool, True where the point lies inside the view's box.
    """
    x1, y1, x2, y2 = (v[:, None] for v in boxes.unbind(-1))
    gx = 2 * (points[..., 0] - x1) / (x2 - x1) - 1
    gy = 2 * (points[..., 1] - y1) / (y2 - y1) - 1
    gx = torch.where(flips[:, None], -gx, gx)
    inside = (gx > -1) & (gx < 1) & (gy > -1) & (gy < 1)
    return torch.stack((gx, gy), -1), inside


def sample_matched_pairs(boxes1: Tensor, flips1: Tensor, size1: Size, boxes2: Tensor,
                         flips2: Tensor, num_samples: int,
                         generator: Optional[torch.Generator] = None
                         ) -> Tuple[Tensor, Tensor, Tensor]:
    """Sample cells of view 1 whose centre is visible in view 2, with its place in view 2.

    For every image, ``num_samples`` cells are drawn uniformly without replacement among the
    cells of view 1's ``size1`` map whose centre falls inside view 2's crop box; where fewer
    are visible, the draw repeats visible cells (uniformly, with replacement) to fill the
    slots; an image with no visible cell gets ``valid=False`` everywhere.

    Returns:
        index: ``(N, P)`` long, flat cell indices into view 1's ``H1 * W1`` map.
        grid: ``(N, P, 2)`` the same image points in view 2, as ``grid_sample`` coordinates
            (``align_corners=False``): sub-pixel locations for bilinear sampling.
        valid: ``(N, P)`` bool.
    """
    centres = cell_centers(boxes1, flips1, size1)  # [N, HW1, 2]
    grid, inside = project_points(centres, boxes2, flips2)  # [N, HW1, 2], [N, HW1]
    n, cells = inside.shape
    scores = torch.rand(n, cells, device=inside.device, generator=generator)
    scores = scores.masked_fill(~inside, -1.0)
    order = scores.argsort(dim=1, descending=True)  # visible cells first, in random order
    count = inside.sum(1, keepdim=True)  # [N, 1]
    slot = torch.arange(num_samples, device=inside.device).expand(n, num_samples)
    # slots beyond the number of visible cells take a uniformly drawn visible one
    refill = (torch.rand(n, num_samples, device=inside.device, generator=generator) *
              count.clamp(min=1)).long()
    slot = torch.where(slot < count, slot, refill)
    index = order.gather(1, slot)  # [N, P]
    valid = (count > 0).expand(n, num_samples)
    matched = grid.gather(1, index[..., None].expand(n, num_samples, 2))
    return index, matched, valid


def shared_region_boxes(boxes: Tensor, flips: Tensor, size: Size, others: Tensor) -> Tensor:
    """The part of each view that other views also show, in cell units of its map.

    The intersection of the view's crop box with each other crop box, in the continuous
    coordinates of the view's ``H x W`` map (cell ``(i, j)`` spans ``[j, j + 1) x [i, i + 1)``,
    the convention of :func:`cell_centers`), mirrored where the view is flipped, so that
    RoIAlign with ``aligned=True`` pools exactly that region (NeCo's alignment; with a patch
    size ``p`` dividing the view this is the intersection in view pixels divided by ``p``).
    A disjoint pair gives a zero-width or zero-height box at the nearest edge.

    Args:
        boxes: ``(N, 4)`` crop boxes of the view.
        flips: ``(N,)`` its flip flags.
        size: ``(H, W)`` of its feature map.
        others: ``(N, K, 4)`` crop boxes of K other views of the same images.

    Returns:
        ``(N, K, 4)`` boxes ``(x1, y1, x2, y2)`` in cell units of the view's map.
    """
    height, width = size
    own = boxes[:, None, :]  # [N, 1, 4]
    top_left = torch.maximum(own[..., :2], others[..., :2])
    bottom_right = torch.maximum(torch.minimum(own[..., 2:], others[..., 2:]), top_left)
    origin, extent = own[..., :2], own[..., 2:] - own[..., :2]
    start = (top_left - origin) / extent  # [N, K, 2], fractions of the view
    end = (bottom_right - origin) / extent
    flip = flips.view(-1, 1)
    x1 = torch.where(flip, 1 - end[..., 0], start[..., 0]) * width
    x2 = torch.where(flip, 1 - start[..., 0], end[..., 0]) * width
    return torch.stack((x1, start[..., 1] * height, x2, end[..., 1] * height), -1)
