"""What a session file may use of HDF5, checked wherever a reader finds a group or dataset.

HDF5 can do more than sessionh5 ever writes, and some of it is dangerous in a file
from a stranger (docs/safety.md):

* external storage keeps a dataset's bytes in another file (``~/.ssh/id_rsa``);
* external links, soft links and virtual datasets send a read to another file or
  to objects outside the session's nodes;
* a chunk that was never written, in a file that asks HDF5 never to fill, reads
  back as whatever the reader's memory held before.

A session file links its node groups and arrays directly (hard links only) and
writes every byte of every array. Every reader reaches groups with
:func:`node_group` and datasets with :func:`child_dataset` or :func:`datasets`,
which refuse anything else with UnsafeFileError naming the path, before a byte of
data is read. Only the object headers are consulted (and, for a chunked dataset,
its chunk index), never how h5py happens to resolve a link.
"""

from __future__ import annotations

import math

import h5py

from ...errors import CorruptFileError, UnsafeFileError

__all__ = ["check_storage", "child_dataset", "datasets", "link_kind", "members", "node_group",
           "not_followed"]

_LINK_NAMES = {h5py.h5l.TYPE_SOFT: "soft link", h5py.h5l.TYPE_EXTERNAL: "external link"}
_LAYOUTS = (h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED)


def link_kind(group: h5py.Group, name: str) -> str:
    """'group', 'dataset' or 'other' for a hard link; else 'soft link', 'external link' ...

    Raises:
        KeyError: ``group`` has no link ``name``.
    """
    encoded = name.encode("utf-8")
    try:
        info = group.id.links.get_info(encoded)
    except (KeyError, RuntimeError) as exc:  # h5py says RuntimeError for a missing name
        raise KeyError(name) from exc
    if info.type != h5py.h5l.TYPE_HARD:
        return _LINK_NAMES.get(info.type, f"user-defined link (type {info.type})")
    kind = h5py.h5o.get_info(group.id, encoded).type
    return {h5py.h5o.TYPE_GROUP: "group", h5py.h5o.TYPE_DATASET: "dataset"}.get(kind, "other")


def members(group: h5py.Group) -> list[tuple[str, str]]:
    """Every link of ``group`` with its kind (see link_kind); nothing is followed."""
    return [(name, link_kind(group, name)) for name in group]


def node_group(file: h5py.File, path: str) -> h5py.Group:
    """The group at absolute ``path``, reached through hard links only."""
    parts = path.split("/")
    if parts[0] or not all(parts[1:]):
        raise CorruptFileError(f"node path {path!r} is not an absolute path of group names")
    group: h5py.Group = file
    for depth, name in enumerate(parts[1:], start=2):
        where = "/".join(parts[:depth])
        try:
            kind = link_kind(group, name)
        except KeyError:
            raise CorruptFileError(f"{where} does not exist") from None
        if kind != "group":
            raise not_followed(where, kind, "a group")
        group = group[name]
    return group


def child_dataset(group: h5py.Group, name: str) -> h5py.Dataset:
    """Dataset ``name`` directly in ``group``, a hard link, its storage checked."""
    if not name or "/" in name or name == ".":
        raise CorruptFileError(f"{group.name}: {name!r} is not the name of an array there")
    where = f"{group.name.rstrip('/')}/{name}"
    try:
        kind = link_kind(group, name)
    except KeyError:
        raise CorruptFileError(f"{group.name} has no dataset {name!r}") from None
    if kind != "dataset":
        raise not_followed(where, kind, "a dataset")
    dataset = group[name]
    check_storage(dataset)
    return dataset


def datasets(group: h5py.Group) -> list[h5py.Dataset]:
    """The datasets directly in ``group``, each checked; a link that is not hard is refused."""
    found = []
    for name, kind in members(group):
        if kind == "dataset":
            found.append(child_dataset(group, name))
        elif kind not in ("group", "other"):
            raise not_followed(f"{group.name.rstrip('/')}/{name}", kind, "an array")
    return found


def check_storage(dataset: h5py.Dataset) -> None:
    """Refuse storage outside the file, virtual datasets, and data never written."""
    plist = dataset.id.get_create_plist()
    layout = plist.get_layout()
    name = dataset.name
    if layout == h5py.h5d.VIRTUAL:
        raise UnsafeFileError(f"dataset {name!r} is a virtual dataset (its data would come "
                              "from other datasets or files); session files never hold one, "
                              "so it is not read")
    if plist.get_external_count():
        outside = plist.get_external(0)[0].decode("utf-8", "replace")
        raise UnsafeFileError(f"dataset {name!r} keeps its data in an outside file "
                              f"({outside!r}, HDF5 external storage); session files keep "
                              "every byte inside, so it is not read")
    if layout not in _LAYOUTS:
        raise UnsafeFileError(f"dataset {name!r} has an unknown storage layout ({layout})")
    size = 0 if dataset.shape is None else math.prod(dataset.shape)  # None: a null space
    if size and dataset.id.get_space_status() != h5py.h5d.SPACE_STATUS_ALLOCATED:
        raise UnsafeFileError(f"dataset {name!r} has parts that were never written (missing "
                              "chunks); reading them would return stale memory, so it is "
                              "refused")


def not_followed(where: str, kind: str, expected: str) -> CorruptFileError:
    """The error for a link of ``kind`` found where ``expected`` should be."""
    if kind in ("group", "dataset", "other"):
        return CorruptFileError(f"{where} should be {expected}, but it is a {kind}")
    article = "an" if kind[0] in "aeiou" else "a"
    return UnsafeFileError(f"{where} is {article} {kind}; session files link their groups and "
                           "arrays directly, so it is not followed")
