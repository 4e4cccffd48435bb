"""Export the pretrained backbone (and optionally the neck) of a pretraining checkpoint.

    python tools/export_backbone.py CKPT OUT.pth [--branch online|momentum]
        [--detectron2 OUT.pkl] [--neck OUT_NECK.pth]

OUT.pth is a flat weights-only state dict for mmdet/mmseg ``init_cfg=dict(type='Pretrained',
checkpoint=OUT.pth)`` and torchvision; OUT.pkl is a detectron2 checkpoint. ``--neck`` also
writes the pretrained FPN of a neck that has one (VADeR's decoder), for mmdet's ``FPN``.
"""
import argparse
import io
import os.path as osp
import pickle
import sys

import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from dense_ssl_mm.utils.checkpoint import AtomicLocalBackend  # noqa: E402
from dense_ssl_mm.utils.export import (extract_module, load_model_state,  # noqa: E402
                                       to_detectron2)


def atomic_write(path: str, write) -> None:
    """Serialise with ``write(file)`` and write atomically (the package's checkpoint backend)."""
    buffer = io.BytesIO()
    write(buffer)
    AtomicLocalBackend().put(buffer.getvalue(), path)


def export(ckpt: str, out: str, branch: str = 'online', detectron2: str = None,
           neck: str = None) -> dict:
    """Write the requested files; return {path: number of tensors}."""
    state = load_model_state(ckpt)
    backbone = extract_module(state, 'backbone', branch)
    written = {}
    atomic_write(out, lambda f: torch.save(dict(backbone), f))
    written[out] = len(backbone)
    if detectron2:
        model = to_detectron2(backbone)
        blob = {'model': model, '__author__': f'dense_ssl_mm ({branch} backbone of {ckpt})',
                'matching_heuristics': True}
        atomic_write(detectron2, lambda f: pickle.dump(blob, f))
        written[detectron2] = len(model)
    if neck:
        # VADeR's decoder holds an mmdet FPN as `neck.fpn`: its weights load into mmdet's FPN.
        neck_state = extract_module(state, 'neck.fpn', branch)
        atomic_write(neck, lambda f: torch.save(dict(neck_state), f))
        written[neck] = len(neck_state)
    return written


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='pretraining checkpoint (Runner .pth)')
    parser.add_argument('out', help='output .pth (mmdet / mmseg / torchvision names)')
    parser.add_argument('--branch', choices=['online', 'momentum'], default='online',
                        help='online encoder (default, as PixPro exports) or momentum encoder')
    parser.add_argument('--detectron2', metavar='PKL', help='also write a detectron2 .pkl')
    parser.add_argument('--neck', metavar='PTH', help='also write the pretrained neck')
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint {args.checkpoint!r} does not exist')
    try:
        written = export(args.checkpoint, args.out, args.branch, args.detectron2, args.neck)
    except (KeyError, ValueError, RuntimeError) as err:
        sys.exit(f'export_backbone: {err}')
    for path, count in written.items():
        print(f'wrote {count} tensors ({args.branch}) to {path}')


if __name__ == '__main__':
    main()
