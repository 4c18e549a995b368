"""Choosing the container: write a walked session, open a file for restoring.

The session core sees only :class:`SavedSession` going out and a RecordSource
coming in; this module maps them to the HDF5 or the stream backend and detects
which container a file is from its first bytes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any, Literal

from .._engine.graph import dependency_components
from .._engine.plain import PlainValue, resolve_in_place
from .._engine.records import SESSION_KEY, ObjectKey, Record, SessionHeader
from .._engine.walk import SavedSession
from ..errors import CorruptFileError, SaveError, UsageError

__all__ = ["detect_container", "open_backend", "stream_order", "write_backend"]

Target = str | os.PathLike[str] | IO[bytes]
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
HDF5_LIBVER = ("v110", "v110")  # readable by HDF5 1.10 tools; checksummed object headers


def detect_container(first: bytes) -> Literal["hdf5", "stream"] | None:
    """'hdf5' or 'stream' (any compression) from a file's first bytes, else None."""
    if first.startswith(HDF5_SIGNATURE):
        return "hdf5"
    if first[:2] == b"\x1f\x8b" or first[:4] == b"\x04\x22\x4d\x18" or first[:1] == b"#":
        return "stream"
    return None


class _Progress:
    """Turns per-chunk byte increments into ``progress(done, total)`` calls."""

    def __init__(self, total: int, callback: Callable[[int, int], None] | None) -> None:
        self.total = total
        self.done = 0
        self.callback = callback

    def __call__(self, increment: int) -> None:
        self.done += increment
        if self.callback is not None:
            self.callback(min(self.done, self.total), self.total)

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(self.total, self.total)


def _plain_records(saved: SavedSession) -> list[Record]:
    """Records as plain values with ObjectKey references, for the stream.

    A session walked for the stream holds PlainValues; converted records are plain already.
    """
    return [Record(r.key, r.data.value, r.version) if isinstance(r.data, PlainValue) else r
            for r in saved.records]


def write_backend(target: Target, saved: SavedSession, *, format: str, compress: Any,
                  progress: Callable[[int, int], None] | None = None) -> None:
    """Write ``saved`` to a path or a writable binary stream in the chosen container."""
    if format == "hdf5":
        import h5py

        from ._hdf5.compression import Compression
        from ._hdf5.writer import write_session

        compression = Compression.from_name(compress)
        counter = _Progress(0, progress)
        if isinstance(target, (str, os.PathLike)) or _random_access(target):
            with h5py.File(target, "w", libver=HDF5_LIBVER) as file:
                write_session(file, saved.header, saved.records, compression, counter,
                              saved.owners)
        else:
            # HDF5 reads back what it wrote, so a write-only or unseekable stream (a file
            # opened "wb", a pipe) gets the file built in a scratch file, then copied.
            with tempfile.TemporaryFile() as scratch:
                with h5py.File(scratch, "w", libver=HDF5_LIBVER) as file:
                    write_session(file, saved.header, saved.records, compression, counter,
                                  saved.owners)
                scratch.seek(0)
                shutil.copyfileobj(scratch, target, 1 << 20)
        counter.finish()
    elif format == "stream":
        from ._stream import StreamContent, write_stream

        if compress not in ("lz4", "gzip", None):
            raise UsageError(f"compress must be 'lz4', 'gzip' or None, not {compress!r}")
        by_key = {r.key: r for r in saved.records}
        order = stream_order(list(by_key), {k: _refs_of(r) for k, r in by_key.items()})
        saved = SavedSession(saved.header, [by_key[k] for k in order])
        content = StreamContent(saved.header, _plain_records(saved))
        counter = _Progress(_estimated_size(saved.records), progress)
        if isinstance(target, (str, os.PathLike)):
            with open(target, "wb") as out:
                write_stream(out, content, compress=compress, progress=counter)
        else:
            write_stream(target, content, compress=compress, progress=counter)
            _drop_stale_tail(target)
        counter.finish()
    else:
        raise UsageError(f"format must be 'hdf5' or 'stream', not {format!r}")


def _drop_stale_tail(stream: IO[bytes]) -> None:
    """Cut what a longer earlier content left after the new stream (as HDF5 does).

    A stream must end at its nil marker; without this, saving a smaller session into
    a reused BytesIO or file object would leave a file that no longer restores.
    """
    try:
        if stream.seekable():
            stream.truncate()
    except (OSError, ValueError):  # io.UnsupportedOperation is both kinds
        pass


def stream_order(keys: Sequence[ObjectKey],
                 edges: Callable[[ObjectKey], Iterable[ObjectKey]] | dict[ObjectKey, Any],
                 ) -> list[ObjectKey]:
    """``keys`` with every record after the ones it refers to, as a stream needs them.

    Raises SaveError before anything is written when objects form a cycle: a stream
    cannot hold one (each record must come after its targets), HDF5 can.
    """
    follow = edges.__getitem__ if isinstance(edges, dict) else edges
    order: list[ObjectKey] = []
    for component in dependency_components(keys, follow):
        if len(component) > 1 or component[0] in follow(component[0]):
            raise SaveError(
                f"{_cycle_text(component)}, which a session "
                "stream cannot hold (every record must come after the records it refers to); "
                "save as HDF5 instead (format='hdf5', or a path not ending in .cxs)")
        order.append(component[0])
    return order


