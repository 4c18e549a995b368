"""``sessionh5 demo``: build a realistic session, save it, restore it, prove it is equal.

The session looks like a structural-biology viewer's: a 3-D density volume, a
million atoms with per-atom attributes, a marker set pointing into the atoms, a
camera, aliases and a log. At ``scale=1`` the arrays hold about 90 MB, so the demo
also shows what saving and restoring real data costs on this machine.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .._containers.files import save
from .._containers.remote import is_url
from .._core.models import Model
from .._core.session import Session
from .._engine.state import State
from .info import SessionInfo, format_bytes, info

__all__ = ["AtomsModel", "DemoResult", "Marker", "MarkerSet", "VolumeModel", "run_demo"]

APP_NAME = "sessionh5-demo"  # one word, so the stream format can store it too
SEED = 20240611
VOLUME_SIDE = 256  # 256**3 float32 = 64 MiB at scale 1
ATOM_COUNT = 1_000_000
ATOM_NAMES = np.array([b"N", b"CA", b"C", b"O", b"CB", b"CG", b"CD", b"NE"], dtype="S4")
ProgressFactory = Callable[[str], AbstractContextManager[Callable[[int, int], None] | None]]


class VolumeModel(Model):
    """A density map: a 3-D float32 grid with its origin and voxel size."""

    SESSION_NAME = "sessionh5.demo.VolumeModel"

    def __init__(self, name: str, session: Session, data: np.ndarray) -> None:
        super().__init__(name, session)
        self.data = data
        self.origin = (0.0, 0.0, 0.0)
        self.voxel_size = 1.5
        self.threshold = float(np.percentile(data[::4, ::4, ::4], 99))


class AtomsModel(Model):
    """Atom coordinates with per-atom element, residue number, B-factor and name."""

    SESSION_NAME = "sessionh5.demo.AtomsModel"

    def __init__(self, name: str, session: Session, count: int, rng: np.random.Generator):
        super().__init__(name, session)
        self.coords = _random_walk(count, rng)
        self.element = rng.choice(np.array([6, 7, 8, 16], dtype=np.uint8), size=count,
                                  p=[0.62, 0.17, 0.19, 0.02])
        self.residue = (np.arange(count, dtype=np.int32) // 8) + 1
        self.bfactor = np.round(20 + 10 * np.sin(np.arange(count) / 500.0)
                                + rng.normal(0, 1, count), 2).astype(np.float32)
        self.names = ATOM_NAMES[np.arange(count) % len(ATOM_NAMES)]


class Marker(State):
    """One placed marker, pinned to an atom of an atoms model (a saved reference)."""

    SESSION_NAME = "sessionh5.demo.Marker"

    def __init__(self, atoms: AtomsModel, index: int, color: tuple[int, ...]) -> None:
        self.atoms = atoms
        self.atom_index = index
        self.position = tuple(float(x) for x in atoms.coords[index])
        self.color = color
        self.radius = 1.0


class MarkerSet(Model):
    """A child model holding markers that refer to atoms of its parent model."""

    SESSION_NAME = "sessionh5.demo.MarkerSet"

    def __init__(self, name: str, session: Session, markers: list[Marker]) -> None:
        super().__init__(name, session)
        self.markers = markers


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What the demo wrote and measured; ``verified`` is False when anything differed."""

    path: Path | str | None
    info: SessionInfo
    save_seconds: float
    restore_seconds: float
    problems: tuple[str, ...]

    @property
    def verified(self) -> bool:
        return not self.problems

    @property
    def file_size(self) -> int | None:
        return self.info.file_size

    @property
    def raw_bytes(self) -> int | None:
        return self.info.raw_array_bytes

    @property
    def compression_ratio(self) -> float | None:
        return self.info.compression_ratio


def _random_walk(count: int, rng: np.random.Generator) -> np.ndarray:
    """Spatially coherent coordinates: steps of 1.5 Å, like a chain of bonded atoms."""
    steps = rng.normal(size=(count, 3))
    steps *= 1.5 / np.linalg.norm(steps, axis=1, keepdims=True)
    return np.cumsum(steps, axis=0).astype(np.float32)


