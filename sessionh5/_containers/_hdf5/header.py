"""The root of a session file: its header (metadata, managers) and node index.

Everything here reads root attributes only, never a dataset: ``metadata_only``
restores, ``info`` and the archive view start here, and on a remote file each
dataset touched would cost a round trip.
"""

from __future__ import annotations

import json
from typing import Any

import h5py
import numpy as np

from ..._engine.records import SessionHeader
from ...errors import VersionError
from ..backends import PLAIN_HDF5, not_a_session
from . import layout
from .digest import check_digest
from .files import h5_errors
from .guard import datasets, node_group
from .metadata import read_metadata

__all__ = ["manager_tags", "node_paths", "read_header", "saved_compression", "strings", "text"]


def text(value: Any) -> str:
    """An attribute string as str (h5py hands out bytes or str depending on storage)."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def strings(attrs: h5py.AttributeManager, name: str) -> list[str]:
    """A string-array attribute as a list of str; [] when absent."""
    return [text(v) for v in np.atleast_1d(attrs[name])] if name in attrs else []


def read_header(file: h5py.File, *, live: bool = False) -> SessionHeader:
    """Header from root attributes only (no dataset and no other object is read).

    ``live`` (a restore) gives metadata values as the application gets them."""
    with h5_errors("the root attributes"):
        attrs = file.attrs
        if layout.LAYOUT not in attrs:
            raise not_a_session(PLAIN_HDF5)
        version = int(attrs[layout.LAYOUT])
        if version not in layout.READABLE_LAYOUTS:
            raise VersionError(
                f"the file uses session layout version {version}, but this sessionh5 reads "
                f"versions {sorted(layout.READABLE_LAYOUTS)}; upgrade sessionh5 to open it")
        check_digest(attrs, "the root attributes (metadata)")
        header = SessionHeader(
            app_name=text(attrs[layout.APP_NAME]),
            session_version=int(attrs[layout.SESSION_VERSION]),
            metadata=read_metadata(attrs, live=live),
            providers={k: (str(v[0]), int(v[1]))
                       for k, v in json.loads(text(attrs[layout.PROVIDERS])).items()},
        )
        attr_tags = set(strings(attrs, layout.ATTR_MANAGERS))
        # Layout 3 keeps the whole table, tags without a record included (stream files
        # of the reference application list managers that saved nothing); before, the
        # table was the managers' tags.
        tags = strings(attrs, layout.ATTR_INFO if layout.ATTR_INFO in attrs else layout.MANAGERS)
        header.attr_info = {t: t in attr_tags for t in tags}
    return header


def saved_compression(file: h5py.File) -> str:
    """The compression the file's arrays were saved with: "lz4", "gzip" or "none".

    Layout 3 records it; for older files it is inferred from the filters they need
    and, failing that, from the first chunked dataset (a file without one: "none").
    """
    attrs = file.attrs
    with h5_errors("the compression of the file"):
        if layout.COMPRESSION in attrs:
            return text(attrs[layout.COMPRESSION])
        if any("LZ4" in f for f in strings(attrs, layout.FILTERS)):
            return "lz4"
        for path in strings(attrs, layout.NODES):
            for dataset in datasets(node_group(file, path)):  # hard links only (guard.py)
                if dataset.chunks is not None:
                    return "gzip" if dataset.compression == "gzip" else "none"
    return "none"


def manager_tags(file: h5py.File) -> list[str]:
    """The tags of the saved state managers, in save order (root attributes only)."""
    with h5_errors("the manager list"):
        return strings(file.attrs, layout.MANAGERS)


def node_paths(file: h5py.File) -> list[str]:
    """The path of every node, indexed by node id (root attributes only)."""
    with h5_errors("the node index"):
        return strings(file.attrs, layout.NODES)
