"""The extension codes of the session stream and the metadata keys sessionh5 reserves.

Codes 0-15 are the format's (shared/spec/stream-format-v3.md); 64 and up are
sessionh5's own, used only where a format code would lose information, so a
session without such values is a plain format stream (docs/stream-notes.md).
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ATTR_INFO_KEY", "CLASS_VERSIONS_KEY", "MAX_EXT_NESTING", "ExtCode",
           "MalformedPayload"]

#: Metadata key of the map tag -> "was a session attribute" (part of the format).
ATTR_INFO_KEY = "attr_info"
#: Metadata key where sessionh5 keeps {class_name: SESSION_VERSION}; the format has no slot.
CLASS_VERSIONS_KEY = "sessionh5-class-versions"
#: Extension values nested deeper than this are refused on both sides, so a hostile
#: file cannot exhaust the Python stack and the writer never makes what the reader refuses.
MAX_EXT_NESTING = 64


class ExtCode(IntEnum):
    """msgpack extension codes; 0-15 from the format, 64+ are sessionh5's own."""

    REFERENCE = 0
    NDARRAY = 1
    COMPLEX = 2
    SET = 3
    FROZENSET = 4
    ORDERED_DICT = 5
    DEQUE = 6
    DATETIME = 7
    TIMEDELTA = 8
    IMAGE = 9
    NUMPY_SCALAR = 10
    FINALIZED = 11
    TUPLE = 12
    TIMEZONE = 13
    TINYARRAY = 14
    RANGE = 15
    #: sessionh5 only: raw bytes of a bytearray (msgpack would turn it into bytes).
    BYTEARRAY = 64
    #: sessionh5 only: decimal ASCII of an int outside the 64-bit msgpack range.
    BIG_INT = 65
    #: sessionh5 only: ``[maxlen, [items]]`` of a deque with a maxlen (ext 6 has no slot).
    BOUNDED_DEQUE = 66
    #: sessionh5 only: ``[isoformat, tzname]`` of a datetime whose timezone has its own
    #: name (ext 7's isoformat keeps the offset only); tzname None and a third item 1
    #: for ``fold=1``, which isoformat drops too.
    NAMED_TZ_DATETIME = 67
    #: sessionh5 only: a structured numpy scalar as the ext-1 map of a 0-d array
    #: (ext 10's dtype slot is a string, which would lose the fields).
    STRUCTURED_SCALAR = 68
    #: sessionh5 only: the value kinds of ``_engine/kinds.py``, whose table fixes these
    #: numbers; each payload is the value's parts, packed.
    DATE = 69
    TIME = 70
    PATH = 71
    UUID = 72
    DECIMAL = 73
    FRACTION = 74
    ENUM = 75
    #: sessionh5 only: a numpy masked array as packed ``[data, mask or nil, fill value,
    #: hard mask]``, data and mask as ext 1 (the mask nil when nothing is masked).
    MASKED_ARRAY = 76


class MalformedPayload(ValueError):
    """An extension payload that does not have its layout; the reader reports it as corruption."""
