"""Several sessions in several threads save and restore at the same time, correctly."""

from __future__ import annotations

import io
import threading
from typing import Any

import numpy as np
from helpers import Box, Holder, assert_same, new_session

from sessionh5 import Model


def _build(label: str, seed: int, fmt: str) -> Any:
    """A session whose every part depends on ``label`` and ``seed``."""
    rng = np.random.default_rng(seed)
    s = new_session()
    s.metadata["label"] = label
    shared = Box(label=label, big=rng.standard_normal(40_000).astype("f4"))
    s.work = Holder(label=label, shared=shared, again=[shared], small=rng.integers(0, 9, 5),
                    cycle=Box())
    if fmt == "hdf5":  # the stream format refuses cycles (see test_references)
        s.work.cycle.me = s.work.cycle
    model = Model(label, s)
    model.coords = rng.random((2_000, 3))
    s.models.add([model])
    s.user_aliases[label] = f"echo {label}"
    s.logger.info(label)
    return s


def _check(original: Any, restored: Any, label: str) -> None:
    assert restored.metadata["label"] == label
    work = restored.work
    assert work.label == label and work.shared is work.again[0]
    assert_same(original.work.shared.big, work.shared.big)
    assert_same(original.work.small, work.small)
    if hasattr(original.work.cycle, "me"):
        assert work.cycle.me is work.cycle
    (model,) = restored.models.list()
    assert model.name == label
    assert_same(original.models.list()[0].coords, model.coords)
    assert dict(restored.user_aliases) == {label: f"echo {label}"}
    assert restored.logger.messages == [("info", label)]


def _worker(label: str, seed: int, fmt: str, iterations: int, barrier: threading.Barrier,
            errors: list[BaseException]) -> None:
    try:
        original = _build(label, seed, fmt)
        for i in range(iterations):
            barrier.wait()
            buf = io.BytesIO()
            original.save(buf, format=fmt)
            buf.seek(0)
            restored = new_session()
            restored.restore(buf)
            _check(original, restored, label)
            # Restore into the same session again: it must end up the same.
            buf.seek(0)
            restored.restore(buf)
            _check(original, restored, label)
            original.metadata["iteration"] = i
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)
        barrier.abort()


def test_two_sessions_in_two_threads(fmt: str) -> None:
    """Two threads, each with its own session and data, save and restore in lockstep."""
    _run_threads(["alpha", "beta"], fmt, 25)


def test_four_sessions_in_four_threads(fmt: str) -> None:
    """Four threads at once also keep their data apart."""
    _run_threads(["a", "b", "c", "d"], fmt, 8)


def _run_threads(labels: list[str], fmt: str, iterations: int) -> None:
    barrier = threading.Barrier(len(labels), timeout=60)
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_worker, args=(label, i, fmt, iterations, barrier, errors))
               for i, label in enumerate(labels)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real:
        raise real[0]
    assert not errors


def test_registrations_in_threads_stay_per_session() -> None:
    """Snapshot methods registered in one thread's session are invisible to another's."""

    class Thing:
        pass

    class Methods:
        @staticmethod
        def take_snapshot(obj: Any, session: Any, flags: int) -> Any:
            return {}

        @staticmethod
        def restore_snapshot(session: Any, data: Any) -> Any:
            return Thing()

        @staticmethod
        def reset_state(obj: Any, session: Any) -> None:
            pass

    results: dict[str, Any] = {}
    ready = threading.Barrier(2, timeout=30)

    def register() -> None:
        s = new_session()
        s.register_snapshot_methods({Thing: Methods})
        ready.wait()
        results["registered"] = s.snapshot_methods(Thing())

    def look() -> None:
        s = new_session()
        ready.wait()
        results["other"] = s.snapshot_methods(Thing())

    threads = [threading.Thread(target=register), threading.Thread(target=look)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert results == {"registered": Methods, "other": None}
