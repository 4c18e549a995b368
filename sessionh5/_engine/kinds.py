"""Values beyond JSON's and msgpack's own types, defined once for every encoding.

Each :class:`ValueKind` turns a value into *parts* (str, int, None and lists of
them, which every encoding stores natively) and back. Tagged JSON writes
``{"$<tag>": parts}``; HDF5 table rows and the stream write an extension of the
kind's own code whose payload is the packed parts (docs/format.md). Keeping the
parts and the codes in one table means the encodings cannot drift apart: a kind
is stored by all of them, the same way, or by none.

Also here: what a restore hands the application for the record-only values
(:func:`live_value`), masked arrays' parts, and the advice given when a value is
refused (:func:`how_to_store`).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import fractions
import os
import pathlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UnknownClassError, UnsupportedValueError
from .classes import enum_name_of, lookup_enum
from .records import EnumMember, FinalizedState, TinyArray

__all__ = [
    "KINDS", "KIND_BY_TAG", "KIND_BY_TYPE", "NOT_UNICODE_HINT", "TINYARRAY_DTYPES", "ValueKind",
    "build_masked", "check_tzinfo", "enum_member", "how_to_store", "live_value", "masked_parts",
    "plain_array", "resolve_enum", "tiny_array",
]


@dataclass(frozen=True, slots=True)
class ValueKind:
    """One type's stored form: a tag for tagged JSON and an extension code per container."""

    tag: str
    types: tuple[type, ...]
    packed_code: int  # HDF5 table rows (packed/codes.py)
    stream_code: int  # the stream (extcodes.py; sessionh5's range starts at 64)
    parts: Callable[[Any], Any]
    build: Callable[[Any], Any]

    def value(self, parts: Any) -> Any:
        """The value of ``parts`` read from a file; any malformation is a ValueError."""
        try:
            return self.build(parts)
        except (ValueError, TypeError, ArithmeticError, KeyError, IndexError) as exc:
            shown = repr(parts)
            shown = shown if len(shown) < 80 else shown[:77] + "..."
            raise ValueError(f"malformed {self.tag} value {shown}: {exc}") from None


def _text(parts: Any) -> str:
    if type(parts) is not str:
        raise TypeError(f"expected a string, got {type(parts).__name__}")
    return parts


def check_tzinfo(value: dt.datetime | dt.time) -> None:
    """Only fixed offsets come back as they were; refuse other tzinfo types at save."""
    if value.tzinfo is not None and type(value.tzinfo) is not dt.timezone:
        raise UnsupportedValueError(
            f"a {type(value).__name__} with tzinfo {value.tzinfo!r} cannot be saved: it would "
            "come back with a fixed-offset datetime.timezone; convert it to one first", value)


def _own_tzname(zone: Any) -> str | None:
    """The name of a datetime.timezone built with a name other than its offset's default."""
    if type(zone) is not dt.timezone:
        return None
    name = zone.tzname(None)
    return None if name == dt.timezone(zone.utcoffset(None)).tzname(None) else name


def _time_parts(value: dt.time) -> list[Any]:
    """isoformat keeps the offset but neither the zone's own name nor ``fold``."""
    check_tzinfo(value)
    fields: list[Any] = [value.isoformat(), _own_tzname(value.tzinfo)]
    return [*fields, 1] if value.fold else fields


def _time(parts: Any) -> dt.time:
    if type(parts) is not list or len(parts) not in (2, 3) or parts[2:] not in ([], [1]):
        raise ValueError("expected [isoformat, tzname or None] and an optional fold 1")
    value = dt.time.fromisoformat(_text(parts[0]))
    if parts[1] is not None:
        offset = value.utcoffset()
        if offset is None:
            raise ValueError("a timezone name without an offset")
        value = value.replace(tzinfo=dt.timezone(offset, _text(parts[1])))
    return value.replace(fold=1) if len(parts) == 3 else value


