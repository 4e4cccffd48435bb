"""Two CPU processes (torchrun, gloo): both ranks end with identical weights."""
import os
import os.path as osp
import socket
import subprocess
import sys

import torch

HERE = osp.dirname(osp.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_two_process_gloo_run_keeps_ranks_identical(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_addr', '127.0.0.1', '--master_port', str(free_port()),
           osp.join(HERE, 'dist_worker.py'), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r0 = torch.load(tmp_path / 'rank0.pth')
    r1 = torch.load(tmp_path / 'rank1.pth')
    assert int(r0['momentum_steps']) == int(r1['momentum_steps']) == 3
    params = [k for k in r0 if not any(s in k for s in ('running_', 'num_batches_tracked'))]
    assert any(k.startswith('target_backbone.') for k in params)
    for key in params:  # online and target parameters; BN running stats are per rank
        assert torch.equal(r0[key], r1[key]), key
    # the run did train: the online network left its initial (== target's initial) state
    assert not torch.equal(r0['backbone.conv1.weight'], r0['target_backbone.conv1.weight'])
