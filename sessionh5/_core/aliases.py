"""UserAliases: the user's command aliases, a built-in state manager."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from .._engine.state import StateManager

if TYPE_CHECKING:
    from .session import Session

__all__ = ["UserAliases"]


class UserAliases(StateManager, MutableMapping[str, str]):
    """Alias name -> command text. Reset keeps the aliases: they are the user's, not data."""

    SESSION_NAME = "UserAliases"

    def __init__(self) -> None:
        self.aliases: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        return self.aliases[name]

    def __setitem__(self, name: str, text: str) -> None:
        self.aliases[name] = text

    def __delitem__(self, name: str) -> None:
        del self.aliases[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.aliases)

    def __len__(self) -> int:
        return len(self.aliases)

    def take_snapshot(self, session: Session, flags: int) -> Any:
        return {"aliases": dict(self.aliases)}

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> UserAliases:
        """The saved aliases; with ``combine`` the current ones are kept and win."""
        restored = cls()
        restored.aliases = dict(data["aliases"])
        current = getattr(session, "user_aliases", None)
        if session.restore_options.get("combine") and isinstance(current, UserAliases):
            restored.aliases.update(current.aliases)
        return restored

    def reset_state(self, session: Session) -> None:
        """Aliases survive a reset."""

    def __repr__(self) -> str:
        return f"UserAliases({self.aliases!r})"
