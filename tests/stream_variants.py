"""Helpers for the stream codec tests: fixture variants and a strict value comparer.

Variants are made from the real files at test time (re-compressed, truncated,
bit-flipped, re-headed) so no damaged file needs to be kept in the repository.
The real files live outside the repository, in ``../shared/fixtures/chimerax`` (or
under ``$SESSIONH5_SHARED``, for a checkout elsewhere, such as a git worktree); a
test that needs them is skipped, with that reason, when they are absent.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import lz4.frame
import msgpack
import numpy as np
import pytest

from sessionh5._containers._stream import StreamContent, read_stream
from sessionh5._engine.records import FinalizedState, TinyArray

SHARED = Path(os.environ.get("SESSIONH5_SHARED")
              or Path(__file__).resolve().parents[2] / "shared")
FIXTURES = SHARED / "fixtures" / "chimerax"
FIXTURE_NAMES = ("esp", "rainbow")
MISSING_FIXTURES = (f"the shared ChimeraX fixtures ({FIXTURES}) are not here, as in a fresh "
                    "clone; set SESSIONH5_SHARED to the folder holding fixtures/ to run this")


def have_fixtures() -> bool:
    """Whether the real files are there (for ``skipif`` at collection time)."""
    return all((FIXTURES / f"{name}.cxs").is_file() for name in FIXTURE_NAMES)


def fixture_path(name: str) -> Path:
    """Path of a real file; the calling test is skipped when the fixtures are absent."""
    path = FIXTURES / f"{name}.cxs"
    if not path.is_file():
        pytest.skip(MISSING_FIXTURES)
    return path


def raw_stream(name: str) -> bytes:
    """The fixture's uncompressed stream (header line included)."""
    return gzip.decompress(fixture_path(name).read_bytes())


def compress(raw: bytes, how: str | None) -> bytes:
    """Re-compress an uncompressed stream the way a writer could have."""
    if how == "lz4":
        return lz4.frame.compress(raw)
    if how == "gzip":
        return gzip.compress(raw, mtime=0)
    return raw


def read_bytes(data: bytes, **options: Any) -> StreamContent:
    """read_stream on bytes in memory."""
    return read_stream(io.BytesIO(data), **options)


def record_offsets(raw: bytes) -> list[int]:
    """Start offset of every top-level value, then the end offset of the last one."""
    body_at = raw.index(b"\n") + 1
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, ext_hook=msgpack.ExtType)
    unpacker.feed(raw[body_at:])
    offsets = [body_at]
    for _ in unpacker:
        offsets.append(body_at + unpacker.tell())
    return offsets


def top_level_values(raw: bytes) -> list[Any]:
    """The top-level values with extensions left as ExtType (to find records by content)."""
    body = raw[raw.index(b"\n") + 1 :]
    return list(msgpack.Unpacker(io.BytesIO(body), raw=False, strict_map_key=False))


def flip_bit(data: bytes, offset: int, bit: int = 0) -> bytes:
    """One bit changed, as a disk or transfer error would."""
    damaged = bytearray(data)
    damaged[offset] ^= 1 << bit
    return bytes(damaged)


def replace_at(data: bytes, offset: int, new: bytes) -> bytes:
    """Overwrite bytes in place, keeping the length."""
    return data[:offset] + new + data[offset + len(new) :]


def with_header(raw: bytes, line: bytes) -> bytes:
    """The same stream under another header line (``line`` without its newline)."""
    return line + b"\n" + raw[raw.index(b"\n") + 1 :]


def build_stream(values: Sequence[Any], app: str = "Test") -> bytes:
    """An uncompressed stream of hand-made top-level values (ExtType for extensions)."""
    packer = msgpack.Packer(use_bin_type=True)
    body = b"".join(packer.pack(value) for value in values)
    return f"# {app} Session version 3\n".encode() + body


def ext(code: int, payload: Any, *, packed: bool = True) -> msgpack.ExtType:
    """An extension value; ``payload`` is packed with msgpack unless ``packed`` is False."""
    data = msgpack.packb(payload, use_bin_type=True) if packed else payload
    return msgpack.ExtType(code, data)


def core_ref(class_name: str, ordinal: int = 1) -> msgpack.ExtType:
    """An ext-0 core-form reference built by hand (ordinals below 256)."""
    name = class_name.encode()
    return msgpack.ExtType(0, bytes((0, len(name), 1)) + name + bytes((ordinal,)))


# --- strict comparison ----------------------------------------------------------------


