"""Hummingbird retrieval against float64 loops over the reference's rules, and end to end."""
import math

import pytest
import torch
import torch.nn.functional as F

from dense_ssl_mm.evaluation.metrics.knn import nearest, transfer_labels
from dense_ssl_mm.evaluation.protocols.hummingbird import (CROP_RATIO, CROP_SCALE,
                                                           augment_pair, build_memory,
                                                           hummingbird_predict,
                                                           hungarian_miou, sample_cells,
                                                           soft_cell_labels)
from dense_ssl_mm.geometry.crop_boxes import TorchDraws, draw_crop_box


def test_label_transfer_equals_a_loop_over_the_formula():
    gen = torch.Generator().manual_seed(0)
    memory = F.normalize(torch.randn(40, 5, generator=gen, dtype=torch.float64), dim=1)
    labels = torch.rand(40, 3, generator=gen, dtype=torch.float64)
    labels = labels / labels.sum(1, keepdim=True)
    queries = torch.randn(6, 5, generator=gen, dtype=torch.float64) * 3  # not normalised
    for backend in ('torch', 'faiss'):
        ours = transfer_labels(memory.float(), labels.float(), queries.float(), k=7,
                               temperature=0.02, backend=backend).double()
        for q in range(6):
            ip = [float(queries[q] @ memory[m]) for m in range(40)]
            top = sorted(range(40), key=lambda m: -ip[m])[:7]
            cos = [ip[m] / float(queries[q].norm()) for m in top]
            weights = [math.exp(c / 0.02) for c in cos]
            expected = sum(w * labels[m] for w, m in zip(weights, top)) / sum(weights)
            assert torch.allclose(ours[q], expected, atol=1e-5), (backend, q)


def test_faiss_and_torch_find_the_same_neighbours():
    gen = torch.Generator().manual_seed(1)
    memory = F.normalize(torch.randn(3000, 32, generator=gen), dim=1)
    queries = torch.randn(200, 32, generator=gen)
    s_faiss, i_faiss = nearest(memory, queries, 30, 'faiss')
    s_torch, i_torch = nearest(memory, queries, 30, 'torch', chunk=64)
    assert torch.equal(i_faiss, i_torch)
    assert torch.allclose(s_faiss, s_torch, atol=1e-5)


def test_soft_cell_labels_count_ignore_as_background():
    labels = torch.tensor([[[1, 1, 2, 2], [1, 255, 2, 2], [0, 0, 0, 0], [0, 0, 1, 0]]],
                          dtype=torch.uint8)
    soft = soft_cell_labels(labels, 3, 2)  # 2 x 2 cells of 2 x 2 pixels
    assert soft.shape == (1, 4, 3)
    assert torch.allclose(soft[0], torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 1.0],
                                                 [1.0, 0.0, 0.0], [0.75, 0.25, 0.0]]))


def test_cell_sampling_equals_the_reference_rule_by_loops():
    gen = torch.Generator().manual_seed(2)
    labels = torch.randint(0, 4, (3, 8, 8), generator=gen, dtype=torch.uint8)
    labels[0] = 0
    labels[0, :2, :2] = 3  # image 0: a rare class in one cell
    soft = soft_cell_labels(labels, 5, 4)  # 16 cells
    ours = sample_cells(soft, 5, torch.Generator().manual_seed(9))
    noise = torch.rand(3, 16, generator=torch.Generator().manual_seed(9))
    for n in range(3):
        present = [{c for c in range(5) if soft[n, cell, c] > 0} for cell in range(16)]
        class_cells = {c: sum(c in p for p in present) for c in range(5)}
        scores = [sum(class_cells[c] for c in p) * float(noise[n, i])
                  for i, p in enumerate(present)]
        expected = sorted(range(16), key=lambda i: scores[i])[:5]
        assert sorted(ours[n].tolist()) == sorted(expected)
    # the rare class's cell (score 1 x u) is kept far more often than a common cell would be
    kept = sum(0 in sample_cells(soft[:1], 1, torch.Generator().manual_seed(s))[0].tolist()
               for s in range(200))
    assert kept > 100  # uniform choice among 16 cells would keep it ~12 times


def test_crop_params_follow_torchvision_rule():
    gen = torch.Generator().manual_seed(3)

    def crop_params(height, width):
        (x1, y1, x2, y2), _ = draw_crop_box(height, width, CROP_SCALE, CROP_RATIO,
                                            TorchDraws(gen))
        return int(y1), int(x1), int(y2 - y1), int(x2 - x1)

    areas = []
    for _ in range(500):
        top, left, h, w = crop_params(100, 150)
        assert 0 <= top and top + h <= 100 and 0 <= left and left + w <= 150
        areas.append(h * w / 15000)
    assert min(areas) >= 0.45 and max(areas) <= 1.0  # scale 0.5-2.0 capped by the image
    assert crop_params(10, 1000)[2:] == (10, 13)  # no fit: centred, ratio clamped 4/3


