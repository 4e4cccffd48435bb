"""NeCo: the loss against a float64 loop (with diffsort's permutations), RoIAlign over shared
regions on ramp maps, the whole step against a per-pair, per-image loop, the reference
queues, gradients, the views' overlap rules, the recipe, a DINOv2-layout file in and out."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from diffsort import DiffSortNet  # test-only reference (diffsort 0.2.0)
from mmengine.config import Config
from torchvision.ops import roi_align

from dense_ssl_mm.geometry.crop_boxes import box_overlap_area
from dense_ssl_mm.models.algorithms.neco import neco_pairs
from dense_ssl_mm.models.losses.neighbour_sorting import neighbour_sorting_loss
from dense_ssl_mm.models.utils.queue import ReferenceQueue
from dense_ssl_mm.models.utils.region_align import align_shared_regions
from dense_ssl_mm.registry import MODELS, TRANSFORMS

from ..conftest import REPO


def tiny_neco_cfg(**overrides) -> dict:
    """ViT-Tiny/14 (no drop path, so train mode is deterministic), a 192-64-64-32 GELU head."""
    cfg = dict(
        type='NeCo',
        data_preprocessor=dict(type='ViewDataPreprocessor'),
        backbone=dict(type='ViT', arch='tiny', patch_size=14, img_size=56, layer_scale=1.0),
        neck=dict(type='ConvMLPNeck', in_channels=192, hid_channels=64, out_channels=32,
                  num_layers=3, norm_cfg=None, act_cfg=dict(type='GELU')),
        queue_size=64)
    cfg.update(overrides)
    return cfg


def build_neco(**overrides):
    torch.manual_seed(0)
    model = MODELS.build(tiny_neco_cfg(**overrides))
    model.init_weights()
    return model


def neco_batch(n=2, seed=0):
    """2 global views of 56 px and 2 local views of 28 px of n images of 100 x 120 px;
    boxes that overlap as NeCo's rules ask, some views flipped."""
    gen = torch.Generator().manual_seed(seed)
    views = [torch.randn(2, n, 3, 56, 56, generator=gen), torch.randn(2, n, 3, 28, 28,
                                                                      generator=gen)]
    boxes = torch.tensor([[0., 0., 80., 70.], [20., 10., 110., 95.], [30., 20., 60., 50.],
                          [50., 40., 90., 80.]])[:, None].repeat(1, n, 1)
    boxes[:, 1:] += torch.tensor([5., 3., 5., 3.])  # image 1 differs from image 0
    flips = torch.zeros(4, n, dtype=torch.bool)
    flips[1, 0] = flips[2, 1] = flips[3, 0] = True
    return dict(views=views, boxes=boxes, flips=flips)


# --- the loss ---------------------------------------------------------------------------

def loop_loss(student, teacher, references, steepness=100.0):
    """The formula with Python loops in float64; soft permutations from diffsort."""
    b_n, l_n, _ = student.shape
    r_n = references.shape[1]
    sorter = DiffSortNet('bitonic', r_n, steepness=steepness, distribution='cauchy')
    total = 0.0
    for b in range(b_n):
        for i in range(l_n):
            def sims(cell):
                return torch.tensor([[
                    float(cell @ references[b, j]) /
                    (math.sqrt(float(cell @ cell)) * math.sqrt(float(references[b, j] @
                                                                     references[b, j])))
                    for j in range(r_n)]], dtype=torch.float64)
            p = sorter(sims(student[b, i]))[1][0]
            q = sorter(sims(teacher[b, i]))[1][0]
            for k in range(r_n):
                for j in range(r_n):
                    total -= float(q[k, j]) * math.log(float(p[k, j]))
    return total / (b_n * l_n * r_n)


def test_loss_equals_a_float64_loop_with_diffsorts_permutations():
    gen = torch.Generator().manual_seed(0)
    student = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    teacher = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    refs = torch.randn(2, 6, 4, generator=gen, dtype=torch.float64)
    ours = neighbour_sorting_loss(student, teacher, refs)
    assert abs(float(ours) - loop_loss(student.detach(), teacher.detach(), refs)) < 1e-10
    ours.backward()
    assert teacher.grad is None and torch.isfinite(student.grad).all()
    assert student.grad.abs().sum() > 0
    # a different steepness for the teacher changes the value (the arguments are used)
    other = neighbour_sorting_loss(student, teacher, refs, teacher_steepness=10.0)
    assert abs(float(other) - float(ours)) > 1e-4


