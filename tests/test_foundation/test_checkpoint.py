"""Checkpoints: a Runner saves and resumes on torch >= 2.6; loading stays weights-only;
writes are atomic."""
import itertools
import os
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

from dense_ssl_mm.utils import AtomicLocalBackend, load_local_checkpoint


class ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        loss = (self.linear(x).squeeze(1) - x.sum(1)).pow(2).mean()
        return dict(loss=loss)


_RUNS = itertools.count()


def make_runner(work_dir, max_iters, resume=False):
    gen = torch.Generator().manual_seed(1)
    data = [torch.randn(3, generator=gen) for _ in range(8)]
    loader = torch.utils.data.DataLoader(data, batch_size=2, shuffle=False,
                                         collate_fn=lambda b: dict(inputs=b))
    return Runner(
        model=ToyModel(), work_dir=str(work_dir), train_dataloader=loader,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume, default_scope='dense_ssl_mm',
        experiment_name=f'toy{max_iters}{resume}_{next(_RUNS)}')  # one visualizer per run


def test_runner_saves_and_resumes_exactly(tmp_path):
    straight = make_runner(tmp_path / 'a', 4)
    straight.train()
    first = make_runner(tmp_path / 'b', 2)
    first.train()
    ckpt = torch.load(tmp_path / 'b' / 'iter_2.pth', weights_only=False)
    assert 'message_hub' in ckpt and 'optimizer' in ckpt and 'meta' in ckpt
    resumed = make_runner(tmp_path / 'b', 4, resume=True)
    resumed.train()
    assert resumed.iter == 4
    from mmengine.fileio import get_file_backend
    assert isinstance(get_file_backend(str(tmp_path / 'b' / 'iter_2.pth')), AtomicLocalBackend)
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    mom_a = straight.optim_wrapper.optimizer.state_dict()['state'][0]['momentum_buffer']
    mom_b = resumed.optim_wrapper.optimizer.state_dict()['state'][0]['momentum_buffer']
    assert torch.equal(mom_a, mom_b)


class Evil:

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_loader_refuses_arbitrary_globals(tmp_path):
    path = tmp_path / 'evil.pth'
    with open(path, 'wb') as f:
        pickle.dump({'state_dict': {}, 'x': Evil()}, f)
    with pytest.raises(RuntimeError, match=r"evil\.pth.*weights-only"):
        load_local_checkpoint(str(path))


def test_loader_names_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_local_checkpoint(str(tmp_path / 'nothing.pth'))


