"""The session log: every message kept in order, and echoed to the terminal.

The session package turns :class:`Logger` into a state manager
(``class SessionLogger(StateManager, Logger)``) so the log is saved in the session file.
That is why its state lives in two plain attributes, ``messages`` (a list of
``(level, text)`` tuples of str) and ``silent`` (a bool), listed in ``STATE_ATTRIBUTES``;
the output streams are private and never part of a snapshot.
"""

from __future__ import annotations

import sys
from typing import ClassVar, Literal, TextIO

__all__ = ["LEVELS", "Level", "Logger"]

Level = Literal["info", "warning", "error", "status"]

#: Every message level, in increasing order of urgency (status is transient, so first).
LEVELS: tuple[Level, ...] = ("status", "info", "warning", "error")


class Logger:
    """Collect info, warning, error and status messages; print them unless silent.

    ``info`` goes to stdout, ``warning`` and ``error`` to stderr with a level prefix;
    ``status`` messages are transient progress notes for a status line, so they are
    recorded but never printed. Streams default to ``sys.stdout``/``sys.stderr`` looked
    up at print time, so redirection (and pytest's capture) keeps working.
    """

    #: The attributes that make up the saved state (for a subclass's take_snapshot).
    STATE_ATTRIBUTES: ClassVar[tuple[str, ...]] = ("messages", "silent")

    def __init__(
        self,
        silent: bool = False,
        *,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        super().__init__()
        self.messages: list[tuple[Level, str]] = []
        self.silent = bool(silent)
        self._stdout = stdout
        self._stderr = stderr

    def info(self, msg: str) -> None:
        """Record an informational message and print it to stdout."""
        self._log("info", msg)

    def warning(self, msg: str) -> None:
        """Record a warning and print it to stderr."""
        self._log("warning", msg)

    def error(self, msg: str) -> None:
        """Record an error and print it to stderr."""
        self._log("error", msg)

    def status(self, msg: str) -> None:
        """Record a transient status message; it is never printed."""
        self._log("status", msg)

    def clear(self) -> None:
        """Forget every message (a new list, so an earlier snapshot sharing it is untouched)."""
        self.messages = []

    def _log(self, level: Level, msg: str) -> None:
        """Keep ``msg`` as plain str, so the log always saves, then echo it if wanted."""
        text = str(msg)
        self.messages.append((level, text))
        if self.silent or level == "status":
            return
        stream = self._stream_for(level)
        prefix = "" if level == "info" else f"{level}: "
        stream.write(f"{prefix}{text}" if text.endswith("\n") else f"{prefix}{text}\n")

    def _stream_for(self, level: Level) -> TextIO:
        """The stream for ``level``, resolving the sys default at call time."""
        if level == "info":
            return self._stdout if self._stdout is not None else sys.stdout
        return self._stderr if self._stderr is not None else sys.stderr
