"""sessionh5: save and restore an application's whole state in one HDF5 file."""

from ._aliases import UserAliases
from ._metadata import standard_metadata
from ._models import Model, Models
from ._rebuild import RestoreReport
from ._session import Session
from ._state import State, StateManager
from ._triggers import TriggerSet
from ._view import View
from .errors import RestoreError, SaveError, SessionError, UsageError

__all__ = [
    "Model", "Models", "RestoreError", "RestoreReport", "SaveError", "Session",
    "SessionError", "State", "StateManager", "TriggerSet", "UsageError", "UserAliases", "View",
    "standard_metadata",
]
