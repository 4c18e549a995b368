"""Every error sessionh5 raises on bad files or bad use.

The tree::

    SessionError                      base of everything below
    ├── SaveError(ValueError)         a session that cannot be written as asked
    │   ├── UnsupportedValueError(TypeError)   a snapshot holds a value no encoding knows
    │   └── WriteError(OSError)       the target cannot be written (no folder, no room, ...)
    ├── RestoreError(RuntimeError)    anything that goes wrong while reading a file
    │   ├── CorruptFileError          damaged, truncated or not a session file at all
    │   │   └── UnsafeFileError       reaches outside the file or at unwritten storage
    │   ├── MemoryLimitError          would need more memory than this process may use
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
    "MemoryLimitError",
    "RestoreError",
    "SaveError",
    "SessionError",
    "UnknownClassError",
    "UnsafeFileError",
    "UnsupportedValueError",
    "UsageError",
    "VersionError",
    "WriteError",
]


class SessionError(Exception):
    """Base of every error sessionh5 raises on a bad file or bad use."""


class SaveError(SessionError, ValueError):
    """The session cannot be written as asked (unsupported value, unrestorable cycle)."""


class UnsupportedValueError(SaveError, TypeError):
    """A snapshot holds a value that no encoding can store.

    ``hint`` says how to make such a value storable, when there is a way (register
    the enum class, register snapshot methods, convert with ``np.asarray``).
    """

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        self.hint = hint


class WriteError(SaveError, OSError):
    """The file cannot be written where asked: a missing folder, no permission, a folder
    in the way, a full disk.

    Also an OSError: ``errno`` says why and ``filename`` is the path the caller gave
    (never the temporary file beside it); ``strerror`` is the reason in words. Whatever
    was at that path before is unchanged, and no temporary file is left behind.
    """

    def __init__(self, errno: int, strerror: str, filename: str) -> None:
        OSError.__init__(self, errno, strerror, filename)

    def __str__(self) -> str:
        return f"cannot save to {self.filename!r}: {self.strerror}"

    def __reduce__(self) -> tuple[type, tuple[int, str, str]]:
        return type(self), (self.errno, self.strerror, self.filename)


class RestoreError(SessionError, RuntimeError):
    """Something went wrong while reading a session file."""


class CorruptFileError(RestoreError):
    """The file is damaged, truncated or not a session file."""


class UnsafeFileError(CorruptFileError):
    """The file uses an HDF5 feature sessionh5 never writes and will not follow.

    External storage, external or soft links and virtual datasets could make a
    reader return bytes from outside the file; a chunk that was never written would
    return whatever memory held. See docs/safety.md.
    """


class MemoryLimitError(RestoreError):
    """Reading would need more memory than this process may use.

    The limit is the tightest of the machine's memory, the process's address-space
    and data limits and its cgroup's memory limit, less what is already in use.
    """


class UnknownClassError(RestoreError):
    """The file names a class this process has not registered."""


class VersionError(RestoreError):
    """The file was written by a newer layout, session or class version."""


class UsageError(SessionError, ValueError):
    """An argument is out of its allowed range."""


def _name_file(error: SessionError, name: str | None) -> SessionError:
    """Start ``error``'s message with the file it is about, unless it names it already.

    The same exception, its message made specific: "tour.h5s: not a sessionh5 file".
    """
    if name and error.args and isinstance(error.args[0], str) and name not in error.args[0]:
        error.args = (f"{name}: {error.args[0]}", *error.args[1:])
    return error
