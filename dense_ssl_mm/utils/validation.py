"""Argument checks for the constructors of registered modules.

A config value of the wrong type (``--cfg-options model.head.pos_threshold=high`` gives the
string ``'high'``) or out of range must fail when the module is built, with the module, the
argument and the value in the message, not deep in the first forward pass.
"""
import math
import numbers
from typing import Any, Optional, Sequence

from .errors import BadInputError, BadInputTypeError


def _bounds(low, high, low_open, high_open) -> str:
    if low is None and high is None:
        return 'be finite'
    if high is None:
        return f'be {">" if low_open else ">="} {low}'
    if low is None:
        return f'be {"<" if high_open else "<="} {high}'
    return f'lie in {"(" if low_open else "["}{low}, {high}{")" if high_open else "]"}'


def check_number(owner: str, name: str, value: Any, low: Optional[float] = None,
                 high: Optional[float] = None, *, integer: bool = False,
                 low_open: bool = False, high_open: bool = False):
    """Return ``value`` if it is a finite number (an integer with ``integer``) within the
    bounds, else raise naming ``owner``, ``name`` and the value.

    Raises:
        TypeError: not a number (bools and strings are not numbers here).
        ValueError: not finite or out of range.
    """
    bounds = _bounds(low, high, low_open, high_open)
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        kind = 'an integer' if integer else 'a number'
        raise BadInputTypeError(f'{owner}: {name} must be {kind} and {bounds}, got {value!r} '
                                f'({type(value).__name__})')
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        raise BadInputError(f'{owner}: {name} must {bounds}, got {value!r}')
    return value


def check_range(owner: str, name: str, value: Any, low: Optional[float] = None,
                high: Optional[float] = None, *, low_open: bool = False) -> tuple:
    """Return ``value`` as a tuple if it is a pair ``(min, max)`` of numbers with
    ``low <= min <= max <= high`` (``low < min`` with ``low_open``), else raise."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise BadInputTypeError(f'{owner}: {name} must be a pair (min, max), got {value!r}')
    for k in (0, 1):
        check_number(owner, f'{name}[{k}]', value[k], low, high, low_open=low_open)
    if value[0] > value[1]:
        raise BadInputError(f'{owner}: {name} must have min <= max, got {value!r}')
    return tuple(value)


def check_choice(owner: str, name: str, value: Any, choices: Sequence) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ValueError naming them."""
    if value not in choices:
        raise BadInputError(f'{owner}: {name} must be one of {tuple(choices)}, got {value!r}')
    return value
