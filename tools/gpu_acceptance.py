"""One command for the first GPU hour: every speed and memory figure, within a time budget.

    python tools/gpu_acceptance.py [--out DIR] [--budget 480] [--official PIXPRO_CHECKOUT]
    python tools/gpu_acceptance.py --dry-run      # every stage, one step, CPU, tiny sizes

Writes DIR/gpu_report.md and DIR/gpu_report.json (default DIR: work_dirs/gpu_acceptance) and
prints the tables. On a GPU image without OpenMMLab, run tools/gpu_acceptance.sh instead: it
installs the carried pure-Python wheels first.
"""
import argparse
import os.path as osp

from dense_ssl_mm.operations.acceptance import format_report, run_acceptance
from dense_ssl_mm.utils.cli import run_tool

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=osp.join('work_dirs', 'gpu_acceptance'))
    parser.add_argument('--budget', type=float, default=480.0,
                        help='wall-time budget in seconds (stages share it; default 8 min)')
    parser.add_argument('--official', help='a checkout of the official PixPro code '
                        '(github.com/zdaxie/PixPro) to time its step beside ours')
    parser.add_argument('--dry-run', action='store_true',
                        help='every stage for one step on the CPU with tiny sizes')
    args = parser.parse_args(argv)
    if args.official and not osp.isdir(args.official):
        parser.error(f'--official {args.official!r} is not a directory')
    report = run_acceptance(ROOT, args.out, args.budget, args.dry_run, args.official)
    print(format_report(report))
    print(f'report: {osp.join(args.out, "gpu_report.md")} (+ gpu_report.json)')
    failed = [name for name, stage in report['stages'].items()
              if any(str(r.get('status', 'ok')).startswith('failed') for r in stage['rows'])]
    return 1 if failed else 0


if __name__ == '__main__':
    run_tool('gpu_acceptance', main)
