"""A session stream written as the reference application writes one, with msgpack alone.

No sessionh5 code is used here: values are packed with the settings and extension
layouts of ``shared/spec/stream-format-v3.md`` (strict types, bytes as bin, tuples as
ext 12 ...), the way the reference application's own packer does. The stream of
:func:`reference_stream` is what ChimeraX 1.5 and later write and the two real
fixtures lack: a finalized state (ext 11) around a structure's state, attr_info tags
without a record (``'attribute registration': False``, ``'pb_manager': True``), and
every other extension code of the format, 0 to 15. ``tests/data/make_reference_stream.py``
wrote ``tests/data/streams/reference-1.10.cxs`` from it.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any

import msgpack
import numpy as np

APP_LINE = b"# ChimeraX Session version 3\n"
#: A 1x1 PNG image (its bytes only matter as opaque data).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a5b2"
                    "3b6d0000000049454e44ae426082")


@dataclass(frozen=True)
class Ref:
    """An object reference (ext 0): core form without a provider, provider form with one."""

    class_name: str
    ordinal: int = 1
    provider: str | None = None


@dataclass(frozen=True)
class Finalized:
    """The reference's FinalizedState: ``data`` goes out as ext 11."""

    data: Any


@dataclass(frozen=True)
class Tiny:
    """A tinyarray: shape, format number, raw bytes (ext 14)."""

    shape: tuple[int, ...]
    fmt: int
    data: bytes


@dataclass(frozen=True)
class Png:
    """An image: raw PNG bytes (ext 9)."""

    data: bytes


def packb(value: Any) -> bytes:
    """One value packed with the format's settings."""
    return msgpack.packb(value, use_bin_type=True, strict_types=True, default=_extension)