def test_loss_falls_as_the_student_learns_the_teachers_order():
    gen = torch.Generator().manual_seed(1)
    teacher = torch.randn(4, 9, 16, generator=gen)
    refs = torch.randn(4, 12, 16, generator=gen)
    student = torch.randn(4, 9, 16, generator=gen).requires_grad_()

    def agreement(x):  # mean correlation of the ranks of the similarities to the references
        ranks = [torch.einsum('bld,brd->blr', F.normalize(y, dim=-1), F.normalize(refs, dim=-1))
                 .argsort(-1).argsort(-1).float() - 5.5 for y in (x, teacher)]
        return float(F.cosine_similarity(*ranks, dim=-1).mean())

    before = agreement(student.detach())
    opt = torch.optim.Adam([student], lr=0.05)
    losses = []
    for _ in range(200):
        loss = neighbour_sorting_loss(student, teacher, refs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 2.0  # 4.45 -> about 1.7 (the teacher's own: 1.08)
    assert before < 0.1 and agreement(student.detach()) > 0.5  # it orders as the teacher


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r'student cells \(2, 3, 4\) and teacher cells '
                                         r'\(2, 5, 4\) differ'):
        neighbour_sorting_loss(torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 6, 4))
    with pytest.raises(ValueError, match=r'references \(3, 6, 4\) do not fit'):
        neighbour_sorting_loss(torch.randn(2, 3, 4), torch.randn(2, 3, 4), torch.randn(3, 6, 4))


# --- alignment over shared regions ------------------------------------------------------

def ramp_maps(boxes, flips, size):
    """Maps whose cells hold their centre's original-image (x, y), written independently:
    cell (i, j) of a view is at x1 + (j' + 0.5) * w / W, j' = W - 1 - j where flipped."""
    n = boxes.shape[0]
    h, w = size
    maps = torch.zeros(n, 2, h, w, dtype=torch.float64)
    for k in range(n):
        x1, y1, x2, y2 = boxes[k].tolist()
        for i in range(h):
            for j in range(w):
                jj = w - 1 - j if flips[k] else j
                maps[k, 0, i, j] = x1 + (jj + 0.5) * (x2 - x1) / w
                maps[k, 1, i, j] = y1 + (i + 0.5) * (y2 - y1) / h
    return maps


