"""Child process of test_fuzz: restore mutated copies of one session file, one per seed.

Usage: ``python fuzz_worker.py ORIGINAL FIRST_SEED LAST_SEED``. For each seed it prints
``start <seed>`` before the restore and then one JSON line with the outcome, flushed,
so the parent can tell a hang or an interpreter crash from the last ``start`` line.
Outcomes: ``equal`` (restored the original session), ``error:<SessionError subclass>``,
``different`` (restored, but not the original) or ``bad:<exception type>: <message>``.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable

import numpy as np
from helpers import Box, Holder, _Comparer, new_session

from sessionh5 import Model, Session, SessionError

Mutation = Callable[[np.random.Generator, bytearray], bytearray]


def fuzz_session() -> Session:
    """A small session touching every node kind: object node, tables, models, metadata."""
    session = new_session()
    session.metadata.update(title="fuzz", creator=["a", "b"], thumbnail=b"\x89PNG....")
    shared = Box(name="shared", values=(1, 2.5, None, "x"))
    session.h = Holder(array=np.arange(12_000, dtype=np.float64), small=np.arange(20),
                       rows=[Box(i=i, s={i, -i}, peer=shared) for i in range(8)],
                       blob=Box(data=np.linspace(0, 1, 3000).astype(np.float32)))
    session.models.add([Model("m1", session), Model("m2", session)])
    session.user_aliases["go"] = "run go"
    session.logger.info("fuzz log")
    return session


def _flip_bits(rng: np.random.Generator, data: bytearray) -> bytearray:
    for _ in range(int(rng.integers(1, 9))):
        data[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
    return data


def _random_run(rng: np.random.Generator, data: bytearray) -> bytearray:
    start = int(rng.integers(len(data)))
    run = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    data[start:start + len(run)] = run[: len(data) - start]
    return data


def _truncate(rng: np.random.Generator, data: bytearray) -> bytearray:
    return data[: int(rng.integers(len(data)))]


def _delete(rng: np.random.Generator, data: bytearray) -> bytearray:
    start = int(rng.integers(len(data)))
    del data[start:start + int(rng.integers(1, 256))]
    return data


def _insert(rng: np.random.Generator, data: bytearray) -> bytearray:
    start = int(rng.integers(len(data)))
    data[start:start] = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
    return data


def _duplicate(rng: np.random.Generator, data: bytearray) -> bytearray:
    start = int(rng.integers(len(data)))
    piece = data[start:start + int(rng.integers(1, 512))]
    at = int(rng.integers(len(data)))
    data[at:at + len(piece)] = piece
    return data


def _interesting(rng: np.random.Generator, data: bytearray) -> bytearray:
    """Overwrite 1, 2, 4 or 8 bytes with boundary values (0, -1, max int, 2**31...)."""
    size = [1, 2, 4, 8][int(rng.integers(4))]
    values = [0, 1, 2**(8 * size - 1) - 1, 2**(8 * size - 1), 2**(8 * size) - 1]
    value = values[int(rng.integers(len(values)))]
    start = int(rng.integers(max(1, len(data) - size)))
    data[start:start + size] = value.to_bytes(size, "little" if rng.integers(2) else "big")
    return data


MUTATIONS: list[Mutation] = [_flip_bits, _random_run, _truncate, _delete, _insert,
                             _duplicate, _interesting]


def mutate(original: bytes, seed: int) -> bytes:
    """One to three mutations chosen by ``seed``; the same seed gives the same file."""
    rng = np.random.default_rng(seed)
    data = bytearray(original)
    for _ in range(int(rng.integers(1, 4))):
        if data:
            data = MUTATIONS[int(rng.integers(len(MUTATIONS)))](rng, data)
    return bytes(data)


class _SessionAware(_Comparer):
    """The strict comparer, except that each side's own session counts as the same value."""

    def same(self, e: object, a: object, path: str) -> None:
        if not (isinstance(e, Session) and isinstance(a, Session)):
            super().same(e, a, path)


def outcome(original: Session, data: bytes) -> str:
    """Restore ``data`` into a fresh session and classify what happened."""
    restored = new_session()
    try:
        restored.restore(io.BytesIO(data))
    except SessionError as exc:
        return f"error:{type(exc).__name__}"
    except Exception as exc:  # the finding this test exists for
        return f"bad:{type(exc).__name__}: {str(exc)[:200]}"
    try:
        assert original.state_manager_tags == restored.state_manager_tags
        for tag in original.state_manager_tags:
            _SessionAware().same(original.get_state_manager(tag),
                                 restored.get_state_manager(tag), tag)
        assert original.metadata == restored.metadata
    except AssertionError:
        return "different"
    return "equal"


def main(path: str, first: int, last: int) -> None:
    with open(path, "rb") as file:
        original_bytes = file.read()
    original = new_session()
    original.restore(io.BytesIO(original_bytes))
    baseline = outcome(original, original_bytes)
    if baseline != "equal":  # the comparison itself would be wrong: stop, do not guess
        sys.exit(f"the unmutated file restores as {baseline!r}")
    for seed in range(first, last):
        print("start", seed, flush=True)
        result = outcome(original, mutate(original_bytes, seed))
        print(json.dumps({"seed": seed, "outcome": result}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