def _reference(ref: Ref) -> bytes:
    ordinal = ref.ordinal.to_bytes(max(1, (ref.ordinal.bit_length() + 7) // 8), "little")
    name = ref.class_name.encode()
    if ref.provider is None:
        return bytes((0, len(name), len(ordinal))) + name + ordinal
    provider = ref.provider.encode()
    return bytes((1, len(provider), len(name), len(ordinal))) + provider + name + ordinal


def _array(array: np.ndarray) -> dict[bytes, Any]:
    if array.dtype.kind == "V":
        kind, spec = b"V", array.dtype.descr
    else:
        kind, spec = b"", array.dtype.str
    return {b"kind": kind, b"dtype": spec, b"shape": list(array.shape),
            b"data": array.tobytes()}


def _extension(value: Any) -> msgpack.ExtType:
    kind = type(value)
    if kind is Ref:
        return msgpack.ExtType(0, _reference(value))
    if kind is tuple:
        return msgpack.ExtType(12, packb(list(value)))
    if isinstance(value, np.ndarray):
        return msgpack.ExtType(1, packb(_array(value)))
    if isinstance(value, np.generic):
        return msgpack.ExtType(10, packb({b"dtype": value.dtype.str, b"data": value.tobytes()}))
    simple = {complex: (2, lambda v: [v.real, v.imag]), set: (3, list), frozenset: (4, list),
              OrderedDict: (5, lambda v: list(v.items())), deque: (6, list),
              dt.datetime: (7, dt.datetime.isoformat),
              dt.timedelta: (8, lambda v: [v.days, v.seconds, v.microseconds]),
              Finalized: (11, lambda v: v.data),
              dt.timezone: (13, lambda v: [v.utcoffset(None), *_own_name(v)]),
              Tiny: (14, lambda v: [v.shape, v.fmt, v.data]),
              range: (15, lambda v: [v.start, v.stop, v.step])}
    if kind is Png:
        return msgpack.ExtType(9, value.data)
    code, payload = simple[kind]
    return msgpack.ExtType(code, packb(payload(value)))


def _own_name(zone: dt.timezone) -> list[str]:
    name = zone.tzname(None)
    return [] if name == dt.timezone(zone.utcoffset(None)).tzname(None) else [name]


ATOMIC = "ChimeraX-Atomic"
ALIGNMENTS = "ChimeraX-Alignments"

METADATA = {
    "generator": "UCSF-ChimeraX/1.10 (Windows 10), https://www.rbvi.ucsf.edu/chimerax/",
    "created": "2024-11-04T05:06:07.123456+00:00Z",  # the reference's malformed stamp
    "modified": "2025-03-05T01:02:03.000001+00:00Z",
    "creator": ["goddard", "tom"],
    "dateCopyrighted": ["© 2024 goddard", "© 2025 tom"],
    "ChimeraX-commit": "0f1e2d3c4b5a",
    "session_version": 3,  # added by the reader of a file that was re-saved
    # Since 1.5: tags without a record ('attribute registration', 'pb_manager'), in order.
    "attr_info": {"models": True, "attribute registration": False, "main_view": True,
                  "pb_manager": True, "alignments": True, "undo": True},
}
PROVIDERS = {"ChimeraX-Core": ("1.10", 1), ATOMIC: ("1.10", 1), ALIGNMENTS: ("3.0", 1)}


def _structure_state() -> dict[str, Any]:
    """What an AtomicStructure wraps in ext 11: plain data, arrays, no references."""
    rng = np.random.default_rng(13)
    return {
        "version": 15,
        "coords": rng.normal(size=(120, 3)).astype("<f8"),  # 2880 bytes: an HDF5 dataset
        "ints": [np.arange(17, dtype="<i4") % 5, np.zeros((0,), "<i4")],
        "names": ["N", "CA", "C", "O"],
        "ss_ids": {1, 2, 3},
        "bfactors": np.linspace(0, 1, 8, dtype="<f4"),
    }


def _every_code() -> dict[str, Any]:
    """The alignments manager's state: a value for every extension code but 0 and 11."""
    return {
        "version": 1,
        "complex": complex(1.5, -2.0),
        "set": {3, 1, 2},
        "frozenset": frozenset({5, 4}),
        "odict": OrderedDict([("b", 1), ("a", (2, 3))]),
        "deque": deque([1, "x", (4,)]),
        "when": dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        "naive": dt.datetime(2024, 2, 29, 23, 59, 59),
        "delta": dt.timedelta(days=-1, seconds=2, microseconds=3),
        "png": Png(PNG),
        "scalars": [np.float32(0.25), np.int16(-5), np.bool_(True)],
        "final": Finalized({"kept": [1, 2.5, "three"], "arr": np.arange(4, dtype=">i2")}),
        "tuple_keys": {(1,): "one", (2, "b"): "two"},
        "zones": [dt.timezone(dt.timedelta(hours=2)), dt.timezone(dt.timedelta(hours=-5), "EST")],
        "tiny": Tiny((2, 2), 4, np.array([1.0, 2.0, 3.0, 4.0], "<f8").tobytes()),
        "range": range(0, 10, 3),
        "void": np.zeros(2, "V4"),
        "structured": np.array([(1, 2.0)], dtype=[("a", "<i4"), ("b", "<f8")]),
        "empty": np.zeros((0, 3), "<f4"),
        "big_endian": np.arange(3, dtype=">i2"),
    }


def reference_records() -> list[tuple[Any, Any]]:
    """The (name, data) pairs after the provider table, in the order the reference writes."""
    structure = Ref("AtomicStructure", 1, ATOMIC)
    registry = Ref("RegAttrManager", 1, ATOMIC)
    place, camera, models, view = Ref("Place"), Ref("MonoCamera"), Ref("Models"), Ref("View")
    alignments, undo = Ref("AlignmentsManager", 1, ALIGNMENTS), Ref("Undo")
    return [
        (registry, {"version": 1, "registrations": {"Atom": {"reg_attr_info": {}, "version": 2}}}),
        (structure, {"version": 3, "registry": registry,
                     "structure state": Finalized(_structure_state()),
                     "model state": {"name": "1abc", "id": (1,), "display": True,
                                     "positions": np.eye(3, 4).reshape(1, 3, 4)}}),
        (models, {"version": 1, "models": {(1,): structure}}),
        ("models", models),
        (place, {"matrix": np.eye(3, 4)}),
        (camera, {"position": place, "field_of_view": 30.0}),
        (view, {"camera": camera, "background_color": np.array([0, 0, 0, 1], "<f4"),
                "window_size": (256, 256)}),
        ("main_view", view),
        (alignments, _every_code()),
        ("alignments", alignments),
        (undo, {"version": 1, "stack": []}),
        ("undo", undo),
    ]


def reference_stream() -> bytes:
    """The whole uncompressed stream: header line, metadata, providers, records, nil."""
    values = [METADATA, PROVIDERS]
    for name, data in reference_records():
        values += [name, data]
    return APP_LINE + b"".join(packb(value) for value in [*values, None])
