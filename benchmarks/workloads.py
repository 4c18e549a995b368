"""Seeded synthetic arrays that look like real session payloads, for the benchmarks.

Every generator takes ``scale``: 1.0 is the full-size workload, a small scale
(``--quick``) gives a few MiB with the same statistics, so compression ratios
stay comparable. The same seed always gives the same bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sessionh5 import Session, State, StateManager

__all__ = ["Annotation", "Blob", "Collection", "Label", "Marker", "Structure", "Volume",
           "atom_columns", "coordinates", "incompressible", "plain_graph", "volume", "w1",
           "w1_session", "w2_session"]

#: Noise relative to the blob peaks: a measured map is never perfectly smooth.
VOLUME_NOISE = 1e-3
_BLOBS = 12
_SLAB = 16  # planes generated at a time, to bound temporary memory


def volume(shape: tuple[int, int, int] = (512, 512, 512), *, scale: float = 1.0,
           seed: int = 0) -> np.ndarray:
    """A smooth float32 density (sum of Gaussian blobs) with slight noise.

    ``scale`` shrinks (or stretches) the first axis only, so planes keep their full size.
    """
    rng = np.random.default_rng(seed)
    depth = max(1, round(shape[0] * scale))
    # Above scale 1 the first axis runs past 1.0 (the blobs' tails), below it is cut.
    first = max(shape[0], depth)
    axes = [np.linspace(0.0, (first - 1) / (shape[0] - 1), first, dtype=np.float32),
            *(np.linspace(0.0, 1.0, n, dtype=np.float32) for n in shape[1:])]
    blobs = [(rng.uniform(0.0, 1.0, 3), rng.uniform(0.03, 0.2), rng.uniform(0.2, 1.0))
             for _ in range(_BLOBS)]
    profiles = [[np.exp(-((ax - c) ** 2) / (2 * width**2)).astype(np.float32)
                 for ax, c in zip(axes, centre, strict=True)] + [height]
                for centre, width, height in blobs]
    out = np.empty((depth, shape[1], shape[2]), np.float32)
    for start in range(0, depth, _SLAB):
        slab = out[start : start + _SLAB]
        slab[...] = rng.standard_normal(slab.shape, dtype=np.float32) * VOLUME_NOISE
        for gz, gy, gx, height in profiles:
            plane = np.float32(height) * np.outer(gy, gx)
            slab += gz[start : start + len(slab), None, None] * plane
    return out


def coordinates(n: int = 20_000_000, *, scale: float = 1.0, seed: int = 1) -> np.ndarray:
    """Float32 (n, 3) atom positions in Å: a random walk of ~1.5 Å bonds in a 400 Å box.

    Neighbouring atoms are close in space, as in molecular models.
    """
    rng = np.random.default_rng(seed)
    count = max(1, round(n * scale))
    steps = rng.normal(0.0, 0.9, (count, 3))
    walk = np.cumsum(steps, axis=0) + 200.0
    return np.abs(np.remainder(walk + 400.0, 800.0) - 400.0).astype(np.float32)


def atom_columns(n: int = 20_000_000, *, scale: float = 1.0, seed: int = 2
                 ) -> dict[str, np.ndarray]:
    """Per-atom columns: int32 residue numbers (runs of 8-20 atoms) and uint8 element codes."""
    rng = np.random.default_rng(seed)
    count = max(1, round(n * scale))
    run_lengths = rng.integers(8, 21, count // 8 + 1)
    residue = np.repeat(np.arange(run_lengths.size, dtype=np.int32), run_lengths)[:count]
    element = rng.choice(np.array([1, 6, 7, 8, 16], np.uint8), count,
                         p=[0.45, 0.3, 0.1, 0.13, 0.02])
    return {"residue": residue, "element": element}


def incompressible(nbytes: int = 64 * 2**20, *, scale: float = 1.0, seed: int = 3) -> np.ndarray:
    """Random bytes, the worst case for every compressor."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, max(1, round(nbytes * scale)), dtype=np.uint8)


def w1(scale: float = 1.0) -> dict[str, np.ndarray]:
    """Workload W1 (~0.9 GiB at scale 1): a volume, coordinates, atom columns, random bytes."""
    arrays = {"volume": volume(scale=scale), "coordinates": coordinates(scale=scale)}
    arrays.update(atom_columns(scale=scale))
    arrays["random"] = incompressible(scale=scale)
    return arrays


# ---- W2: many small linked objects ----------------------------------------------------

W2_OBJECTS = 100_000
_HUBS = 200  # shared targets: many objects refer to the same few
_CYCLE_EVERY = 10  # every 10th object and its predecessor refer to each other


class Marker(State):
    """A small saved object: name, numbers, a short list and links to other objects."""

    SESSION_NAME = "bench.Marker"


class Annotation(State):
    """Same shape as Marker, another class (a table of its own)."""

    SESSION_NAME = "bench.Annotation"