def test_aligned_cells_of_two_views_see_the_same_pixels():
    """Views drawn by NeCo's own view pipeline (some flipped here): bin (i, j) of the teacher's
    global view and of the student's other view hold the same original pixel, the bin's
    centre in the shared region; bins whose samples stay half a cell inside the maps are
    exact (a bilinear ramp), the others within the half cell that RoIAlign's border clamp
    moves them."""
    cfg = Config.fromfile(f'{REPO}/configs/_base_/datasets/neco_views.py')
    transform = TRANSFORMS.build(cfg.train_pipeline[1])
    np.random.seed(0)
    img = np.zeros((300, 400, 3), np.uint8)
    boxes = torch.stack([torch.from_numpy(transform(dict(img=img))['view_boxes'])
                         for _ in range(8)], 1)  # [6, 8, 4]
    flips = torch.rand(6, 8, generator=torch.Generator().manual_seed(0)) < 0.5
    sizes = [(16, 16)] * 2 + [(7, 7)] * 4  # 224 and 98 px views of a /14 ViT
    maps = [ramp_maps(boxes[v].double(), flips[v], sizes[v]) for v in range(6)]
    exact = total = 0
    for g, v in neco_pairs(6, 2):
        t = align_shared_regions(maps[g], boxes[g].double(), flips[g], boxes[v][:, None].double())
        s = align_shared_regions(maps[v], boxes[v].double(), flips[v], boxes[g][:, None].double())
        ix1 = torch.maximum(boxes[g][:, 0], boxes[v][:, 0]).double()
        ix2 = torch.minimum(boxes[g][:, 2], boxes[v][:, 2]).double()
        iy1 = torch.maximum(boxes[g][:, 1], boxes[v][:, 1]).double()
        iy2 = torch.minimum(boxes[g][:, 3], boxes[v][:, 3]).double()
        frac = (torch.arange(7, dtype=torch.float64) + 0.5) / 7
        want_x = ix1[:, None] + frac * (ix2 - ix1)[:, None]  # [N, 7] (bin columns)
        want_y = iy1[:, None] + frac * (iy2 - iy1)[:, None]  # [N, 7] (bin rows)
        for out, box, size in ((t[:, 0], boxes[g], sizes[g]), (s[:, 0], boxes[v], sizes[v])):
            cell_x = ((box[:, 2] - box[:, 0]) / size[1]).double()[:, None, None]
            cell_y = ((box[:, 3] - box[:, 1]) / size[0]).double()[:, None, None]
            err_x = (out[:, 0] - want_x[:, None, :]).abs()
            err_y = (out[:, 1] - want_y[:, :, None]).abs()
            assert (err_x <= 0.5 * cell_x + 1e-9).all() and (err_y <= 0.5 * cell_y + 1e-9).all()
            exact += int(((err_x < 1e-6) & (err_y < 1e-6)).sum())
            total += err_x.numel()
        assert ((t[:, 0] - s[:, 0]).abs().amax((1, 2, 3)) <
                0.5 * (boxes[g][:, 2] - boxes[g][:, 0]).double() / 16 +
                0.5 * (boxes[v][:, 2] - boxes[v][:, 0]).double() / 7 + 1e-9).all()
    assert exact / total > 0.5  # most bins are exact; the rest sit at a crop's edge
    # control: ignoring the flips puts flipped views' bins far from their pixels
    wrong = align_shared_regions(maps[1], boxes[1].double(), torch.zeros(8, dtype=torch.bool),
                                 boxes[0][:, None].double())
    right = align_shared_regions(maps[1], boxes[1].double(), flips[1],
                                 boxes[0][:, None].double())
    assert flips[1].any() and (wrong - right).abs().max() > 5


# --- the whole step ---------------------------------------------------------------------

def test_step_equals_a_per_pair_per_image_loop():
    model = build_neco()
    batch = neco_batch()
    drawn = []
    sample = model.reference_queue.sample

    def recording(which, count, generator=None):
        refs = sample(which, count, generator)
        drawn.append(refs)
        return refs

    model.reference_queue.sample = recording
    loss = model(batch, mode='loss')['loss_neco']
    refs = drawn[0]
    pairs = neco_pairs(4, 2)
    assert refs.shape == (len(pairs), 2 * 49, 32)
    refs = refs.reshape(len(pairs), 2, 49, 32)
    views = [batch['views'][0][0], batch['views'][0][1], batch['views'][1][0],
             batch['views'][1][1]]
    boxes, flips = batch['boxes'], batch['flips']

    def region(feat, own, other, flip):  # unflip the map instead of mirroring the box
        x1, y1 = max(own[0], other[0]), max(own[1], other[1])
        x2, y2 = min(own[2], other[2]), min(own[3], other[3])
        sx = feat.shape[-1] / (own[2] - own[0])
        sy = feat.shape[-2] / (own[3] - own[1])
        roi = torch.tensor([[0., (x1 - own[0]) * sx, (y1 - own[1]) * sy, (x2 - own[0]) * sx,
                             (y2 - own[1]) * sy]])
        feat = feat.flip(-1) if flip else feat
        return roi_align(feat, roi, 7, 1.0, -1, True)[0].flatten(1).T  # [49, D]

    total = []
    with torch.no_grad():
        for p, (g, v) in enumerate(pairs):
            for n in range(2):
                t = F.normalize(model.target_neck(model.target_backbone(views[g][n:n + 1])), dim=1)
                s = F.normalize(model.neck(model.backbone(views[v][n:n + 1])), dim=1)
                own_g, own_v = boxes[g, n].tolist(), boxes[v, n].tolist()
                total.append(neighbour_sorting_loss(
                    region(s, own_v, own_g, bool(flips[v, n]))[None],
                    region(t, own_g, own_v, bool(flips[g, n]))[None], refs[p, n][None]))
    assert abs(float(loss) - float(torch.stack(total).mean())) < 1e-5