#: Path classes by name. A concrete path of the other platform's family comes back as
#: the pure path of that family (a PosixPath cannot be made on Windows, and vice versa).
_PATHS: dict[str, type[pathlib.PurePath]] = {
    "PurePosixPath": pathlib.PurePosixPath,
    "PureWindowsPath": pathlib.PureWindowsPath,
    "PosixPath": pathlib.PurePosixPath if os.name == "nt" else pathlib.PosixPath,
    "WindowsPath": pathlib.WindowsPath if os.name == "nt" else pathlib.PureWindowsPath,
}
_PATH_TYPES = (pathlib.PurePosixPath, pathlib.PureWindowsPath, pathlib.PosixPath,
               pathlib.WindowsPath)


def _path(parts: Any) -> pathlib.PurePath:
    if type(parts) is not list or len(parts) != 2:
        raise ValueError("expected [class name, path]")
    return _PATHS[_text(parts[0])](_text(parts[1]))


def _decimal(parts: Any) -> decimal.Decimal:
    return decimal.Decimal(_text(parts))  # exact: no context rounding in the constructor


def _fraction(parts: Any) -> fractions.Fraction:
    if type(parts) is not list or len(parts) != 2 or not all(type(p) is int for p in parts):
        raise ValueError("expected [numerator, denominator] as ints")
    if parts[1] <= 0:
        raise ValueError("the denominator must be positive")
    return fractions.Fraction(parts[0], parts[1])


def _enum_parts(value: EnumMember) -> list[Any]:
    return [value.class_name, value.member]


def _enum(parts: Any) -> EnumMember:
    if type(parts) is not list or len(parts) != 2:
        raise ValueError("expected [class name, member name or flag value]")
    name, member = parts
    if type(member) not in (str, int) or member == "" or not _text(name):
        raise ValueError("expected a class name and a member name or flag value")
    return EnumMember(name, member)


KINDS: tuple[ValueKind, ...] = (
    ValueKind("date", (dt.date,), 21, 69, dt.date.isoformat,
              lambda p: dt.date.fromisoformat(_text(p))),
    ValueKind("time", (dt.time,), 22, 70, _time_parts, _time),
    ValueKind("path", _PATH_TYPES, 23, 71, lambda v: [type(v).__name__, str(v)], _path),
    ValueKind("uuid", (uuid.UUID,), 24, 72, str, lambda p: uuid.UUID(_text(p))),
    ValueKind("decimal", (decimal.Decimal,), 25, 73, str, _decimal),
    ValueKind("fraction", (fractions.Fraction,), 26, 74,
              lambda v: [v.numerator, v.denominator], _fraction),
    # Live members of registered Enum classes become EnumMember first (enum_member).
    ValueKind("enum", (EnumMember,), 27, 75, _enum_parts, _enum),
)
KIND_BY_TYPE: dict[type, ValueKind] = {t: kind for kind in KINDS for t in kind.types}
KIND_BY_TAG: dict[str, ValueKind] = {kind.tag: kind for kind in KINDS}


def enum_member(value: Any) -> EnumMember | None:
    """A live member of a registered Enum class as an EnumMember; None for anything else."""
    if not isinstance(value, enum.Enum):
        return None
    name = enum_name_of(type(value))
    if name is None:
        return None
    member = value.value if isinstance(value, enum.Flag) else value.name
    return EnumMember(name, member)


def resolve_enum(member: EnumMember) -> enum.Enum:
    """The live member an EnumMember names, from the registered Enum classes."""
    cls = lookup_enum(member.class_name)
    if cls is None:
        raise UnknownClassError(
            f"enum class {member.class_name!r} is not registered in this process; import the "
            "module that defines it (it must call sessionh5.register_enum) before restoring")
    try:
        if isinstance(member.member, int) and issubclass(cls, enum.Flag):
            return cls(member.member)
        if isinstance(member.member, str) and not issubclass(cls, enum.Flag):
            return cls[member.member]
    except (KeyError, ValueError):
        pass
    raise UnknownClassError(f"enum class {member.class_name!r} has no member "
                            f"{member.member!r} (renamed or removed?)")


def live_value(value: Any) -> Any:
    """What a restore hands the application for a record-only value.

    FinalizedState gives its data (as the reference application does), TinyArray its
    numpy array, EnumMember the member of the registered class.
    """
    kind = type(value)
    if kind is FinalizedState:
        return value.data
    if kind is TinyArray:
        return value.array
    if kind is EnumMember:
        return resolve_enum(value)
    return value