def test_hungarian_miou_by_hand():
    labels = torch.tensor([[0, 0, 1, 1, 2, 255]])
    swapped = torch.tensor([[1, 1, 0, 0, 2, 0]])  # classes 0 and 1 swapped, one ignored
    assert hungarian_miou(swapped, labels, 3)['miou'] == pytest.approx(1.0)
    assert hungarian_miou(swapped, labels, 3, match=False)['miou'] == pytest.approx(1 / 3)
    assert not hungarian_miou(swapped, labels, 3)['identity_mapping']
    # a class absent from labels and predictions counts 0 (mean over all classes)
    assert hungarian_miou(labels.clamp(max=2), labels, 4)['miou'] == pytest.approx(0.75)


def colour_scene(gen, size=48):
    """An image of three colour regions; class = which pure colour a pixel has."""
    labels = torch.zeros(size, size, dtype=torch.uint8)
    cut1, cut2 = (int(torch.randint(12, 36, (1, ), generator=gen)) for _ in range(2))
    labels[:, cut1:] = 1
    labels[cut2:, :] = 2
    colours = torch.tensor([[220., 30, 30], [30, 220, 30], [30, 30, 220]])
    return colours[labels.long()].permute(2, 0, 1), labels


def colour_features(images):
    """Features that see colour: the mean RGB of 8 x 8 cells, centred."""
    return F.avg_pool2d(images, 8) - 127.5


def test_end_to_end_retrieval_recovers_colour_classes():
    gen = torch.Generator().manual_seed(4)
    train = [colour_scene(gen) for _ in range(6)]
    val_images, val_labels = zip(*[colour_scene(gen) for _ in range(3)])
    val_images = torch.stack([F.interpolate(i[None], size=(64, 64), mode='bilinear')[0]
                              for i in val_images])
    val_labels = torch.stack([F.interpolate(lab[None, None].float(), size=(64, 64))[0, 0]
                              for lab in val_labels]).to(torch.uint8)
    memory, mem_labels = build_memory(colour_features, train, 64, 3, passes=2,
                                      memory_size=300, batch_size=4)
    assert memory.shape[0] == 6 * 2 * 25  # K = 300 // (6 x 2) = 25 cells per image
    pred = hummingbird_predict(colour_features, memory, mem_labels, val_images, k=5,
                               temperature=0.02)
    assert hungarian_miou(pred, val_labels, 3)['miou'] > 0.85
    noise = torch.randn(2000, memory.shape[1])  # features that know nothing
    rand_pred = hummingbird_predict(lambda x: F.avg_pool2d(torch.randn(x.shape), 8), noise,
                                    mem_labels[torch.randint(0, len(mem_labels), (2000, ))],
                                    val_images, k=5, temperature=0.02)
    assert hungarian_miou(rand_pred, val_labels, 3)['miou'] < 0.6


def test_augment_pair_keeps_image_and_mask_aligned():
    gen = torch.Generator().manual_seed(5)
    image, labels = colour_scene(gen, 96)
    for _ in range(20):
        out, lab = augment_pair(image, labels, 32, gen)
        assert out.shape == (3, 32, 32) and lab.shape == (32, 32)
        dominant = out.argmax(0)  # the colour channel = the class, wherever a region is pure
        pure = F.max_pool2d(lab[None].float(), 3, 1, 1)[0] == \
            -F.max_pool2d(-lab[None].float(), 3, 1, 1)[0]
        assert (dominant[pure] == lab[pure].long()).float().mean() > 0.98


def write_scenes(folder, count, gen, size=48):
    """``count`` colour scenes as JPEG images + PNG masks; their path pairs."""
    import numpy as np
    from PIL import Image
    folder.mkdir(parents=True, exist_ok=True)
    pairs = []
    for i in range(count):
        image, labels = colour_scene(gen, size)
        Image.fromarray(image.permute(1, 2, 0).byte().numpy()).save(folder / f'{i}.png')
        Image.fromarray(labels.numpy().astype(np.uint8)).save(folder / f'{i}_mask.png')
        pairs.append((str(folder / f'{i}.png'), str(folder / f'{i}_mask.png')))
    return pairs


def test_linear_protocol_learns_colour_classes_at_its_resolution(tmp_path):
    from dense_ssl_mm.evaluation.protocols.linear import linear_probe_protocol
    gen = torch.Generator().manual_seed(6)
    train, val = write_scenes(tmp_path / 't', 8, gen), write_scenes(tmp_path / 'v', 3, gen)

    def features(x):
        return (F.avg_pool2d(x, 8) - 127.5) / 100

    out = linear_probe_protocol(features, train, val, 3, size=64, resolution=32, epochs=10,
                                lr=0.5, batch_size=4)
    assert out['miou'] > 0.8 and out['settings']['resolution'] == '32 x 32'
    assert out['settings']['milestone'] == 8  # x 0.1 at 80 % of a shortened schedule
    full = linear_probe_protocol(features, train, val, 3, size=64, resolution='full',
                                 epochs=2, lr=0.5, batch_size=4)
    assert full['settings']['resolution'].startswith('64 x 64 (full')
    blind = linear_probe_protocol(lambda x: torch.randn(x.shape[0], 3, 8, 8), train, val, 3,
                                  size=64, resolution=32, epochs=3, lr=0.5, batch_size=4)
    assert blind['miou'] < out['miou'] - 0.3
