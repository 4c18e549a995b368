"""Writing a walked session as a stream: every record after the records it refers to.

A stream is read front to back, so a record may only refer to records before it;
this module orders the walked records so (refusing cycles, which a stream cannot
hold) and hands them to the stream writer as plain values.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any

from ..._engine.graph import dependency_components
from ..._engine.plain import PlainValue
from ..._engine.records import ObjectKey, Record
from ..._engine.walk import SavedSession
from ...errors import SaveError
from .container import StreamContent
from .source import keys_in
from .writer import write_stream

__all__ = ["save_stream", "stream_order"]


def save_stream(target: str | os.PathLike[str] | IO[bytes], saved: SavedSession, *,
                compress: Any, progress: Any) -> None:
    """Write ``saved`` as a stream; ``progress`` gets byte increments and a ``total``."""
    by_key = {r.key: r for r in saved.records}
    order = stream_order(list(by_key), {k: _refs_of(r) for k, r in by_key.items()})
    saved = SavedSession(saved.header, [by_key[k] for k in order])
    content = StreamContent(saved.header, _plain_records(saved))
    progress.total = _estimated_size(saved.records)
    if isinstance(target, (str, os.PathLike)):
        with open(target, "wb") as out:
            write_stream(out, content, compress=compress, progress=progress)
    else:
        write_stream(target, content, compress=compress, progress=progress)
        _drop_stale_tail(target)


def _plain_records(saved: SavedSession) -> list[Record]:
    """Records as plain values with ObjectKey references, for the stream.

    A session walked for the stream holds PlainValues; converted records are plain already.
    """
    return [Record(r.key, r.data.value, r.version) if isinstance(r.data, PlainValue) else r
            for r in saved.records]


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
    return list(keys_in(record.data)) if refs is None else refs


def _cycle_text(component: list[ObjectKey]) -> str:
    if len(component) == 1:
        return f"object {component[0]} refers to itself"
    members = ", ".join(str(k) for k in component[:6])
    more = f" and {len(component) - 6} more" if len(component) > 6 else ""
    return f"objects {members}{more} refer to each other in a cycle"


