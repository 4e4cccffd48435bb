"""Export a pretrained backbone, fine-tune and evaluate benchmark configs, write a table.

    python tools/benchmark_transfer.py PRETRAIN --configs CFG [CFG ...] [--work-dir DIR]
        [--branch online|momentum] [--launcher none|pytorch|slurm] [--gpus N]
        [--name METHOD] [--cfg-options k=v ...]

PRETRAIN is a pretraining checkpoint or work dir (its latest checkpoint is used). For each
config: tools/train.py with ``pretrained=<exported backbone>``, then tools/test.py on the
last checkpoint. Per-run logs go to DIR/<config>/{train,test}.log; the table (ours beside
the published numbers each config lists in ``paper_results``) to DIR/results.{md,csv} and
stdout. A failed run is reported in the table and makes the exit status 1.
"""
import argparse
import csv
import glob
import json
import os
import os.path as osp

from mmengine.config import Config

from dense_ssl_mm.utils.cli import check_config_key, run_tool
from dense_ssl_mm.apis.export import export_checkpoint as export
from dense_ssl_mm.apis.launch import TEST, TRAIN, module_command, run_logged

# metric key written by the evaluator -> (column, key in paper_results, scale to percent)
METRICS = {
    'coco/bbox_mAP': ('box AP', 'bbox_mAP', 100.0),
    'coco/segm_mAP': ('mask AP', 'segm_mAP', 100.0),
    'pascal_voc/mAP': ('VOC AP', 'mAP', 100.0),
    'pascal_voc/AP50': ('VOC AP50', 'AP50', 100.0),
    'mIoU': ('mIoU', 'mIoU', 1.0),
}


def resolve_checkpoint(path: str) -> str:
    if osp.isfile(path):
        return path
    if not osp.isdir(path):
        raise FileNotFoundError(f'pretraining checkpoint or work dir {path!r} does not exist')
    last = osp.join(path, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            ckpt = f.read().strip()
        if osp.isfile(ckpt):
            return ckpt
    ckpts = sorted(glob.glob(osp.join(path, '*.pth')), key=osp.getmtime)
    if not ckpts:
        raise FileNotFoundError(f'no checkpoint (*.pth or last_checkpoint) in {path!r}')
    return ckpts[-1]


def benchmark(config: str, pretrained: str, work_dir: str, args) -> dict:
    name = osp.splitext(osp.basename(config))[0]
    run_dir = osp.join(work_dir, name)
    os.makedirs(run_dir, exist_ok=True)
    options = [f'pretrained={pretrained}'] + (args.cfg_options or [])
    print(f'[{name}] fine-tuning (log: {run_dir}/train.log)', flush=True)
    train = module_command(TRAIN, [config, '--work-dir', run_dir, '--cfg-options', *options],
                           args.launcher, args.gpus)
    if run_logged(train, osp.join(run_dir, 'train.log')):
        return dict(config=name, status=f'fine-tuning failed, see {run_dir}/train.log')
    ckpt = resolve_checkpoint(run_dir)
    metrics_file = osp.join(run_dir, 'metrics.json')
    print(f'[{name}] evaluating {ckpt} (log: {run_dir}/test.log)', flush=True)
    test = module_command(TEST, [config, ckpt, '--work-dir', run_dir, '--out-metrics',
                                 metrics_file, '--cfg-options', *options],
                          args.launcher, args.gpus)
    if run_logged(test, osp.join(run_dir, 'test.log')) or not osp.isfile(metrics_file):
        return dict(config=name, status=f'evaluation failed, see {run_dir}/test.log')
    with open(metrics_file) as f:
        return dict(config=name, status='ok', metrics=json.load(f))


def table_rows(results: list, configs: list, method: str) -> list:
    rows = []
    for result, config in zip(results, configs):
        paper = Config.fromfile(config).get('paper_results') or {}
        if result['status'] != 'ok':
            rows.append(dict(benchmark=result['config'], method=method, metric='-',
                             value=result['status']))
            continue
        for key, (column, paper_key, scale) in METRICS.items():
            if key not in result['metrics']:
                continue
            rows.append(dict(benchmark=result['config'], method=method, metric=column,
                             value=f'{result["metrics"][key] * scale:.1f}'))
            for ref, values in paper.items():
                if paper_key in values:
                    rows.append(dict(benchmark=result['config'], method=f'{ref} (paper)',
                                     metric=column, value=f'{values[paper_key]:.1f}'))
    return rows


def write_tables(rows: list, work_dir: str) -> str:
    fields = ['benchmark', 'method', 'metric', 'value']
    with open(osp.join(work_dir, 'results.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    lines = ['| ' + ' | '.join(fields) + ' |', '|' + '---|' * len(fields)]
    lines += ['| ' + ' | '.join(str(r[k]) for k in fields) + ' |' for r in rows]
    markdown = '\n'.join(lines) + '\n'
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(markdown)
    return markdown


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('pretrain', help='pretraining checkpoint or work dir')
    parser.add_argument('--configs', nargs='+', required=True, help='benchmark configs')
    parser.add_argument('--work-dir', default='work_dirs/transfer')
    parser.add_argument('--branch', choices=['online', 'momentum'], default='online')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--gpus', type=int, default=1)
    parser.add_argument('--name', help='method name in the table (default: the work dir)')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value overrides for every benchmark run')
    args = parser.parse_args(argv)
    for option in args.cfg_options:
        try:
            check_config_key(option.split('=', 1)[0])
        except ValueError as err:
            parser.error(str(err))
    for config in args.configs:
        if not osp.isfile(config):
            parser.error(f'benchmark config {config!r} does not exist')
    ckpt = resolve_checkpoint(args.pretrain)
    work_dir = osp.abspath(args.work_dir)
    pretrained = osp.join(work_dir, 'pretrained', f'{args.branch}_backbone.pth')
    written = export(ckpt, pretrained, args.branch,
                     detectron2=osp.splitext(pretrained)[0] + '_d2.pkl')
    for path, count in written.items():
        print(f'exported {count} tensors of the {args.branch} backbone of {ckpt} to {path}')
    method = args.name or osp.basename(osp.normpath(
        args.pretrain if osp.isdir(args.pretrain) else osp.dirname(ckpt)))
    results = [benchmark(c, pretrained, work_dir, args) for c in args.configs]
    print(write_tables(table_rows(results, args.configs, method), work_dir))
    print(f'tables: {work_dir}/results.md, {work_dir}/results.csv')
    return 0 if all(r['status'] == 'ok' for r in results) else 1


if __name__ == '__main__':
    run_tool('benchmark_transfer', main)