def test_step_fills_the_queues_with_teacher_patches_and_spares_the_teacher():
    model = build_neco()
    batch = neco_batch()
    loss = model(batch, mode='loss')['loss_neco']
    queue = model.reference_queue
    assert int(queue.filled) == int(queue.ptr) == 2 * 10  # 10 per image and global view
    with torch.no_grad():
        for g in range(2):
            teacher = F.normalize(model.target_neck(model.target_backbone(
                batch['views'][0][g])), dim=1).permute(0, 2, 3, 1).reshape(-1, 32)
            pushed = queue.queue[g, :20]
            dist = torch.cdist(pushed, teacher,
                               compute_mode='donot_use_mm_for_euclid_dist').min(1).values
            assert dist.max() < 1e-5  # every pushed entry is one of view g's teacher patches
            assert (queue.queue[g, 20:] == 0).all()
    loss.backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith('target_'))
    assert model.backbone.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert model.neck.mlp[0].weight.grad.abs().sum() > 0


def test_step_rejects_views_without_their_global_group():
    model = build_neco()
    batch = neco_batch()
    batch['views'] = [batch['views'][0][:1], batch['views'][0][1:], batch['views'][1]]
    with pytest.raises(ValueError, match=r'NeCo needs its 2 global views first, in one size '
                                         r'group; got view groups \(1, 1, 2\)'):
        model(batch, mode='loss')


def test_target_has_no_drop_path_and_the_student_keeps_it():
    model = build_neco(backbone=dict(type='ViT', arch='tiny', patch_size=14, img_size=56,
                                     drop_path_rate=0.1))
    assert model.backbone.blocks[-1].drop_path1.drop_prob > 0
    assert all(getattr(m, 'drop_prob', 0.0) == 0.0 for m in model.target_backbone.modules())
    x = torch.randn(2, 3, 56, 56)
    model.train()
    assert torch.equal(model.target_backbone(x)[-1], model.target_backbone(x)[-1])


# --- reference queue --------------------------------------------------------------------

def test_reference_queue_draws_only_filled_entries_without_replacement():
    queue = ReferenceQueue(2, 10, 3)
    keys = torch.arange(2 * 4 * 3, dtype=torch.float).reshape(2, 4, 3) + 1
    queue.enqueue(keys)
    assert int(queue.filled) == 4 and int(queue.ptr) == 4
    which = torch.tensor([0, 1, 1])
    draw = queue.sample(which, 4)  # exactly the filled ones, each once
    for p, g in enumerate(which.tolist()):
        assert sorted(draw[p][:, 0].tolist()) == sorted(keys[g][:, 0].tolist())
    draw = queue.sample(which, 9)  # more than filled: every filled entry, repeated
    assert set(draw[0][:, 0].tolist()) == set(keys[0][:, 0].tolist())
    queue.enqueue(keys + 100)
    queue.enqueue(keys + 200)  # 12 written into 10 slots: the oldest 2 are gone
    assert int(queue.filled) == 10 and int(queue.ptr) == 2
    left = set(queue.queue[0, :, 0].tolist())
    assert left == set((keys[0, 2:, 0]).tolist()) | set((keys[0, :, 0] + 100).tolist()) | \
        set((keys[0, :, 0] + 200).tolist())


# --- views ------------------------------------------------------------------------------

def test_neco_views_keep_the_overlap_rules():
    cfg = Config.fromfile(f'{REPO}/configs/_base_/datasets/neco_views.py')
    transform = TRANSFORMS.build(cfg.train_pipeline[1])
    np.random.seed(1)
    img = np.zeros((240, 320, 3), np.uint8)
    area = 240 * 320
    for _ in range(200):
        out = transform(dict(img=img))
        b = [tuple(x) for x in out['view_boxes'].tolist()]
        assert not out['view_fallbacks'].any() and not out['view_flips'].any()
        assert box_overlap_area(b[1], b[0]) >= 0.02 * area
        for k in range(2, 6):
            assert min(box_overlap_area(b[k], b[0]), box_overlap_area(b[k], b[1])) >= 0.01 * area
            assert (b[k][2] - b[k][0]) * (b[k][3] - b[k][1]) <= 0.25 * area * 1.02
    assert [v.shape[:2] for v in out['views']] == [(224, 224)] * 2 + [(98, 98)] * 4


