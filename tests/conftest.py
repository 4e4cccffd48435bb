"""Shared fixtures. Tests run on CPU, single-threaded where numbers must be reproducible."""
import os.path as osp

import pytest
import torch

import dense_ssl_mm  # noqa: F401  (registries and checkpoint I/O)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_IMAGES = osp.join(REPO, 'configs', 'demo', 'images')


@pytest.fixture
def repo_root() -> str:
    return REPO


@pytest.fixture
def demo_images() -> str:
    return DEMO_IMAGES


@pytest.fixture(autouse=True)
def _default_dtype():
    torch.set_default_dtype(torch.float32)
    yield
