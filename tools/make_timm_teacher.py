"""Write a timm model with random weights to a file, in timm's own key layout (a stand-in
teacher file where no weights can be downloaded: demos and tests).

    python tools/make_timm_teacher.py OUT.pth [--model vit_small_patch16_224] [--seed 0]

The file loads into this project's ``ViT`` (timm's keys) and so into a ``FrozenTeacher``;
with real weights the same configs run unchanged: point the teacher's checkpoint at them.
"""
import argparse
import os
import os.path as osp

import torch

from dense_ssl_mm.utils.cli import run_tool
from dense_ssl_mm.utils.errors import BadInputError


def write_random_timm(out: str, model: str = 'vit_small_patch16_224', seed: int = 0) -> int:
    """Build timm's ``model`` (no classifier, no download) with seeded random weights and
    save its state dict to ``out`` atomically; returns the number of tensors."""
    import timm
    if not timm.is_model(model):
        raise BadInputError(f'--model {model!r} is not a timm model name (e.g. '
                            "'vit_small_patch16_224'; timm.list_models() lists them)")
    torch.manual_seed(seed)
    net = timm.create_model(model, pretrained=False, num_classes=0)
    state = {k: v.contiguous() for k, v in net.state_dict().items()}
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    partial = f'{out}.partial{os.getpid()}'
    torch.save(state, partial)
    os.replace(partial, out)
    return len(state)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out', help='output .pth')
    parser.add_argument('--model', default='vit_small_patch16_224', help='a timm model name')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    count = write_random_timm(args.out, args.model, args.seed)
    print(f'wrote {count} tensors (random {args.model}, seed {args.seed}) to {args.out}')


if __name__ == '__main__':
    run_tool('make_timm_teacher', main)