def test_impossible_overlap_falls_back_to_the_anchors_intersection():
    crop = dict(type='RandomResizedCropWithBox', size=16, scale=(0.01, 0.02), max_attempts=5)
    transform = TRANSFORMS.build(dict(
        type='MultiViewTransform', view_pipelines=[[dict(crop, scale=(0.5, 0.6))]] * 2 +
        [[crop]], overlap_anchors=2, min_overlap_fraction=[0.0, 0.0, 0.2]))
    np.random.seed(0)
    out = transform(dict(img=np.zeros((100, 100, 3), np.uint8)))
    b = out['view_boxes']
    inter = [max(b[0, 0], b[1, 0]), max(b[0, 1], b[1, 1]), min(b[0, 2], b[1, 2]),
             min(b[0, 3], b[1, 3])]
    if (inter[2] - inter[0]) * (inter[3] - inter[1]) >= 0.2 * 100 * 100:
        assert out['view_fallbacks'][2] and np.allclose(b[2], inter)
    else:  # the anchors share too little: the first anchor's box
        assert out['view_fallbacks'][2] and np.allclose(b[2], b[0])


def test_overlap_fractions_are_checked():
    crop = dict(type='RandomResizedCropWithBox', size=16)
    with pytest.raises(ValueError, match='min_overlap_fraction has 2 entries for 3 view'):
        TRANSFORMS.build(dict(type='MultiViewTransform', view_pipelines=[[crop]] * 3,
                              min_overlap_fraction=[0.0, 0.1]))
    with pytest.raises(ValueError, match=r'min_overlap_fraction\[1\]'):
        TRANSFORMS.build(dict(type='MultiViewTransform', view_pipelines=[[crop]] * 2,
                              min_overlap_fraction=[0.0, 1.5]))
    with pytest.raises(ValueError, match='overlap_anchors'):
        TRANSFORMS.build(dict(type='MultiViewTransform', view_pipelines=[[crop]] * 2,
                              overlap_anchors=3))


def test_device_views_refuse_the_multi_anchor_rule():
    from dense_ssl_mm.engine.speed import to_device_views
    cfg = Config.fromfile(f'{REPO}/configs/neco_vit-s14_dinov2_coco.py')
    with pytest.raises(ValueError, match='min_overlap_fraction=.*keep the views on the CPU'):
        to_device_views(cfg)


def test_recomputing_the_sorting_network_in_chunks_changes_nothing():
    gen = torch.Generator().manual_seed(3)
    student = torch.randn(3, 7, 8, generator=gen, dtype=torch.float64, requires_grad=True)
    teacher, refs = torch.randn(3, 7, 8, generator=gen), torch.randn(3, 9, 8, generator=gen)
    grads, values = [], []
    for rows in (None, 5, 64):  # 21 cells: chunks of 5 (the last one short), one chunk
        student.grad = None
        loss = neighbour_sorting_loss(student, teacher.double(), refs.double(),
                                      recompute_rows=rows)
        loss.backward()
        values.append(float(loss.detach()))
        grads.append(student.grad.clone())
    for value, grad in zip(values[1:], grads[1:]):
        assert abs(value - values[0]) < 1e-12 and (grad - grads[0]).abs().max() < 1e-12
    assert grads[0].abs().sum() > 0


def test_alignment_of_bf16_maps_keeps_float32_boxes():
    """bf16 maps (autocast) are pooled over float32 boxes: maps holding their cell index
    (exact in bf16) give the same bins as in float32; boxes rounded to bf16 would move them
    by about 1e-2 cells."""
    boxes = torch.tensor([[13.0, 7.0, 413.0, 311.0]])
    others = torch.tensor([[[101.3, 57.9, 377.7, 299.1]]])
    flips = torch.zeros(1, dtype=torch.bool)
    cols = torch.arange(16.0).expand(16, 16)
    index_map = torch.stack((cols, cols.T))[None]  # [1, 2, 16, 16]: column, row
    full = align_shared_regions(index_map, boxes, flips, others)
    half = align_shared_regions(index_map.bfloat16(), boxes, flips, others)
    assert full.dtype == half.dtype == torch.float32
    assert (half - full).abs().max() < 1e-6
    rounded = align_shared_regions(index_map, boxes.bfloat16().float(), flips,
                                   others.bfloat16().float())
    assert (rounded - full).abs().max() > 1e-3  # what bf16 boxes would have done