#: tinyarray's format numbers, in the order of its Format enum (stream extension 14).
TINYARRAY_DTYPES = ("<i4", ">i4", "<i8", ">i8", "<f8", ">f8", "<c16", ">c16")


def tiny_array(array: Any) -> TinyArray:
    """A TinyArray of an array read from a file, its dtype checked (ValueError if not one)."""
    if type(array) is not np.ndarray or array.dtype.str not in TINYARRAY_DTYPES:
        raise ValueError(f"a tinyarray must be a numpy array of one of {TINYARRAY_DTYPES}")
    return TinyArray(array)


# --- numpy arrays that are not plain ndarrays -------------------------------------------

#: Subclasses saved as the plain array they view (restored as numpy.ndarray; a recarray
#: as a structured array). Their extra behaviour belongs to how the data was opened.
_VIEWED_AS_PLAIN = (np.memmap, np.recarray)


def plain_array(array: np.ndarray) -> np.ndarray | None:
    """``array`` as a plain ndarray when it is one or a memmap/recarray view, else None."""
    kind = type(array)
    if kind is np.ndarray:
        return array
    if kind in _VIEWED_AS_PLAIN:
        plain = array.view(np.ndarray)
        if plain.dtype.type is np.record:  # a recarray's dtype: keep the fields, drop the type
            plain = plain.view(np.dtype((np.void, plain.dtype)))
        return plain
    return None


def masked_parts(value: np.ma.MaskedArray) -> tuple[np.ndarray, np.ndarray | None, Any, bool]:
    """Data, mask (None for numpy's "nothing masked"), fill value and hard-mask flag.

    The fill value is None when it is numpy's default for the dtype: that default is
    not always of the dtype (999999 for int16), and passing it back would cast it.
    """
    mask = np.ma.getmask(value)
    fill_value = value.fill_value
    default = np.ma.MaskedArray(np.empty(0, value.dtype)).fill_value
    if type(fill_value) is type(default) and fill_value.tobytes() == default.tobytes():
        fill_value = None
    return (np.ma.getdata(value), None if mask is np.ma.nomask else np.asarray(mask),
            fill_value, bool(value.hardmask))


def build_masked(data: Any, mask: Any, fill_value: Any, hard: Any) -> np.ma.MaskedArray:
    """A MaskedArray from parts read from a file; inconsistent parts are a ValueError."""
    if type(data) is not np.ndarray or not (mask is None or type(mask) is np.ndarray):
        raise ValueError("a masked array's data and mask must be arrays")
    if type(hard) is not bool:
        raise ValueError("a masked array's hard-mask flag must be a bool")
    if mask is not None and (mask.shape != data.shape
                             or mask.dtype != np.ma.make_mask_descr(data.dtype)):
        raise ValueError(f"a mask of {mask.dtype} {mask.shape} cannot mask "
                         f"{data.dtype} {data.shape}")
    try:
        return np.ma.MaskedArray(data, mask=np.ma.nomask if mask is None else mask,
                                 fill_value=fill_value, hard_mask=hard)
    except (TypeError, ValueError, OverflowError, np.ma.MAError) as exc:
        raise ValueError(f"a masked array cannot be rebuilt: {exc}") from exc


# --- advice for refused values ----------------------------------------------------------

#: How to keep text that UTF-8 cannot hold (lone surrogates, from os.fsdecode of bad bytes).
NOT_UNICODE_HINT = ("a str must be valid Unicode; keep such text as bytes, e.g. "
                    "text.encode('utf-8', 'surrogateescape')")


def how_to_store(value: Any) -> str:
    """The fix to suggest when ``value`` cannot be saved (ends without a full stop)."""
    kind = type(value)
    name = kind.__qualname__
    if isinstance(value, np.ndarray):
        return (f"convert the {name} with np.asarray(value) first (memmaps and recarrays "
                "are saved as the arrays they view, masked arrays as themselves)")
    if isinstance(value, enum.Enum):
        return f"register the enum class with sessionh5.register_enum({name})"
    if isinstance(value, type):
        return "classes themselves cannot be saved; save an instance, or the class's name"
    return (f"make {name} a sessionh5.State subclass, or register snapshot methods for it "
            f"with session.register_snapshot_methods({{{name}: {name}Methods}}) (see the "
            "README, 'Saving classes you do not own')")
