"""sessionh5: save and restore an application's whole state in one HDF5 file."""

from ._aliases import UserAliases
from ._archive import Archive, ArchiveObject, open_archive
from ._convert import convert
from ._diff import SessionDiff, diff
from ._files import SESSION_SUFFIX, save, sdump
from ._info import SessionInfo, info
from ._metadata import standard_metadata
from ._models import Model, Models
from ._rebuild import RestoreReport
from ._session import Session
from ._state import State, StateManager
from ._triggers import TriggerSet
from ._validate import validate
from ._view import View
from .errors import (
    CorruptFileError,
    RestoreError,
    SaveError,
    SessionError,
    UnknownClassError,
    UnsupportedValueError,
    UsageError,
    VersionError,
)

__version__ = "0.1.0"

__all__ = [
    "SESSION_SUFFIX",
    "Archive",
    "ArchiveObject",
    "CorruptFileError",
    "Model",
    "Models",
    "RestoreError",
    "RestoreReport",
    "SaveError",
    "Session",
    "SessionDiff",
    "SessionError",
    "SessionInfo",
    "State",
    "StateManager",
    "TriggerSet",
    "UnknownClassError",
    "UnsupportedValueError",
    "UsageError",
    "UserAliases",
    "VersionError",
    "View",
    "convert",
    "diff",
    "info",
    "open_archive",
    "save",
    "sdump",
    "standard_metadata",
    "validate",
]


def _present_as_public() -> None:
    """Public classes and functions report ``sessionh5`` as their module (reprs, docs)."""
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("sessionh5._"):
            obj.__module__ = __name__


_present_as_public()
