"""The extension codes and limits of packed rows (docs/format.md, layouts 2 and 3)."""

from __future__ import annotations

import re
import struct

__all__ = [
    "ARRAY", "BIG_INT", "BYTEARRAY", "COMPLEX", "DATETIME", "DEQUE", "FINALIZED", "FROZENSET",
    "MASKED", "MAX_EXT_NESTING", "ODICT", "PNG", "POOLED", "RANGE", "REF", "SCALAR", "SESSION",
    "SET", "TIMEDELTA", "TIMEZONE", "TINYARRAY", "TUPLE",
]

# Never renumber or reuse: files hold these numbers.
REF, SESSION, TUPLE, SET, FROZENSET, ODICT, DEQUE, BYTEARRAY = range(1, 9)
COMPLEX, RANGE, DATETIME, TIMEDELTA, TIMEZONE, PNG, SCALAR, ARRAY, BIG_INT = range(9, 18)
# Layout 3. Codes 21-27 belong to the value kinds of _engine/kinds.py (date, time, path,
# uuid, decimal, fraction, enum), which fixes them for every encoding at once.
FINALIZED, TINYARRAY, MASKED = range(18, 21)
#: Layout 3: the row's k-th array in its table's pools (payload k, as REF's).
POOLED = 32

#: Extensions inside extensions (a tuple in a set in a tuple...) allowed, as in the stream:
#: each level is a nested unpack on the C stack, so a file must not choose the depth.
MAX_EXT_NESTING = 64
#: msgpack's own timestamp (extension -1, 4, 8 or 12 bytes) is decoded before ext_hook
#: sees it; rows never hold one, so a row whose bytes may is checked after decoding.
TIMESTAMP = re.compile(b"[\xd6\xd7]\xff|\xc7\x0c\xff|\xc8\x00\x0c\xff|\xc9\x00\x00\x00\x0c\xff")
COMPLEX_PAYLOAD = struct.Struct("<dd")