class Label(State):
    """Same shape as Marker, a third class."""

    SESSION_NAME = "bench.Label"


class Collection(StateManager):
    """A state manager holding a list of small objects (default snapshot)."""

    SESSION_NAME = "bench.Collection"

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def reset_state(self, session: Session) -> None:
        self.items = []


_CLASSES = (Marker, Annotation, Label)


def _w2_fields(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    """~8 small fields per object: strings, ints, floats, a bool and a short list."""
    ints = rng.integers(0, 1_000_000, count).tolist()
    xyz = rng.normal(0.0, 50.0, (count, 3)).round(3).tolist()
    radius = rng.uniform(0.5, 3.0, count).round(2).tolist()
    colour = rng.integers(0, 256, (count, 4)).tolist()
    return [{"name": f"object {i}", "serial": ints[i], "x": xyz[i][0], "y": xyz[i][1],
             "z": xyz[i][2], "radius": radius[i], "visible": ints[i] % 7 != 0,
             "note": "" if i % 3 else f"note about {i}", "color": colour[i]}
            for i in range(count)]


def _w2_links(rng: np.random.Generator, count: int) -> list[list[int]]:
    """1-3 targets per object: an earlier object, often a shared hub, some 2-cycles."""
    links: list[list[int]] = []
    n_refs = rng.integers(1, 4, count).tolist()
    earlier = rng.random(count).tolist()
    hubs = rng.integers(0, min(_HUBS, count), count).tolist()
    for i in range(count):
        targets = [int(earlier[i] * i) if i else 0]
        if n_refs[i] >= 2:
            targets.append(hubs[i])
        if n_refs[i] >= 3 or (i % _CYCLE_EVERY == 0 and i):
            targets.append(i - 1)
        links.append(targets)
    for i in range(_CYCLE_EVERY, count, _CYCLE_EVERY):
        links[i - 1].append(i)  # i refers to i - 1 above: a two-object cycle
    return links


def w2_graph(scale: float = 1.0, seed: int = 4) -> tuple[list[dict[str, Any]], list[int]]:
    """The W2 graph as plain data: per object its fields, class index and link indices."""
    rng = np.random.default_rng(seed)
    count = max(20, round(W2_OBJECTS * scale))
    fields = _w2_fields(rng, count)
    for i, (record, links) in enumerate(zip(fields, _w2_links(rng, count), strict=True)):
        record["kind"] = i % len(_CLASSES)
        record["links"] = links
    return fields, [0, count // 2]


def w2_session(scale: float = 1.0) -> Session:
    """Workload W2: ~100k objects of 3 classes under 2 managers, linked with cycles."""
    records, starts = w2_graph(scale)
    objects = [_CLASSES[r["kind"]].__new__(_CLASSES[r["kind"]]) for r in records]
    for obj, record in zip(objects, records, strict=True):
        fields = {k: v for k, v in record.items() if k not in ("kind", "links")}
        fields["links"] = [objects[t] for t in record["links"]]
        obj.__dict__.update(fields)
    session = Session("sessionh5-bench", minimal=True, silent=True)
    session.markers = Collection(objects[starts[0]:starts[1]])
    session.annotations = Collection(objects[starts[1]:])
    return session


def plain_graph(scale: float = 1.0) -> dict[str, Any]:
    """The W2 graph as the pickle baseline stores it: dicts, links as list indices."""
    records, starts = w2_graph(scale)
    return {"objects": records,
            "managers": {"markers": list(range(starts[0], starts[1])),
                         "annotations": list(range(starts[1], len(records)))}}


# ---- W1 as a session: three managers holding the arrays ------------------------------


class Volume(State):
    """A density map: name, voxel size and the volume array."""

    SESSION_NAME = "bench.Volume"


class Structure(State):
    """Atoms: coordinates and per-atom columns."""

    SESSION_NAME = "bench.Structure"


class Blob(State):
    """Opaque bytes (e.g. a cached image)."""

    SESSION_NAME = "bench.Blob"


#: Manager tag -> (class, names of the W1 arrays it holds).
W1_MANAGERS = {"maps": (Volume, ("volume",)),
               "atoms": (Structure, ("coordinates", "residue", "element")),
               "blobs": (Blob, ("random",))}


def w1_session(arrays: dict[str, np.ndarray]) -> Session:
    """Workload W1 as a session: each manager holds one object with its arrays."""
    session = Session("sessionh5-bench", minimal=True, silent=True)
    for tag, (cls, names) in W1_MANAGERS.items():
        obj = cls.__new__(cls)
        obj.__dict__.update({"name": tag, "voxel_size": [1.0, 1.0, 1.0]})
        obj.__dict__.update({n: arrays[n] for n in names if n in arrays})
        session.add_state_manager(tag, Collection([obj]))
    return session
