"""Convert a session file between the HDF5 and the stream container, without its classes.

Conversion never builds application objects: it moves the container-neutral model
(:mod:`sessionh5._records`) from one backend to the other. So the records of classes
this process does not know (every record of a file from another application) stay
data: class, provider, ordinal, version and snapshot, with references still
:class:`ObjectKey` references.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

from .._containers._stream.save import stream_order
from .._containers._stream.source import StreamSource
from .._containers.atomic import check_target
from .._containers.backends import open_backend, write_backend
from .._containers.files import SESSION_SUFFIX, STREAM_SUFFIX, Format, replaced, session_target
from .._containers.remote import StorageOptions, filesystem, is_url
from .._engine.records import Record, SessionHeader
from .._engine.walk import SavedSession
from ..errors import UsageError

__all__ = ["convert", "read_records", "stored_size"]

Compress = Literal["lz4", "gzip"] | None


def convert(src: str | os.PathLike[str] | IO[bytes], dst: str | os.PathLike[str], *,
            compress: Compress | Literal["keep"] = "keep", format: Format | None = None,
            progress: Callable[[int, int], None] | None = None,
            storage_options: StorageOptions = None) -> Path | str:
    """Write the session in ``src`` (either container) to ``dst``, crash-safe.

    The destination container comes from ``format``, else from dst's suffix (``.cxs``
    is a stream, anything else HDF5). ``compress`` is "lz4", "gzip" or None; by default
    ("keep") dst is compressed as src was. When ``dst`` is an existing folder (not named
    like a session file), the file is written into it under src's name, in the other
    container unless ``format`` says (``convert("a.h5s", "out")`` writes ``out/a.cxs``); a
    folder named ``x.h5s`` is refused as a target. Returns the path (or URL) written.
    ``src`` may be ``dst``: everything is read before the destination is replaced. Either
    may be a URL; ``storage_options`` go to fsspec for whichever is one.

    Raises:
        RestoreError: ``src`` is damaged or not a session file.
        SaveError: a stream was asked for but the objects form a cycle.
        WriteError: ``dst`` cannot be written (checked before ``src`` is read), or
            writing failed (a full disk); whatever was at ``dst`` is unchanged.
        UsageError: an unknown compression or format.
    """
    if compress not in ("lz4", "gzip", None, "keep"):
        raise UsageError(f"compress must be 'lz4', 'gzip', None or 'keep', not {compress!r}")
    if not (isinstance(dst, str) and is_url(dst)) and os.path.isdir(dst):
        dst, format = _into_folder(src, Path(dst), format)
    target, chosen = session_target(dst, format)
    if not is_url(target):
        check_target(Path(target))  # before reading: a target that cannot be written fails now
    header, records, original = _read(src, stream_order_needed=chosen == "stream",
                                      storage_options=storage_options if is_url(src) else None)
    with replaced(target, storage_options if is_url(target) else None) as temp:
        write_backend(temp, SavedSession(header, records), format=chosen,
                      compress=original if compress == "keep" else compress, progress=progress)
    return target


def stored_size(target: Path | str, storage_options: StorageOptions = None) -> int:
    """The size in bytes of a written file (a path, or a URL asked of its file system)."""
    if isinstance(target, str) and is_url(target):
        fs, path = filesystem(target, storage_options)
        return int(fs.size(path))
    return Path(target).stat().st_size
def _into_folder(src: Any, folder: Path, format: Format | None
                 ) -> tuple[Path, Format | None]:
    """``folder/<src's stem><suffix>``: the other container of src's, unless ``format``.

    A folder named like a session file (``x.h5s``), or a source without a name, is
    left as the target, which the writer then refuses as a folder.
    """
    name = src if isinstance(src, (str, os.PathLike)) else getattr(src, "name", None)
    if not isinstance(name, (str, os.PathLike)) or \
            folder.suffix.lower() in (SESSION_SUFFIX, STREAM_SUFFIX):
        return folder, format
    source = Path(name)
    if format is None:
        format = "hdf5" if source.suffix.lower() == STREAM_SUFFIX else "stream"
    suffix = STREAM_SUFFIX if format == "stream" else SESSION_SUFFIX
    return folder / (source.stem + suffix), format


def read_records(src: str | os.PathLike[str] | IO[bytes], *,
                 stream_order_needed: bool = False, storage_options: StorageOptions = None,
                 ) -> tuple[SessionHeader, list[Record]]:
    """Header and every record of a session file as plain data with ObjectKey references.

    A stream's records keep their file order. An HDF5 file does not record one, so
    when a stream is to be written the records are put in dependency order (each
    after the records it refers to), which fails with SaveError on a cycle. Values
    that only records hold (a stream's finalized state and tinyarrays, enum members)
    stay as they are, so no application class is needed.
    """
    header, records, _ = _read(src, stream_order_needed=stream_order_needed,
                               storage_options=storage_options)
    return header, records


def _read(src: str | os.PathLike[str] | IO[bytes], *, stream_order_needed: bool,
          storage_options: StorageOptions) -> tuple[SessionHeader, list[Record], Compress]:
    """read_records, plus the compression of src ("lz4", "gzip" or None)."""
    with open_backend(src, storage_options=storage_options) as source:
        if isinstance(source, StreamSource):
            return source.header, list(source.records.values()), source.compression
        keys = list(source.keys())
        if stream_order_needed:
            keys = stream_order(keys, source.refs)
        records = [Record(key, source.load(key, _as_reference), source.version(key))
                   for key in keys]
        return source.header, records, source.compression


def _as_reference(key: Any) -> Any:
    """Resolve a reference to itself: the converter keeps references as ObjectKeys."""
    return key
