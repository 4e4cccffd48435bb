"""Shared fixtures. Tests run on CPU, single-threaded where numbers must be reproducible."""
import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

import dense_ssl_mm  # noqa: F401  (registries)
from dense_ssl_mm.utils import install_checkpoint_io

# What the project's tools do when they start (importing the package does not do it).
install_checkpoint_io()

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_IMAGES = osp.join(REPO, 'configs', 'demo', 'images')


@pytest.fixture
def repo_root() -> str:
    return REPO


@pytest.fixture
def demo_images() -> str:
    return DEMO_IMAGES


@pytest.fixture(autouse=True)
def _isolation():
    """Every test starts in the dense_ssl_mm scope with float32; scope changes made by a test
    (mmdet's/mmseg's register_all_modules) end with it."""
    torch.set_default_dtype(torch.float32)
    with DefaultScope.overwrite_default_scope('dense_ssl_mm'):
        yield
