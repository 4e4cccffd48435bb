"""Export the pretrained backbone (and optionally the neck) of a pretraining checkpoint.

    python tools/export_backbone.py CKPT OUT.pth [--branch online|momentum]
        [--detectron2 OUT.pkl] [--neck OUT_NECK.pth] [--layout mmdet|mmseg-vit|dinov2]

CKPT may also be any file the ViT import reads (an official DINOv2 release file, .pth or
.safetensors, a DDP save, a DINOv2 training checkpoint). OUT.pth is a flat weights-only state
dict for mmdet/mmseg ``init_cfg=dict(type='Pretrained', checkpoint=OUT.pth)`` and torchvision;
OUT.pkl is a detectron2 checkpoint. ``--neck`` also writes the pretrained FPN of a neck that
has one (VADeR's decoder), for mmdet's ``FPN``.
All outputs are written together or not at all; NaN/inf weights are refused.
"""
import argparse

from dense_ssl_mm.utils.cli import existing_file, run_tool
from dense_ssl_mm.apis.export import export_checkpoint


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', type=existing_file('checkpoint'),
                        help='pretraining checkpoint (Runner .pth)')
    parser.add_argument('out', help='output .pth (mmdet / mmseg / torchvision names)')
    parser.add_argument('--branch', choices=['online', 'momentum'], default=None,
                        help='online encoder (default, as PixPro exports) or momentum encoder; '
                        'of a DINOv2 training checkpoint: the teacher by default, online = '
                        'its student')
    parser.add_argument('--detectron2', metavar='PKL', help='also write a detectron2 .pkl')
    parser.add_argument('--neck', metavar='PTH', help='also write the pretrained neck')
    parser.add_argument('--layout', choices=['mmdet', 'mmseg-vit', 'dinov2'], default='mmdet',
                        help="mmdet: the backbone's names (ResNet: mmdet / mmseg / "
                        "torchvision); mmseg-vit: a ViT in mmseg's VisionTransformer names; "
                        "dinov2: a ViT in the official DINOv2 layout")
    args = parser.parse_args(argv)
    notes = []
    written = export_checkpoint(args.checkpoint, args.out, args.branch, args.detectron2,
                                args.neck, args.layout, notes=notes)
    if notes:
        print(f'read {args.checkpoint}: ' + '; '.join(notes))
    training = [n for n in notes if n.startswith('a DINOv2 training checkpoint')]
    branch = training[0].split()[5] if training else args.branch or 'online'
    for path, count in written.items():
        print(f'wrote {count} tensors ({branch}) to {path}')


if __name__ == '__main__':
    run_tool('export_backbone', main)
