"""The OpenMMLab stack on CPU: compiled mmcv ops and mmdet/mmseg models from their configs."""
import os.path as osp

import torch
from mmcv.ops import nms, roi_align
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import InstanceData, PixelData

from ..conftest import REPO

CONFIGS = osp.join(REPO, 'tests', 'data', 'configs')


def test_nms_keeps_highest_and_drops_overlaps():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 11., 11.], [20., 20., 30., 30.],
                          [0., 0., 10., 9.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    # IoU(box3, box0) = 90/100 and IoU(box3, box1) = 72/118 > 0.5: both suppressed.
    assert keep.tolist() == [3, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.95, 0.7]))


def test_roi_align_matches_bilinear_average():
    # A linear ramp f(x, y) = x: bilinear sampling is exact, so each bin's average is the
    # x-coordinate of its centre.
    feat = torch.arange(8.).repeat(8, 1)[None, None]  # [1, 1, 8, 8], value = column index
    rois = torch.tensor([[0., 1., 1., 5., 5.]])  # box (1, 1) - (5, 5)
    out = roi_align(feat, rois, (2, 2), 1.0, 2, 'avg', True)
    # aligned=True maps box coordinates to pixel indices by -0.5: x in [0.5, 4.5], two bins
    # of width 2 whose samples (1, 2) and (3, 4) average to 1.5 and 3.5; every row alike.
    expected = torch.tensor([[1.5, 3.5], [1.5, 3.5]])
    assert torch.allclose(out[0, 0], expected, atol=1e-5)


def test_mask_rcnn_from_mmdet_config_forward_loss():
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmdet.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(CONFIGS, 'mask_rcnn_r50_fpn_tiny.py'))
    assert cfg.model.backbone.depth == 50 and cfg.model.type == 'MaskRCNN'
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(0)
    img = torch.randint(0, 255, (3, 96, 128), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(96, 128), ori_shape=(96, 128),
                                         pad_shape=(96, 128), scale_factor=(1., 1.)))
    gt = InstanceData()
    gt.bboxes = torch.tensor([[10., 10., 60., 50.]])
    gt.labels = torch.tensor([3])
    from mmdet.structures.mask import BitmapMasks
    mask = torch.zeros(1, 96, 128, dtype=torch.uint8)
    mask[0, 10:50, 10:60] = 1
    gt.masks = BitmapMasks(mask.numpy(), 96, 128)
    sample.gt_instances = gt
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), training=True)
    losses = model(**data, mode='loss')
    for key in ('loss_rpn_cls', 'loss_cls', 'loss_mask'):
        value = losses[key]
        value = sum(value) if isinstance(value, list) else value
        assert torch.isfinite(value) and value > 0, (key, value)
    model.eval()
    with torch.no_grad():
        result = model(**model.data_preprocessor(
            dict(inputs=[img], data_samples=[sample]), training=False), mode='predict')[0]
    boxes = result.pred_instances.bboxes
    assert boxes.shape[1] == 4 and boxes.shape[0] <= cfg.model.test_cfg.rcnn.max_per_img
    if len(boxes):
        assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 128).all()


def test_fcn_from_mmseg_config_forward():
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    from mmseg.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(osp.join(CONFIGS, 'fcn_r50_tiny.py'))
    assert cfg.model.decode_head.num_classes == 19
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    img = torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8)
    sample = SegDataSample(metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                                         pad_shape=(64, 64)))
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, 64, 64)))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), training=True)
    logits = model(data['inputs'], mode='tensor')
    assert logits.shape == (1, 19, 8, 8)  # dilated ResNet: output stride 8
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['decode.loss_ce']) and losses['decode.loss_ce'] > 0
