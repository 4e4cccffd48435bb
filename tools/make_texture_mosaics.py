"""Build the texture-mosaic segmentation set (real photos, known labels) for eval_dense.py.

    python tools/make_texture_mosaics.py OUT [--textures configs/eval/textures/*.jpg]
        [--train 16] [--val 8] [--size 224] [--seed 0]

Then: python tools/eval_dense.py CONFIG [CKPT] --seg-root OUT --work-dir DIR
"""
import argparse
import glob
import os.path as osp

from dense_ssl_mm.evaluation.mosaics import make_texture_mosaics
from dense_ssl_mm.utils.cli import run_tool

TEXTURES = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'eval',
                    'textures', '*.jpg')


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out')
    parser.add_argument('--textures', nargs='+', default=sorted(glob.glob(TEXTURES)))
    parser.add_argument('--train', type=int, default=16)
    parser.add_argument('--val', type=int, default=8)
    parser.add_argument('--size', type=int, default=224)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    done = make_texture_mosaics(args.textures, args.out, args.train, args.val, args.size,
                                seed=args.seed)
    print(f"wrote {done['train']} train and {done['val']} val mosaics of "
          f"{done['classes']} textures to {args.out}")


if __name__ == '__main__':
    run_tool('make_texture_mosaics', main)
