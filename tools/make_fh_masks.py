"""Write DetCon's Felzenszwalb-Huttenlocher masks of every image under a folder, once.

    python tools/make_fh_masks.py IMAGES [--list FILE] [--mask-root DIR] [--processes N]
        [--scale 1000] [--min-size 1000] [--sigma 0.8]

The cache goes beside the images (``IMAGES_fh_masks/<relative path>.png``, 16-bit ids) where
``LoadFHMask(img_root=IMAGES)`` finds it. Resumable: a rerun computes only the missing masks
(each is written atomically, so an interrupted run leaves no half-written file; the temporary
files of a killed run are removed by the next). A cache made with other parameters, or one
without its fh_masks.json, is refused in one line (exit code 1).
"""
import argparse

from dense_ssl_mm.datasets import ImageFolderDataset, ImageListDataset
from dense_ssl_mm.datasets.fh_masks import FH_PARAMS, build_mask_cache
from dense_ssl_mm.utils.cli import run_tool


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('images', help='image root (as the dataset config)')
    parser.add_argument('--list', help='a file of image paths relative to IMAGES (default: '
                        'every image below IMAGES)')
    parser.add_argument('--mask-root', help='cache folder (default: IMAGES_fh_masks)')
    parser.add_argument('--processes', type=int, default=1)
    parser.add_argument('--scale', type=float, default=FH_PARAMS['scale'])
    parser.add_argument('--min-size', type=int, default=FH_PARAMS['min_size'])
    parser.add_argument('--sigma', type=float, default=FH_PARAMS['sigma'])
    args = parser.parse_args(argv)
    if args.processes < 1:
        parser.error(f'--processes must be >= 1, got {args.processes}')
    if args.list:
        dataset = ImageListDataset(data_root=args.images, ann_file=args.list, pipeline=[])
    else:
        dataset = ImageFolderDataset(data_root=args.images, pipeline=[])
    paths = [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    out = build_mask_cache(paths, args.images, args.mask_root, args.processes,
                           scale=args.scale, min_size=args.min_size, sigma=args.sigma)
    print(f"{out['written']} masks written, {out['present']} already there, "
          f"{len(out['failed'])} failed, {out['seconds']:.1f} s -> {out['mask_root']}")
    if out['swept']:
        print(f"removed {len(out['swept'])} temporary files of a killed run")
    for problem in out['failed']:
        print(f'  {problem}')
    return 1 if out['failed'] else 0


if __name__ == '__main__':
    run_tool('make_fh_masks', main)
