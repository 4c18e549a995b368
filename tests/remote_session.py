"""The big session remote-read tests and benchmarks/bench_remote.py measure.

A 210 MiB float32 volume (random, so the file stays over 200 MB), a small manager
``notes`` (2 MiB of arrays) and 120 models with 360 KiB of coordinates each: enough
objects that where HDF5 puts their metadata decides what a remote ``info`` costs.
The operations are the questions the issue's budgets are about, each asked of a
path or URL through sessionh5 itself (its own block cache).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

import sessionh5
from sessionh5 import Model, Session, StateManager

__all__ = ["PLANE", "VOLUME_SHAPE", "build", "operations", "part_bytes"]

VOLUME_SHAPE = (210, 512, 512)  # float32: 210 MiB
PLANE = 100
MODELS = 120


class RemoteMap(Model):
    """A model holding the big volume."""


class RemoteAtoms(Model):
    """A small model with coordinates."""


class RemoteNotes(StateManager):
    """A small state manager, restored on its own."""

    def __init__(self, **attrs: Any) -> None:
        self.__dict__.update(attrs)

    def reset_state(self, session: Session) -> None:
        self.__dict__.clear()


def new_session() -> Session:
    return Session("remote-costs", silent=True)


def build() -> Session:
    rng = np.random.default_rng(16)
    session = new_session()
    volume = RemoteMap("map", session)
    volume.data = rng.random(VOLUME_SHAPE, dtype=np.float32)
    models: list[Model] = [volume]
    for i in range(MODELS):
        atoms = RemoteAtoms(f"atoms {i}", session)
        atoms.coords = rng.random((30_000, 3), dtype=np.float32)
        atoms.serials = np.arange(i, i + 300)
        models.append(atoms)
    session.models.add(models)
    session.notes = RemoteNotes(text="hello", values=list(range(100)),
                                readings=rng.random(262_144))  # 2 MiB
    session.metadata["title"] = "far away"
    return session


def volume_location(path: Path) -> str:
    with sessionh5.open_archive(path) as archive:
        (location,) = [k for k, a in archive.arrays().items() if a.shape == VOLUME_SHAPE]
    return location


def part_bytes(path: Path) -> dict[str, int]:
    """Stored bytes of the parts read: the notes manager's arrays, the plane's chunks."""
    location = volume_location(path)
    with h5py.File(path, "r") as file:
        notes = sum(item.id.get_storage_size() for item in file["notes"].values()
                    if isinstance(item, h5py.Dataset))
        volume = file[location]
        rows = volume.chunks[1]
        plane = sum(volume.id.get_chunk_info_by_coord((PLANE, y, 0)).size
                    for y in range(0, VOLUME_SHAPE[1], rows))
    return {"notes": notes, "plane": plane}


def operations(source: str | Path, options: dict[str, Any] | None, location: str
               ) -> dict[str, Callable[[], Any]]:
    """The measured questions, each a call that opens ``source`` afresh."""

    def metadata_only() -> Any:
        return new_session().restore(source, metadata_only=True, storage_options=options)

    def info() -> Any:
        return sessionh5.info(source, storage_options=options)

    def one_manager() -> Any:
        session = new_session()
        session.restore(source, managers=["notes"], storage_options=options)
        return session.notes

    def one_plane() -> Any:
        with sessionh5.open_archive(source, storage_options=options) as archive:
            return archive.arrays()[location][PLANE]

    return {"metadata_only": metadata_only, "info": info, "one manager": one_manager,
            "one plane": one_plane}
