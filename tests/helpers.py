"""Shared test helpers: a strict comparer, round trips through any format, toy managers.

``assert_same`` is stricter than ``==``: types must match exactly at every level (a tuple
stays a tuple, an OrderedDict stays an OrderedDict, an int64 array keeps its byte order),
floats compare bit for bit (nan equals nan, -0.0 differs from 0.0), and arrays must come
back writable.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import io
import math
import os
import pathlib
import warnings
from collections import OrderedDict, deque
from typing import Any

import numpy as np

from sessionh5 import Session, State, StateManager


class Holder(StateManager):
    """A state manager that saves whatever its attributes hold (default snapshot)."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)

    def reset_state(self, session: Session) -> None:
        self.__dict__.clear()


class Box(State):
    """A plain saved object (default snapshot and restore) that holds attributes."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)

    def __repr__(self) -> str:
        return f"Box({sorted(vars(self))})"


def matrix(rows: Any) -> np.ndarray:
    """An np.matrix (a subclass sessionh5 refuses), without numpy's deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(rows)


def new_session(**kwargs: Any) -> Session:
    """A silent session; keyword arguments go to Session."""
    kwargs.setdefault("silent", True)
    return Session("sessionh5-tests", **kwargs)


def save_bytes(session: Session, fmt: str, **kwargs: Any) -> bytes:
    """The bytes ``session.save`` writes in format ``fmt``."""
    buf = io.BytesIO()
    session.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def roundtrip(
    session: Session, fmt: str, target: Session | None = None, **restore_kwargs: Any
) -> Session:
    """Save ``session`` to a BytesIO in ``fmt`` and restore it into ``target`` (a new one)."""
    data = save_bytes(session, fmt)
    target = new_session() if target is None else target
    target.restore(io.BytesIO(data), **restore_kwargs)
    return target


def roundtrip_file(
    session: Session,
    fmt: str,
    path: str | os.PathLike[str],
    target: Session | None = None,
    **restore_kwargs: Any,
) -> Session:
    """Like :func:`roundtrip`, through a real file at ``path``."""
    with open(path, "wb") as out:
        session.save(out, format=fmt)
    target = new_session() if target is None else target
    with open(path, "rb") as stream:
        target.restore(stream, **restore_kwargs)
    return target


# -- strict comparison ---------------------------------------------------------------------


def assert_same(expected: Any, actual: Any, path: str = "value") -> None:
    """Assert ``actual`` equals ``expected`` with exactly the same types, recursively."""
    _Comparer().same(expected, actual, path)


