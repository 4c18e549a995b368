"""sessionh5: save and restore an application's whole state in one HDF5 file."""

from ._containers.files import SESSION_SUFFIX, save
from ._core.aliases import UserAliases
from ._core.metadata import standard_metadata
from ._core.models import Model, Models
from ._core.session import Session
from ._core.triggers import TriggerSet
from ._core.view import View
from ._engine.classes import register_enum
from ._engine.rebuild import RestoreReport
from ._engine.state import State, StateManager
from ._tools.archive import Archive, ArchiveObject, close_reopened_files, open_archive
from ._tools.convert import convert
from ._tools.diff import SessionDiff, diff
from ._tools.dump import sdump
from ._tools.info import SessionInfo, info
from ._tools.validate import validate
from ._version import __version__ as __version__
from .errors import (
    CorruptFileError,
    MemoryLimitError,
    RestoreError,
    SaveError,
    SessionError,
    UnknownClassError,
    UnsafeFileError,
    UnsupportedValueError,
    UsageError,
    VersionError,
    WriteError,
)

__all__ = [
    "SESSION_SUFFIX",
    "Archive",
    "ArchiveObject",
    "CorruptFileError",
    "MemoryLimitError",
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
    "UnsafeFileError",
    "UnsupportedValueError",
    "UsageError",
    "UserAliases",
    "VersionError",
    "View",
    "WriteError",
    "close_reopened_files",
    "convert",
    "diff",
    "info",
    "open_archive",
    "register_enum",
    "save",
    "sdump",
    "standard_metadata",
    "validate",
]
