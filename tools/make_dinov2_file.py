"""Write a ViT with random weights in the official DINOv2 file layout (a stand-in for
``dinov2_vits14_pretrain.pth`` where nothing can be downloaded: demos and tests).

    python tools/make_dinov2_file.py OUT.pth [--arch small] [--patch-size 14]
        [--registers 0|4] [--seed 0]

With the real release file the same configs run unchanged: point
``model.backbone.init_cfg.checkpoint`` at it.
"""
import argparse

from dense_ssl_mm.apis.export import write_random_dinov2
from dense_ssl_mm.utils.cli import run_tool


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output .pth')
    parser.add_argument('--arch', choices=['tiny', 'small', 'base', 'large'], default='small')
    parser.add_argument('--patch-size', type=int, default=14)
    parser.add_argument('--registers', type=int, choices=[0, 4], default=0)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    written = write_random_dinov2(args.out, args.arch, args.patch_size, args.registers,
                                  args.seed)
    for path, count in written.items():
        print(f'wrote {count} tensors (random {args.arch}/{args.patch_size}, '
              f'{args.registers} registers, DINOv2 layout) to {path}')


if __name__ == '__main__':
    run_tool('make_dinov2_file', main)