class _Comparer:
    def __init__(self) -> None:
        self.seen: dict[int, int] = {}  # id(expected State) -> id(actual), for cycles

    def same(self, e: Any, a: Any, path: str) -> None:
        assert type(e) is type(a), f"{path}: type {type(a).__name__}, expected {type(e).__name__}"
        kind = type(e)
        if kind is np.ma.MaskedArray:
            self.masked(e, a, path)
        elif isinstance(e, np.ndarray):
            self.array(e, a, path)
        elif isinstance(e, np.generic):
            assert e.dtype == a.dtype, f"{path}: dtype {a.dtype}, expected {e.dtype}"
            assert e.tobytes() == a.tobytes(), f"{path}: {a!r} != {e!r}"
        elif kind is float:
            self.float(e, a, path)
        elif kind is complex:
            self.float(e.real, a.real, path + ".real")
            self.float(e.imag, a.imag, path + ".imag")
        elif kind in (list, tuple, deque):
            self.sequence(e, a, path)
        elif kind in (dict, OrderedDict):
            self.mapping(e, a, path)
        elif kind in (set, frozenset):
            assert {(type(x), x) for x in e} == {(type(x), x) for x in a}, f"{path}: {a!r}"
        elif kind is range:
            assert (e.start, e.stop, e.step) == (a.start, a.stop, a.step), f"{path}: {a!r}"
        elif kind is dt.datetime:
            self.datetime(e, a, path)
        elif kind is dt.time:
            self.time(e, a, path)
        elif kind is decimal.Decimal:  # str tells 1.0 from 1.00, -0 from 0, NaN from sNaN
            assert str(e) == str(a), f"{path}: {a!r} != {e!r}"
        elif isinstance(e, enum.Enum):
            assert e is a, f"{path}: {a!r} is not {e!r}"
        elif isinstance(e, pathlib.PurePath):
            assert str(e) == str(a), f"{path}: {a!r} != {e!r}"  # Windows paths ignore case
        elif kind is dt.timezone:
            assert e == a and e.tzname(None) == a.tzname(None), f"{path}: {a!r} != {e!r}"
        elif isinstance(e, State):
            self.state(e, a, path)
        else:
            assert e == a, f"{path}: {a!r} != {e!r}"

    def float(self, e: float, a: float, path: str) -> None:
        if math.isnan(e):
            assert math.isnan(a), f"{path}: {a!r}, expected nan"
        else:
            assert e == a and math.copysign(1, e) == math.copysign(1, a), f"{path}: {a!r} != {e!r}"

    def sequence(self, e: Any, a: Any, path: str) -> None:
        assert len(e) == len(a), f"{path}: length {len(a)}, expected {len(e)}"
        if type(e) is deque:
            assert e.maxlen == a.maxlen, f"{path}: maxlen {a.maxlen}, expected {e.maxlen}"
        for i, (x, y) in enumerate(zip(e, a, strict=True)):
            self.same(x, y, f"{path}[{i}]")

    def mapping(self, e: Any, a: Any, path: str) -> None:
        assert len(e) == len(a), f"{path}: keys {list(a)}, expected {list(e)}"
        for i, (ke, ka) in enumerate(zip(e, a, strict=True)):
            self.same(ke, ka, f"{path}.keys()[{i}]")
            self.same(e[ke], a[ka], f"{path}[{ke!r}]")

    def datetime(self, e: dt.datetime, a: dt.datetime, path: str) -> None:
        assert e.isoformat() == a.isoformat(), f"{path}: {a!r} != {e!r}"
        assert type(e.tzinfo) is type(a.tzinfo), f"{path}: tzinfo {a.tzinfo!r} != {e.tzinfo!r}"
        if e.tzinfo is not None:
            assert e.tzname() == a.tzname(), f"{path}: tzname {a.tzname()!r} != {e.tzname()!r}"
        assert e.fold == a.fold, f"{path}: fold {a.fold} != {e.fold}"

    def time(self, e: dt.time, a: dt.time, path: str) -> None:
        assert e.isoformat() == a.isoformat(), f"{path}: {a!r} != {e!r}"
        assert type(e.tzinfo) is type(a.tzinfo), f"{path}: tzinfo {a.tzinfo!r} != {e.tzinfo!r}"
        assert e.tzname() == a.tzname(), f"{path}: tzname {a.tzname()!r} != {e.tzname()!r}"
        assert e.fold == a.fold, f"{path}: fold {a.fold} != {e.fold}"

    def masked(self, e: np.ma.MaskedArray, a: np.ma.MaskedArray, path: str) -> None:
        self.array(np.ma.getdata(e), np.ma.getdata(a), f"{path}.data")
        nomask = np.ma.nomask
        assert (e.mask is nomask) == (a.mask is nomask), f"{path}: mask {a.mask!r} != {e.mask!r}"
        self.array(np.ma.getmaskarray(e), np.ma.getmaskarray(a), f"{path}.mask")
        self.same(e.fill_value, a.fill_value, f"{path}.fill_value")
        assert e.hardmask == a.hardmask, f"{path}: hardmask {a.hardmask} != {e.hardmask}"

    def array(self, e: np.ndarray, a: np.ndarray, path: str) -> None:
        assert e.dtype == a.dtype, f"{path}: dtype {a.dtype!r}, expected {e.dtype!r}"
        assert e.dtype.str == a.dtype.str, (
            f"{path}: byte order {a.dtype.str}, expected {e.dtype.str}"
        )
        assert e.dtype.descr == a.dtype.descr, (
            f"{path}: descr {a.dtype.descr}, expected {e.dtype.descr}"
        )
        assert e.shape == a.shape, f"{path}: shape {a.shape}, expected {e.shape}"
        assert a.flags.writeable, f"{path}: the restored array is read-only"
        if e.dtype.names is not None:
            # Field by field: the padding bytes of aligned records are not data
            for name in e.dtype.names:
                self.array(e[name], a[name], f"{path}[{name!r}]")
            return
        # Bytes, not values: nan payloads, -0.0 and string padding must all survive
        eb = np.ascontiguousarray(e).tobytes()
        ab = np.ascontiguousarray(a).tobytes()
        assert eb == ab, f"{path}: array contents differ: {a!r} != {e!r}"

    def state(self, e: State, a: State, path: str) -> None:
        known = self.seen.get(id(e))
        if known is not None:
            assert known == id(a), f"{path}: a shared/cyclic object came back as a different one"
            return
        self.seen[id(e)] = id(a)
        self.mapping(vars(e), vars(a), f"{path}.__dict__")


def restamp(attrs: Any) -> None:
    """Recompute the integrity digest of an HDF5 node (or the root) edited by a test.

    Tests that edit a session file on purpose (a renamed class, another version) call
    this so that the reader gets past its digest check to the error being tested.
    Only for object nodes and the root: table nodes also digest their columns.
    """
    import h5py

    from sessionh5._containers._hdf5 import layout
    from sessionh5._containers._hdf5.digest import attrs_digest

    attrs.create(layout.DIGEST, attrs_digest(attrs), dtype=h5py.string_dtype())


class CountingReader(io.RawIOBase):
    """A seekable read-only file object that counts every byte handed out.

    Tests of lazy reading (metadata only, info, partial restore, one slice) wrap a
    file or bytes in it and assert how little was read.
    """

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.bytes_read = 0

    @classmethod
    def of_path(cls, path: Any) -> CountingReader:
        return cls(open(path, "rb"))

    @classmethod
    def of_bytes(cls, data: bytes) -> CountingReader:
        return cls(io.BytesIO(data))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.bytes_read += n or 0
        return n or 0

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()
        super().close()
