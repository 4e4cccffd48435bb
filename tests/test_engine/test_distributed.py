"""Two CPU processes (torchrun, gloo): both ranks end with identical weights."""
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', ['PixPro', 'VADeR'])
def test_two_process_gloo_run_keeps_ranks_identical(tmp_path, algorithm):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_addr', '127.0.0.1', '--master_port', str(free_port()),
           osp.join(HERE, 'dist_worker.py'), str(tmp_path), algorithm]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0 = torch.load(tmp_path / 'rank0.pth')
    r1 = torch.load(tmp_path / 'rank1.pth')
    assert int(r0['momentum_steps']) == int(r1['momentum_steps']) == 3
    params = [k for k in r0 if not any(s in k for s in ('running_', 'num_batches_tracked'))]
    assert any(k.startswith('target_backbone.') for k in params)
    for key in params:  # online and target parameters (and VADeR's queue); BN running
        assert torch.equal(r0[key], r1[key]), key  # statistics are per rank
    if algorithm == 'VADeR':
        # 3 steps x 2 directions x 2 images x 8 pairs x 2 ranks, gathered on every rank
        assert int(r0['queue.ptr']) == 3 * 2 * 2 * 8 * 2 % 100
    # the run did train: the online network left its initial (== target's initial) state
    assert not torch.equal(r0['backbone.conv1.weight'], r0['target_backbone.conv1.weight'])