def _volume(side: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth Gaussian blobs plus a little noise, quantised like a detector's output.

    Each blob is a product of three 1-D Gaussians, so building the grid costs a few
    multiplications per voxel instead of an exponential.
    """
    axis = np.arange(side, dtype=np.float32)
    volume = np.zeros((side, side, side), dtype=np.float32)
    for _ in range(12):
        centre = rng.uniform(0.15, 0.85, 3) * side
        sigma = rng.uniform(0.03, 0.12) * side
        gx, gy, gz = (np.exp(-((axis - c) ** 2) / (2 * sigma**2)) for c in centre)
        volume += np.float32(rng.uniform(0.5, 2.0)) * gx[:, None, None] * gy[None, :, None] \
            * gz[None, None, :]
    volume += rng.normal(0, 0.01, volume.shape).astype(np.float32)
    return np.round(volume * 256) / np.float32(256)


def build_session(scale: float = 1.0) -> Session:
    """A realistic session: volume, atoms, markers, view, aliases, log and metadata."""
    rng = np.random.default_rng(SEED)
    session = Session(APP_NAME, silent=True)
    side = max(8, round(VOLUME_SIDE * scale ** (1 / 3)))
    volume = VolumeModel("density map", session, _volume(side, rng))
    atoms = AtomsModel("protein", session, max(16, round(ATOM_COUNT * scale)), rng)
    session.models.add([volume, atoms])
    picks = rng.choice(len(atoms.coords), size=5, replace=False)
    markers = [Marker(atoms, int(i), (255, 200 - 40 * n, 0, 255)) for n, i in enumerate(picks)]
    session.models.add([MarkerSet("picked atoms", session, markers)], parent=atoms)
    _set_view(session, side)
    session.user_aliases["cofr"] = "cofr centerOfView showPivot true"
    session.user_aliases["density"] = "volume #1 level 0.5 style mesh"
    session.metadata["title"] = "sessionh5 demo session"
    for text in ("opened density map", "opened protein", "placed 5 markers"):
        session.logger.info(text)
    session.logger.warning("demo data is synthetic")
    return session


def _set_view(session: Session, side: int) -> None:
    view = session.main_view
    view.camera_position = np.array([[1, 0, 0, side / 2], [0, 1, 0, side / 2],
                                     [0, 0, 1, 3.0 * side]], dtype=np.float64)
    view.field_of_view = 25.0
    view.background_color = (1.0, 1.0, 1.0, 1.0)
    view.window_size = (1280, 800)


def run_demo(path: str | Path | None = None, *, scale: float = 1.0, out: TextIO | None = None,
             keep: bool = False, progress: ProgressFactory | None = None,
             storage_options: Mapping[str, Any] | None = None) -> DemoResult:
    """Build, save, inspect, restore and verify the demo session; print what happened.

    Without ``path`` the file goes to a temporary folder that is removed afterwards
    unless ``keep``. ``path`` may be a URL (``storage_options`` go to fsspec).
    ``progress(description)`` may supply progress callbacks.
    """
    out = sys.stdout if out is None else out
    temp: Path | None = None
    if path is None:
        temp = Path(tempfile.mkdtemp(prefix="sessionh5-demo-"))
        target = temp / "demo.h5s"
    else:
        target = path if is_url(path) else Path(path)
    try:
        result = _run(target, scale, out, progress or (lambda _: nullcontext()),
                      storage_options, temporary=temp is not None and not keep)
    finally:
        if temp is not None and not keep:
            shutil.rmtree(temp, ignore_errors=True)
    if temp is not None and not keep:
        return DemoResult(None, result.info, result.save_seconds, result.restore_seconds,
                          result.problems)
    return result


def _run(target: Path | str, scale: float, out: TextIO, progress: ProgressFactory,
         storage_options: Mapping[str, Any] | None, *, temporary: bool = False) -> DemoResult:
    print(f"building the demo session (scale {scale:g})", file=out)
    original = build_session(scale)
    start = time.perf_counter()
    with progress("saving") as callback:
        written = save(original, target, progress=callback,
                       storage_options=storage_options) or target
    save_seconds = time.perf_counter() - start
    summary = info(written, storage_options=storage_options)
    print(f"saved {written} in {save_seconds:.2f} s "
          f"({format_bytes(summary.file_size)} on disk)", file=out)
    if temporary:
        print("  (a temporary file, removed when the demo ends: --output FILE or --keep "
              "keeps it)", file=out)
    print(_indent(repr(summary)), file=out)
    restored = Session(APP_NAME, silent=True)
    start = time.perf_counter()
    with progress("restoring") as callback:
        restored.restore(written, progress=callback, storage_options=storage_options)
    restore_seconds = time.perf_counter() - start
    print(f"restored in {restore_seconds:.2f} s", file=out)
    problems = tuple(compare_sessions(original, restored))
    for problem in problems:
        print(f"DIFFERS: {problem}", file=out)
    print("verified: restored session equals the original" if not problems else
          f"NOT verified: {len(problems)} differences", file=out)
    return DemoResult(written, summary, save_seconds, restore_seconds, problems)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# --- verification -----------------------------------------------------------------------


def compare_sessions(a: Session, b: Session) -> Iterator[str]:
    """Describe every difference between two demo sessions (nothing when equal)."""
    models_a, models_b = a.models.list(), b.models.list()
    ids_a, ids_b = [m.id for m in models_a], [m.id for m in models_b]
    if ids_a != ids_b:
        yield f"model ids {ids_a} != {ids_b}"
        return
    for ma, mb in zip(models_a, models_b, strict=True):
        yield from _compare_model(ma, mb, b)
    yield from _compare_markers(models_a, models_b)
    yield from _compare_view(a.main_view, b.main_view)
    if dict(a.user_aliases) != dict(b.user_aliases):
        yield f"aliases {dict(a.user_aliases)} != {dict(b.user_aliases)}"
    if list(a.logger.messages) != list(b.logger.messages):
        yield "log messages differ"
    if b.metadata.get("title") != a.metadata.get("title"):
        yield "metadata title differs"


def _compare_model(ma: Model, mb: Model, restored: Session) -> Iterator[str]:
    where = f"model #{'.'.join(map(str, ma.id or ()))}"
    if type(ma) is not type(mb) or ma.name != mb.name:
        yield f"{where}: {ma!r} != {mb!r}"
        return
    parent_a = ma.parent.id if ma.parent else None
    parent_b = mb.parent.id if mb.parent else None
    if parent_a != parent_b:
        yield f"{where}: parent {parent_a} != {parent_b}"
    if mb.session is not restored:
        yield f"{where}: .session is not the restoring session"
    for key, value in vars(ma).items():
        if key in Model.SESSION_SKIP or key in ("session", "id"):
            continue
        yield from _compare_value(f"{where}.{key}", value, getattr(mb, key, None))


def _compare_value(where: str, a: Any, b: Any) -> Iterator[str]:
    if isinstance(a, np.ndarray):
        if not isinstance(b, np.ndarray) or a.dtype != b.dtype or a.shape != b.shape:
            yield f"{where}: array {a.dtype}{a.shape} came back as {_describe(b)}"
        elif not np.array_equal(a, b):
            yield f"{where}: array values differ"
    elif isinstance(a, list) and a and isinstance(a[0], Marker):
        pass  # compared by _compare_markers, which knows the restored models
    elif type(a) is not type(b) or a != b:
        yield f"{where}: {a!r} != {b!r}"


def _compare_markers(models_a: list[Model], models_b: list[Model]) -> Iterator[str]:
    """Markers equal, and each refers to the very atoms model that was restored."""
    for ma, mb in zip(models_a, models_b, strict=True):
        if not isinstance(ma, MarkerSet):
            continue
        a, b = ma.markers, getattr(mb, "markers", None)
        if not isinstance(b, list) or len(a) != len(b):
            yield f"{ma!r}: {len(a)} markers came back as {_describe(b)}"
            continue
        for n, (ka, kb) in enumerate(zip(a, b, strict=True)):
            yield from _compare_marker(f"{ma!r} marker {n}", ka, kb, models_b)


def _compare_marker(where: str, a: Marker, b: Any, models_b: list[Model]) -> Iterator[str]:
    if not isinstance(b, Marker):
        yield f"{where}: came back as {_describe(b)}"
        return
    if not any(m is b.atoms for m in models_b) or b.atoms.id != a.atoms.id:
        yield f"{where}: .atoms does not refer to the restored atoms model"
    for key in ("atom_index", "position", "color", "radius"):
        if getattr(a, key) != getattr(b, key, None):
            yield f"{where}.{key}: {getattr(a, key)!r} != {getattr(b, key, None)!r}"


def _compare_view(a: Any, b: Any) -> Iterator[str]:
    if not np.array_equal(a.camera_position, b.camera_position):
        yield "view camera_position differs"
    for key in ("field_of_view", "background_color", "window_size"):
        if getattr(a, key) != getattr(b, key):
            yield f"view {key}: {getattr(a, key)!r} != {getattr(b, key)!r}"


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array {value.dtype}{value.shape}"
    return type(value).__name__
