"""The project's error for a known bad input.

A file, key or value given by the user that cannot be used (a checkpoint that fits no model,
an FH mask cache made with other parameters, ...) raises :class:`BadInputError` with a
one-line message naming the file / key / value and what was expected. The tools catch it at
their top level and print that line alone (exit code 1, no traceback,
:func:`dense_ssl_mm.utils.cli.run_tool`); any other exception keeps its traceback.
"""


class BadInputError(ValueError):
    """A known bad input; the message is one line that names it and what was expected."""


class BadInputTypeError(BadInputError, TypeError):
    """A known bad input of the wrong type (a string where a number is expected, ...)."""
