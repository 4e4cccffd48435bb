"""The project's error for a known bad input.

A file, key or value given by the user that cannot be used (a checkpoint that fits no model,
an FH mask cache made with other parameters, ...) raises :class:`BadInputError` with a
one-line message naming the file / key / value and what was expected. The tools catch it at
their top level and print that line alone (exit code 1, no traceback,
:func:`dense_ssl_mm.utils.cli.run_tool`); any other exception keeps its traceback.

The subclasses below are also the built-in error a caller may already catch (a missing file
is still a ``FileNotFoundError``, a missing config key still a ``KeyError``, ...), so code
and tests written against the built-in types keep working.
"""


class BadInputError(ValueError):
    """A known bad input; the message is one line that names it and what was expected."""


class BadInputTypeError(BadInputError, TypeError):
    """A known bad input of the wrong type (a string where a number is expected, ...)."""


class BadInputFileError(BadInputError, FileNotFoundError):
    """A file or folder named by the user that does not exist (or holds nothing to use)."""


class BadInputStateError(BadInputError, RuntimeError):
    """A known bad input found while running (a work dir without a readable checkpoint, a
    config whose parts do not go together, an image that cannot be decoded)."""


class BadInputKeyError(BadInputError, KeyError):
    """A key the user's config or command lacks; prints its message without the quotes
    ``KeyError`` puts around it."""

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()
