"""Standard session metadata: who made the file, with what, and when.

Names follow HTML5 metadata (``generator``) and Dublin Core (``created``, ``modified``,
``creator``, ``dateCopyrighted``). Dates are ISO 8601 UTC strings ending in ``Z``; older
files written by other tools sometimes end in ``+00:00Z``, which :func:`parse_timestamp`
accepts and a later save rewrites in the valid form.
"""

from __future__ import annotations

import getpass
import platform
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata as _dist
from types import MappingProxyType
from typing import Any

from ..errors import UsageError

__all__ = [
    "METADATA_TYPES",
    "format_timestamp",
    "parse_timestamp",
    "standard_metadata",
]

#: Standard metadata keys and the type of their values, for the schema and the docs.
METADATA_TYPES: Mapping[str, str] = MappingProxyType(
    {
        "generator": "str: application in HTML User-Agent form, 'App/version (OS release; arch)'",
        "created": "str: ISO 8601 UTC timestamp ending in 'Z', when first saved",
        "modified": "str: ISO 8601 UTC timestamp ending in 'Z', last save after the first",
        "creator": "str, or list of str when several users saved it: user names, first first",
        "dateCopyrighted": "str, or list of str like creator: '© YEAR user' notices",
    }
)

# Characters not allowed in an RFC 9110 token (the product name/version of a User-Agent).
_NOT_TOKEN = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def standard_metadata(
    previous_metadata: Mapping[str, Any] | None = None,
    *,
    app_name: str = "sessionh5",
    app_version: str | None = None,
    now: datetime | None = None,
    user: str | None = None,
) -> dict[str, Any]:
    """Fill in the standard metadata for a file about to be saved.

    Args:
        previous_metadata: metadata of the session as last saved or restored; never
            mutated. Keys other than the standard ones (a thumbnail, user notes) are kept.
        app_name, app_version: the generator; the version defaults to that of the
            installed distribution named ``app_name``, and is left out if there is none.
        now: an aware datetime for the save (tests pass a fixed one); defaults to now.
        user: the creator; defaults to the login name. If no name can be found, creator
            and dateCopyrighted are left as they were rather than invented.

    Returns:
        A new dict. ``created`` is kept from previous metadata and ``modified`` set to
        now, or ``created`` is set to now on a first save. A creator or copyright that
        differs from the previous one turns the value into a list, earliest first.
    """
    result = dict(previous_metadata or {})
    when = _utc(now)
    stamp = format_timestamp(when)
    result["generator"] = _generator(app_name, app_version)
    if "created" in result:
        result["created"] = _normalised(result["created"])
        result["modified"] = stamp
    else:
        result["created"] = stamp
        result.pop("modified", None)
    name = user if user is not None else _login_name()
    if name:
        result["creator"] = _merged(result.get("creator"), name)
        result["dateCopyrighted"] = _merged(result.get("dateCopyrighted"), f"© {when.year} {name}")
    return result


def format_timestamp(when: datetime) -> str:
    """``when`` as ISO 8601 UTC with microseconds and a ``Z`` (never ``+00:00Z``).

    Raises:
        UsageError: ``when`` is naive, so its time zone is unknown.
    """
    return _utc(when).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_timestamp(text: str) -> datetime:
    """Read an ISO 8601 timestamp into an aware UTC datetime.

    Also accepts the malformed ``...+00:00Z`` (an offset and a ``Z``) found in real files.
    A timestamp without any offset is taken as UTC, since metadata dates are UTC.

    Raises:
        UsageError: ``text`` is not an ISO 8601 date and time.
    """
    if not isinstance(text, str):
        raise UsageError(f"expected an ISO 8601 timestamp str, got {type(text).__name__}")
    core = text.strip()
    if core[-1:] in ("Z", "z"):
        core = core[:-1]
    try:
        if core[-1:] in ("Z", "z"):
            raise ValueError("repeated Z")
        parsed = datetime.fromisoformat(core)
    except ValueError:
        raise UsageError(
            f"expected an ISO 8601 timestamp like '2026-11-26T08:00:00.123456Z', got {text!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _utc(when: datetime | None) -> datetime:
    """``when`` (default: the current time) converted to UTC; naive datetimes are refused."""
    if when is None:
        return datetime.now(UTC)
    if when.tzinfo is None or when.utcoffset() is None:
        raise UsageError(
            f"expected an aware datetime (with tzinfo), got naive {when!r}; "
            "pass e.g. datetime.now(timezone.utc)"
        )
    return when.astimezone(UTC)


def _normalised(previous: Any) -> Any:
    """A previous timestamp rewritten in the valid form; unreadable values are kept as is."""
    try:
        return format_timestamp(parse_timestamp(previous))
    except UsageError:
        return previous


def _generator(app_name: str, app_version: str | None) -> str:
    """``App/version (System release; machine)``, the HTML User-Agent form."""
    product = _token(app_name)
    if not product:
        raise UsageError(f"app_name must name the application, got {app_name!r}")
    version = app_version if app_version is not None else _installed_version(app_name)
    if version:
        product = f"{product}/{_token(version)}"
    system = " ".join(part for part in (platform.system(), platform.release()) if part)
    details = "; ".join(_comment(part) for part in (system, platform.machine()) if part)
    return f"{product} ({details})" if details else product


def _token(text: str) -> str:
    """``text`` with runs of characters a User-Agent product token forbids turned into '-'."""
    return _NOT_TOKEN.sub("-", str(text).strip())


def _comment(text: str) -> str:
    """``text`` safe inside a User-Agent comment (no parentheses or separators)."""
    return re.sub(r"[();\\]", "-", text)


def _installed_version(dist_name: str) -> str | None:
    """Version of the installed distribution ``dist_name``, or None if not installed."""
    try:
        return _dist.version(dist_name)
    except _dist.PackageNotFoundError:
        return None


def _login_name() -> str | None:
    """The login name, or None where the platform cannot say (no pwd entry, no env)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):
        return None


def _merged(previous: Any, value: str) -> Any:
    """``value`` added after the previous value(s), without duplicates.

    A single value stays a str until a different one arrives; a previous list stays a
    list (extended), so a file's shape only ever grows.
    """
    if previous is None:
        return value
    was_list = isinstance(previous, Iterable) and not isinstance(previous, str | bytes)
    merged: list[Any] = []
    for item in [*(previous if was_list else [previous]), value]:
        if item not in merged:
            merged.append(item)
    return merged if was_list or len(merged) > 1 else merged[0]
