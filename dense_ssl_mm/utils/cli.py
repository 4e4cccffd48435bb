"""Command-line argument checks shared by the tools: one-line errors that name the argument.

mmengine's ``DictAction`` accepts any ``key=value``; a key that is not a config key path
(e.g. Hydra's ``+a.b=1``) is merged as is and fails much later, in mmengine's "Failed to format
the config file" with the whole config dumped. :class:`CfgOptionsAction` refuses it while
parsing; :func:`existing_file` refuses a missing file or a directory given for a file, and
:func:`check_pretraining_config` a config of another kind, before any work starts.

:func:`run_tool` is the one error path of every tool in ``tools/``: a known bad input
(:class:`~dense_ssl_mm.utils.errors.BadInputError`, wherever it is raised: argument checks,
model building, checkpoint loading) ends in one line on stderr and exit code 1; any other
error keeps its traceback. A known bad input met in a ``DataLoader`` worker (which torch
re-raises in the main process with the worker's traceback as its message) is the same one
line: the original message.
"""
import argparse
import os.path as osp
import re
import sys
from typing import Callable, NoReturn, Optional, Sequence

from mmengine.config import DictAction

from .errors import BadInputError

#: ``name(.name|.index)*`` with Python identifiers as names, as mmengine's merge_from_dict walks.
KEY_PATH = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*$')


def check_config_key(key: str) -> str:
    """Return ``key`` if it is a config key path, else raise BadInputError naming it."""
    if not KEY_PATH.match(key):
        hint = (" (Hydra-style '+'/'~'/'++' prefixes are not supported: write the key "
                'itself, it is added if new)') if key[:1] in '+~' else ''
        raise BadInputError(f'--cfg-options key {key!r} is not a config key path (names '
                            f'joined by dots, e.g. train_dataloader.batch_size=32){hint}')
    return key


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction`` that refuses keys which are not config key paths."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            key = item.split('=', 1)[0]
            if '=' not in item:
                parser.error(f'{option_string} expects key=value, got {item!r}')
            try:
                check_config_key(key)
            except ValueError as err:
                parser.error(str(err))
        super().__call__(parser, namespace, values, option_string)


def existing_file(what: str):
    """An argparse ``type`` for a path that must be an existing file (not a directory)."""

    def check(path: str) -> str:
        if osp.isdir(path):
            raise argparse.ArgumentTypeError(f'{what} {path!r} is a directory, expected a file')
        if not osp.isfile(path):
            raise argparse.ArgumentTypeError(f'{what} {path!r} does not exist')
        return path

    return check


def check_pretraining_config(cfg, path: str, models) -> None:
    """Raise BadInputError unless ``cfg``'s model is a pretraining algorithm registered in
    ``models`` (a class with ``dense_modules``, as every dense_ssl_mm algorithm has): e.g. an
    mmdet or mmseg fine-tuning config given to a pretraining tool."""
    model_type = cfg.get('model', {}).get('type')
    cls = models.get(model_type) if isinstance(model_type, str) else None
    if cls is None or not hasattr(cls, 'dense_modules'):
        raise BadInputError(f'{path!r} is not a pretraining config: its model type is '
                            f'{model_type!r}, expected a dense_ssl_mm algorithm (PixPro, '
                            f'PixContrast, VADeR, DenseCL, MoCoV2)')


def one_line_message(err: BaseException) -> str:
    """The message of ``err`` on one line; for an error that torch re-raised from a
    ``DataLoader`` worker (its message is the worker's traceback), the original message."""
    text = str(err)
    if 'Original Traceback (most recent call last):' in text:
        kind = f'{type(err).__module__}.{type(err).__qualname__}: '
        at = text.rfind(kind)
        if at >= 0:
            text = text[at + len(kind):]
    return ' '.join(text.split())


def run_tool(name: str, main: Callable, argv: Optional[Sequence[str]] = None) -> NoReturn:
    """Run a tool's ``main(argv)`` and exit with its code (an int; anything else is 0).

    A :class:`BadInputError` (the project's error for a known bad input) is printed as one
    line ``<name>: <message>`` on stderr (:func:`one_line_message`), exit code 1, without a
    traceback; every other exception propagates with its traceback (an unknown failure
    needs it).
    """
    try:
        code = main(argv)
    except BadInputError as err:
        print(f'{name}: {one_line_message(err)}', file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
