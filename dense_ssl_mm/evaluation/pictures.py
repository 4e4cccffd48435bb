"""Pictures of dense features (uint8 RGB arrays; write with :func:`save_png`)."""
import os
import os.path as osp
from typing import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def save_png(path: str, rgb: np.ndarray) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise OSError(f'cannot write {path!r}')
    return path


def _uint8(images: Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` in [0, 255] -> ``(N, H, W, 3)`` uint8."""
    return images.clamp(0, 255).byte().permute(0, 2, 3, 1).cpu().numpy()


def pca_rgb(features: Tensor) -> Tensor:
    """``(N, C, h, w)`` -> ``(N, 3, h, w)`` in [0, 255]: the first three principal components
    of all cells of all maps together (one basis, so colours compare across images), each
    scaled to its 1st-99th percentile."""
    n, c, h, w = features.shape
    x = F.normalize(features.float(), dim=1).permute(0, 2, 3, 1).reshape(-1, c)
    x = x - x.mean(0)
    _, _, v = torch.linalg.svd(x, full_matrices=False)
    proj = x @ v[:3].t()
    lo, hi = torch.quantile(proj, 0.01, dim=0), torch.quantile(proj, 0.99, dim=0)
    proj = ((proj - lo) / (hi - lo).clamp(min=1e-6)).clamp(0, 1) * 255
    return proj.reshape(n, h, w, 3).permute(0, 3, 1, 2)


def pca_grid(images: Tensor, features: Tensor, columns: int = 4) -> np.ndarray:
    """Each image beside the PCA colours of its features (nearest-upsampled), in a grid."""
    size = images.shape[-2:]
    colours = F.interpolate(pca_rgb(features), size=size, mode='nearest')
    tiles = np.concatenate([_uint8(images), _uint8(colours)], axis=2)  # image | PCA
    rows = []
    for start in range(0, len(tiles), columns):
        row = list(tiles[start:start + columns])
        row += [np.zeros_like(tiles[0])] * (columns - len(row))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def match_lines(view1: Tensor, view2: Tensor, index: Tensor, error: Tensor, visible: Tensor,
                size: Sequence[int], max_lines: int = 80, seed: int = 0) -> np.ndarray:
    """Two views side by side; a line from a view-1 cell to its nearest view-2 cell, green if
    within one cell of the true location, red otherwise (at most ``max_lines``, drawn with a
    fixed seed among the visible cells).

    Args:
        view1, view2: ``(3, H, W)`` in [0, 255]. index, error, visible: ``(h*w,)`` of one pair.
        size: ``(h, w)`` of both feature maps.
    """
    a, b = _uint8(torch.stack([view1, view2]))
    canvas = np.ascontiguousarray(np.concatenate([a, b], axis=1))
    height, width = a.shape[:2]
    h, w = size
    cells = torch.nonzero(visible).flatten()
    gen = torch.Generator().manual_seed(seed)
    cells = cells[torch.randperm(len(cells), generator=gen)[:max_lines]]
    for cell in cells.tolist():
        i1, j1 = divmod(cell, w)
        i2, j2 = divmod(int(index[cell]), w)
        p1 = (int((j1 + 0.5) * width / w), int((i1 + 0.5) * height / h))
        p2 = (int((j2 + 0.5) * width / w) + width, int((i2 + 0.5) * height / h))
        colour = (40, 200, 40) if float(error[cell]) <= 1 else (220, 40, 40)
        cv2.line(canvas, p1, p2, colour, 1, cv2.LINE_AA)
        cv2.circle(canvas, p1, 2, colour, -1)
    return canvas


def similarity_map(view1: Tensor, view2: Tensor, feat1: Tensor, feat2: Tensor) -> np.ndarray:
    """View 1 with its centre cell marked, and view 2 overlaid with the cosine similarity of
    every cell to that query cell (red high, blue low).

    Args:
        view1, view2: ``(3, H, W)`` in [0, 255]; feat1, feat2: ``(C, h, w)``.
    """
    c, h, w = feat1.shape
    query = F.normalize(feat1[:, h // 2, w // 2], dim=0)
    sim = (F.normalize(feat2, dim=0) * query[:, None, None]).sum(0)  # [h2, w2] in [-1, 1]
    a, b = _uint8(torch.stack([view1, view2]))
    heat = ((sim + 1) / 2 * 255).byte().cpu().numpy()
    heat = cv2.resize(heat, (b.shape[1], b.shape[0]), interpolation=cv2.INTER_NEAREST)
    heat = cv2.cvtColor(cv2.applyColorMap(heat, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    overlay = (0.45 * b + 0.55 * heat).astype(np.uint8)
    a = np.ascontiguousarray(a)
    centre = (int((w // 2 + 0.5) * a.shape[1] / w), int((h // 2 + 0.5) * a.shape[0] / h))
    cv2.drawMarker(a, centre, (255, 255, 0), cv2.MARKER_CROSS, 14, 2)
    return np.concatenate([a, overlay], axis=1)
