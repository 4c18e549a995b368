"""The session's Logger as a state manager, so the log is saved with the session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._engine.state import StateManager
from .logger import Logger

if TYPE_CHECKING:
    from .session import Session

__all__ = ["SessionLogger"]


class SessionLogger(StateManager, Logger):
    """Logger whose messages are saved; restore replaces or appends per ``clear_log``.

    A combining restore always appends: the user's current log is part of what it keeps.
    """

    SESSION_NAME = "Logger"

    def take_snapshot(self, session: Session, flags: int) -> Any:
        return {"messages": [tuple(m) for m in self.messages]}

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> SessionLogger:
        current = getattr(session, "logger", None)
        logger = cls(silent=bool(getattr(current, "silent", False)))
        saved = [(str(level), str(text)) for level, text in data["messages"]]
        options = session.restore_options
        keep = isinstance(current, Logger) and (
            options.get("combine") or not options.get("clear_log", True))
        logger.messages = [*current.messages, *saved] if keep else saved  # type: ignore[union-attr]
        return logger

    def __repr__(self) -> str:
        return f"<sessionh5 session log: {len(self.messages)} messages>"

    def reset_state(self, session: Session) -> None:
        """The log is history, not data: a reset keeps it."""
