"""pytest must import our tests/, never the `tests` package mmsegmentation installs."""
import os.path as osp
import subprocess
import sys

import tests

from ..conftest import REPO


def test_tests_package_is_ours():
    assert osp.dirname(osp.abspath(tests.__file__)) == osp.join(REPO, 'tests')


def test_collection_lists_only_our_files():
    out = subprocess.run(
        [sys.executable, '-m', 'pytest', '--collect-only', '-q', 'tests/test_foundation'],
        cwd=REPO, capture_output=True, text=True, check=True).stdout
    ids = [line for line in out.splitlines() if '::' in line]
    assert ids, out
    assert all(i.startswith('tests/test_foundation/') for i in ids), ids
    assert not any('site-packages' in i for i in ids)