def _estimated_size(records: list[Record]) -> int:
    """Uncompressed stream size for progress totals: array bytes plus ~64 per record."""
    total = 64 * len(records)
    for record in records:
        data = record.data
        values = data.arrays.values() if isinstance(data, PlainValue) else _arrays_in(data)
        total += sum(array.nbytes for array in values)
    return total


def _arrays_in(value: Any) -> Iterator[Any]:
    stack = [value]
    while stack:
        v = stack.pop()
        if hasattr(v, "nbytes") and hasattr(v, "dtype"):
            yield v
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())


def _refs_of(record: Record) -> Sequence[ObjectKey]:
    """A walked record lists its references; a plain one (a converted file) is searched."""
    refs = getattr(record.data, "refs", None)
    return list(_keys_in(record.data)) if refs is None else refs


def _cycle_text(component: list[ObjectKey]) -> str:
    if len(component) == 1:
        return f"object {component[0]} refers to itself"
    members = ", ".join(str(k) for k in component[:6])
    more = f" and {len(component) - 6} more" if len(component) > 6 else ""
    return f"objects {members}{more} refer to each other in a cycle"


def _random_access(stream: IO[bytes]) -> bool:
    """True when h5py can use ``stream`` directly: readable, writable and seekable."""
    try:
        return bool(stream.readable() and stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def _peek(stream: IO[bytes]) -> bytes:
    try:
        start = stream.tell()
        first = stream.read(8)
        stream.seek(start)
    except (OSError, ValueError) as exc:
        raise UsageError(f"restore needs a readable, seekable binary stream: {exc}") from exc
    if not isinstance(first, bytes):
        raise UsageError("restore needs a binary stream (open the file with 'rb')")
    return first


@contextmanager
def open_backend(source: Target, *, metadata_only: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> Iterator[Any]:
    """Open a session file or stream for reading; yields a RecordSource."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream, \
                open_backend(stream, metadata_only=metadata_only, progress=progress) as src:
            yield src
        return
    first = _peek(source)
    kind = detect_container(first)
    if kind == "hdf5":
        counter = _Progress(0, progress)
        with _open_hdf5(source, metadata_only, counter) as src:
            yield src
        if not metadata_only:
            counter.finish()
    elif kind == "stream":
        from ._stream import read_stream

        yield StreamSource(read_stream(source, metadata_only=metadata_only))
    elif not first:
        raise CorruptFileError("the file is empty; it is not a session file")
    else:
        raise CorruptFileError(
            f"not a session file: it starts with {first[:8]!r}, which is neither an HDF5 "
            "signature nor a session stream header")


@contextmanager
def _open_hdf5(stream: IO[bytes], metadata_only: bool, progress: _Progress) -> Iterator[Any]:
    from ._hdf5.reader import HDF5Source, open_hdf5, read_header

    with open_hdf5(stream) as file:
        header = read_header(file)
        yield _HeaderOnly(header) if metadata_only else HDF5Source(file, header, progress)


class _HeaderOnly:
    def __init__(self, header: SessionHeader) -> None:
        self.header = header


class StreamSource:
    """A decoded stream as a RecordSource (everything is already in memory)."""

    def __init__(self, content: Any) -> None:
        self.header: SessionHeader = content.header
        self.records = {}
        for record in content.records:
            if record.key in self.records:
                raise CorruptFileError(f"{record.key} appears twice in the stream")
            self.records[record.key] = record
        self._met = content.references
        self._refs: dict[ObjectKey, list[ObjectKey]] = {}

    def keys(self) -> list[ObjectKey]:
        return list(self.records)

    def version(self, key: ObjectKey) -> int | None:
        return self.records[key].version

    def location(self, key: ObjectKey) -> str:
        return f"stream record {list(self.records).index(key) + 1}"

    def refs(self, key: ObjectKey) -> Sequence[ObjectKey]:
        found = self._refs.get(key)
        if found is None:
            met = self._met.get(key)
            if met is None:
                met = list(_keys_in(self.records[key].data))
            found = self._refs[key] = [k for k in dict.fromkeys(met) if k != SESSION_KEY]
        return found

    def load(self, key: ObjectKey, resolve: Callable[[ObjectKey], Any]) -> Any:
        data = self.records[key].data
        met = self._met.get(key)
        if met is not None and not met:
            return data  # nothing to resolve: skip the walk
        return resolve_in_place(data, resolve)  # the records are read for this restore only


def _keys_in(value: Any) -> Iterator[ObjectKey]:
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is ObjectKey:
            yield v
        elif kind in (list, tuple, set, frozenset) or kind.__name__ == "deque":
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
