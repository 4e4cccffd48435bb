"""Checkpoints: a Runner saves and resumes on torch >= 2.6; loading stays weights-only;
writes are atomic."""
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
        resume=resume, default_scope='dense_ssl_mm', experiment_name=f'toy{max_iters}{resume}')


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