def assert_same(expected: Any, actual: Any, path: str = "value") -> None:
    """Recursive equality that also demands identical types, dtypes and float bits."""
    assert type(actual) is type(expected), f"{path}: {type(actual)} is not {type(expected)}"
    if isinstance(expected, np.ma.MaskedArray):
        _same_array(np.ma.getdata(expected), np.ma.getdata(actual), f"{path}.data")
        _same_array(np.ma.getmaskarray(expected), np.ma.getmaskarray(actual), f"{path}.mask")
        assert_same(expected.fill_value, actual.fill_value, f"{path}.fill_value")
        assert actual.hardmask == expected.hardmask, f"{path}: hardmask differs"
    elif isinstance(expected, np.ndarray):
        _same_array(expected, actual, path)
    elif isinstance(expected, FinalizedState):
        assert_same(expected.data, actual.data, f"{path}.data")
    elif isinstance(expected, TinyArray):
        assert_same(expected.array, actual.array, f"{path}.array")
    elif isinstance(expected, np.generic):
        assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.tobytes() == expected.tobytes(), f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, (float, complex)):
        _same_number(expected, actual, path)
    elif isinstance(expected, dict):  # dict and OrderedDict: same keys in the same order
        _same_sequence(list(expected), list(actual), f"{path}.keys()")
        for key in expected:
            assert_same(expected[key], actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, (list, tuple, deque)):
        _same_sequence(expected, actual, path)
    elif isinstance(expected, (set, frozenset)):
        _same_set(expected, actual, path)
    elif isinstance(expected, datetime):
        assert actual == expected and actual.fold == expected.fold, f"{path}: {actual!r}"
        assert_same(expected.tzinfo, actual.tzinfo, f"{path}.tzinfo")
    elif isinstance(expected, timezone):
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
        assert actual.tzname(None) == expected.tzname(None), f"{path}: {actual!r}"
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def _same_array(expected: np.ndarray, actual: np.ndarray, path: str) -> None:
    assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
    assert actual.dtype.str == expected.dtype.str, f"{path}: byte order differs"
    assert actual.dtype.descr == expected.dtype.descr, f"{path}: fields differ"
    assert actual.shape == expected.shape, f"{path}: shape {actual.shape} != {expected.shape}"
    assert actual.tobytes() == expected.tobytes(), f"{path}: contents differ"
    assert actual.flags.writeable, f"{path}: decoded array is read-only"


def _same_number(expected: float | complex, actual: float | complex, path: str) -> None:
    parts = (expected.real, expected.imag, actual.real, actual.imag)
    if isinstance(expected, float):
        parts = (expected, 0.0, actual, 0.0)
    bits = [struct.pack("<d", part) for part in parts]
    both_nan = all(math.isnan(part) for part in (parts[0], parts[2]))
    assert both_nan or bits[:2] == bits[2:], f"{path}: {actual!r} != {expected!r}"


def _same_sequence(expected: Sequence[Any], actual: Sequence[Any], path: str) -> None:
    assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        assert_same(want, got, f"{path}[{index}]")


def _same_set(expected: set[Any] | frozenset[Any], actual: set[Any], path: str) -> None:
    assert actual == expected, f"{path}: {actual!r} != {expected!r}"
    matches = {item: item for item in actual}
    for item in expected:
        assert_same(item, matches[item], f"{path}{{{item!r}}}")


def assert_same_content(expected: StreamContent, actual: StreamContent) -> None:
    """Header fields and every record (key, version, data) strictly equal, in order."""
    for name in ("app_name", "session_version", "metadata", "providers", "managers"):
        assert_same(getattr(expected.header, name), getattr(actual.header, name), name)
    assert_same(expected.header.attr_info, actual.header.attr_info, "attr_info")
    assert len(actual.records) == len(expected.records), "number of records differs"
    for want, got in zip(expected.records, actual.records, strict=True):
        assert_same(want.key, got.key, "record key")
        assert_same(want.version, got.version, f"{want.key} version")
        assert_same(want.data, got.data, str(want.key))


__all__ = [
    "FIXTURE_NAMES",
    "MISSING_FIXTURES",
    "assert_same",
    "assert_same_content",
    "build_stream",
    "compress",
    "core_ref",
    "ext",
    "fixture_path",
    "flip_bit",
    "have_fixtures",
    "raw_stream",
    "read_bytes",
    "record_offsets",
    "replace_at",
    "top_level_values",
    "with_header",
]
