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


def run_two_ranks(tmp_path, mode):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
           '--master_addr', '127.0.0.1', '--master_port', str(free_port()),
           osp.join(HERE, 'dist_worker.py'), str(tmp_path), mode]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize('algorithm', ['PixPro', 'VADeR', 'DenseCL'])
def test_two_process_gloo_run_keeps_ranks_identical(tmp_path, algorithm):
    run_two_ranks(tmp_path, algorithm)
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
    if algorithm == 'DenseCL':  # 3 steps x 2 images x 2 ranks in both queues, mod 8
        assert int(r0['queue.ptr']) == int(r0['dense_queue.ptr']) == 3 * 2 * 2 % 8
    # the run did train: the online network left its initial (== target's initial) state
    assert not torch.equal(r0['backbone.conv1.weight'], r0['target_backbone.conv1.weight'])


@pytest.mark.slow
def test_batch_shuffle_mixes_ranks_and_undoes_exactly(tmp_path):
    run_two_ranks(tmp_path, 'shuffle')
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pth') for r in (0, 1))
    seen = torch.cat([r0['shuffled'], r1['shuffled']]).flatten().sort().values
    assert seen.tolist() == [0., 1., 2., 10., 11., 12.]  # one permutation, shared by ranks
    assert r0['restored'].flatten().tolist() == [0., 2., 4.]  # each rank its own rows back,
    assert r1['restored'].flatten().tolist() == [20., 22., 24.]  # in its own order
