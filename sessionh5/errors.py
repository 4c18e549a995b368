"""Every error sessionh5 raises on bad files or bad use.

The tree::

    SessionError                      base of everything below
    ├── SaveError(ValueError)         a session that cannot be written as asked
    │   └── UnsupportedValueError(TypeError)   a snapshot holds a value no encoding knows
    ├── RestoreError(RuntimeError)    anything that goes wrong while reading a file
    │   ├── CorruptFileError          damaged, truncated or not a session file at all
    │   ├── UnknownClassError         a class name this process has not registered
    │   └── VersionError              a layout, session or class version we cannot read
    └── UsageError(ValueError)        a bad argument (an unknown compression, version ...)

Each error mixes in the built-in exception a caller would naturally catch, so code that
already handles ``ValueError`` keeps working. Context (manager tag, object, key) is added
with :meth:`add_note` as the error travels up, never by wrapping it in a new exception.
"""

from __future__ import annotations

__all__ = [
    "CorruptFileError",
    "RestoreError",
    "SaveError",
    "SessionError",
    "UnknownClassError",
    "UnsupportedValueError",
    "UsageError",
    "VersionError",
]


class SessionError(Exception):
    """Base of every error sessionh5 raises on a bad file or bad use."""


class SaveError(SessionError, ValueError):
    """The session cannot be written as asked (unsupported value, unrestorable cycle)."""


class UnsupportedValueError(SaveError, TypeError):
    """A snapshot holds a value that no encoding can store."""


class RestoreError(SessionError, RuntimeError):
    """Something went wrong while reading a session file."""


class CorruptFileError(RestoreError):
    """The file is damaged, truncated or not a session file."""


class UnknownClassError(RestoreError):
    """The file names a class this process has not registered."""


class VersionError(RestoreError):
    """The file was written by a newer layout, session or class version."""


class UsageError(SessionError, ValueError):
    """An argument is out of its allowed range."""