def test_atomic_put_keeps_old_file_on_failure(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    target = tmp_path / 'ckpt.pth'
    backend.put(b'version-1', target)
    assert target.read_bytes() == b'version-1'

    def broken_fsync(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', broken_fsync)
    with pytest.raises(OSError, match='disk full'):
        backend.put(b'version-2', target)
    assert target.read_bytes() == b'version-1'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ckpt.pth']


@pytest.mark.parametrize('umask,mode', [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_put_honours_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        AtomicLocalBackend().put(b'x', tmp_path / 'ckpt.pth')
    finally:
        os.umask(old)
    assert (tmp_path / 'ckpt.pth').stat().st_mode & 0o777 == mode


def test_stale_partial_files_of_dead_processes_are_swept(tmp_path):
    import socket
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, '-c', 'import os; print(os.getpid())'],
                          capture_output=True, text=True).stdout.strip()
    host = socket.gethostname()
    stale = tmp_path / f'.iter_4.pth.{dead}@{host}.0123abcd.partial'
    live = tmp_path / f'.iter_6.pth.{os.getpid()}@{host}.89abcdef.partial'
    elsewhere = tmp_path / f'.iter_8.pth.{dead}@other-node.01234567.partial'
    for path in (stale, live, elsewhere):
        path.write_bytes(b'half a checkpoint')
    AtomicLocalBackend().put(b'x', tmp_path / 'iter_10.pth')
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(['iter_10.pth', live.name, elsewhere.name])


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def interrupted(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, 'fsync', interrupted)
    with pytest.raises(KeyboardInterrupt):
        AtomicLocalBackend().put(b'x' * 1000, tmp_path / 'iter_2.pth')
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_files_is_all_or_nothing(tmp_path, monkeypatch):
    from dense_ssl_mm.utils.checkpoint import atomic_write_files
    (tmp_path / 'a.pth').write_bytes(b'old-a')
    calls = []

    def fsync_fails_second(fd):
        calls.append(fd)
        if len(calls) == 2:
            raise OSError('disk full')
    monkeypatch.setattr(os, 'fsync', fsync_fails_second)
    with pytest.raises(OSError, match='disk full'):
        atomic_write_files({str(tmp_path / 'a.pth'): b'new-a', str(tmp_path / 'b.pth'): b'b'})
    assert sorted(p.name for p in tmp_path.iterdir()) == ['a.pth']
    assert (tmp_path / 'a.pth').read_bytes() == b'old-a'


def test_unreadable_files_get_a_reason_and_no_unsafe_advice(tmp_path, demo_images):
    from dense_ssl_mm.utils.checkpoint import UnreadableCheckpointError
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    torch.save({'w': torch.ones(1000)}, tmp_path / 'full.pth')
    data = (tmp_path / 'full.pth').read_bytes()
    (tmp_path / 'cut.pth').write_bytes(data[:len(data) // 2])
    cases = [(str(empty), r"empty\.pth' is empty \(0 bytes\)"),
             (os.path.join(demo_images, 'chelsea.jpg'),
              r"chelsea\.jpg' is not a PyTorch checkpoint \(it looks like a JPEG image"),
             (str(tmp_path / 'cut.pth'), r"cut\.pth' is truncated or corrupt"),
             (str(tmp_path / 'evil.pth'), r"evil\.pth' holds data that the weights-only")]
    with open(tmp_path / 'evil.pth', 'wb') as f:
        pickle.dump({'x': Evil()}, f)
    for path, reason in cases:
        with pytest.raises(UnreadableCheckpointError, match=reason) as info:
            load_local_checkpoint(path)
        assert 'weights_only=False' not in str(info.value)
        assert 'weights_only` set to `False' not in str(info.value)


def test_resume_finds_newest_sound_checkpoint_in_the_given_work_dir(tmp_path):
    from dense_ssl_mm.apis.launch import find_resume_checkpoint
    work = tmp_path / 'moved'
    work.mkdir()
    for it in (2, 4, 6):
        torch.save({'it': torch.tensor(it)}, work / f'iter_{it}.pth')
    data = (work / 'iter_6.pth').read_bytes()
    (work / 'iter_6.pth').write_bytes(data[:len(data) - 100])  # truncated by a killed copy
    # mmengine wrote the absolute path of the old location
    (work / 'last_checkpoint').write_text('/old/place/work/iter_6.pth')
    found, skipped = find_resume_checkpoint(str(work))
    assert found == str(work / 'iter_4.pth')
    assert len(skipped) == 1 and skipped[0].startswith(f'{work / "iter_6.pth"}: is truncated')
    (work / 'iter_6.pth').unlink()
    (work / 'iter_4.pth').unlink()
    assert find_resume_checkpoint(str(work))[0] == str(work / 'iter_2.pth')
    assert find_resume_checkpoint(str(tmp_path / 'empty')) == (None, [])


def test_importing_the_package_changes_nothing_in_mmengine():
    import subprocess
    import sys
    probe = '''
from mmengine.fileio import io as fileio_io
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader
def state():
    return (dict(CheckpointLoader._schemes), dict(fileio_io.prefix_to_backends),
            dict(fileio_io.backends), HistoryBuffer.__dict__.get('__reduce__'))
before = state()
import dense_ssl_mm
assert state() == before, 'import changed mmengine'
from dense_ssl_mm.utils import AtomicLocalBackend, install_checkpoint_io, load_local_checkpoint
install_checkpoint_io()
after = state()
assert after[0][''] is load_local_checkpoint and after[1][''] is AtomicLocalBackend
print('ok')
'''
    proc = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == 'ok', proc.stderr[-2000:]


def test_a_listed_file_is_trusted_and_no_other(tmp_path, monkeypatch):
    import argparse
    from dense_ssl_mm.utils.checkpoint import TRUST_ENV, UnreadableCheckpointError
    legacy = tmp_path / 'legacy.pth'
    torch.save({'args': argparse.Namespace(lr=0.1), 'w': torch.ones(2)}, legacy)
    with pytest.raises(UnreadableCheckpointError,
                       match=rf'argparse\.Namespace.*\${TRUST_ENV}'):
        load_local_checkpoint(str(legacy))
    monkeypatch.setenv(TRUST_ENV, os.pathsep.join([str(tmp_path / 'other.pth'), str(legacy)]))
    assert load_local_checkpoint(str(legacy))['args'].lr == 0.1
    monkeypatch.setenv(TRUST_ENV, str(tmp_path / 'other.pth'))
    with pytest.raises(UnreadableCheckpointError):
        load_local_checkpoint(str(legacy))
