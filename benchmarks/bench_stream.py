"""Time the session stream against a direct msgpack + lz4-frame encoding of the same data.

    python benchmarks/bench_stream.py [--quick] [--repeat 3]

One mixed session (arrays from workload W1 at a quarter scale, ~230 MiB, plus 20,000
small linked objects; ``--quick``: ~7 MiB and 2,000 objects) is saved once to get its
snapshot data as plain records (what ``read_stream`` returns). Then, in the same run:

* ``direct``: those records packed with plain msgpack and a minimal numpy/reference
  extension hook, compressed in one lz4.frame call, and decoded back (no checks, no
  header, no types beyond what the hook needs): the floor any stream codec pays;
* ``codec``: the same records through ``write_stream``/``read_stream`` (lz4);
* ``session``: ``Session.save(format="stream")`` and ``Session.restore`` of the whole
  session, which also take every snapshot and rebuild every object.

Seconds are medians over the repeats, MB/s is uncompressed stream bytes per second,
``ratio`` is direct seconds / row seconds (1.0 = as fast as direct; goal >= 0.9).
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lz4.frame
import msgpack
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workloads import Collection, Marker, w1

from sessionh5 import Session
from sessionh5._containers._stream import StreamContent, read_stream, write_stream
from sessionh5._engine.records import ObjectKey, Record

FULL = {"scale": 0.25, "objects": 20_000}
QUICK = {"scale": 1 / 128, "objects": 2_000}
MB = 1e6


# --- the workload ---------------------------------------------------------------------


def mixed_session(scale: float, objects: int, seed: int = 7) -> Session:
    """Arrays of W1 on a few objects plus many small objects linked only backwards."""
    session = Session("sessionh5-bench", minimal=True, silent=True)
    holders = []
    for name, array in w1(scale).items():
        holder = Marker.__new__(Marker)
        holder.__dict__.update(name=name, data=array, origin=(0.0, 0.0, 0.0))
        holders.append(holder)
    session.arrays = Collection(holders)
    session.markers = Collection(_small_objects(objects, np.random.default_rng(seed)))
    return session


def _small_objects(count: int, rng: np.random.Generator) -> list[Any]:
    """Objects of ~10 plain fields, each referring to one or two earlier ones (no cycles)."""
    xyz = rng.normal(0.0, 50.0, (count, 3)).round(3).tolist()
    earlier = rng.random((count, 2)).tolist()
    items: list[Any] = []
    for i in range(count):
        item = Marker.__new__(Marker)
        links = [items[int(f * i)] for f in earlier[i][: 1 + i % 2]] if i else []
        item.__dict__.update(name=f"marker {i}", serial=i, xyz=tuple(xyz[i]), radius=1.5,
                             visible=i % 7 != 0, color=[255, 128, i % 256, 255],
                             note="" if i % 3 else f"note about {i}", links=links)
        items.append(item)
    return items


# --- the direct baseline ------------------------------------------------------------------


def _direct_default(value: Any) -> msgpack.ExtType:
    """Just enough extension types for the records: arrays, references, tuples."""
    kind = type(value)
    if kind is np.ndarray:
        header = msgpack.packb([value.dtype.str, list(value.shape)])
        return msgpack.ExtType(1, bytes((len(header),)) + header + value.tobytes())
    if kind is ObjectKey:
        return msgpack.ExtType(0, f"{value.class_name}\0{value.ordinal}".encode())
    if kind is tuple:
        return msgpack.ExtType(12, _direct_pack(list(value)))
    raise TypeError(f"direct baseline cannot pack {kind}")


def _direct_pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, default=_direct_default, use_bin_type=True,
                                  strict_types=True)
    return packed


def _direct_hook(code: int, payload: bytes) -> Any:
    if code == 1:
        start = 1 + payload[0]
        dtype, shape = msgpack.unpackb(payload[1:start])
        return np.frombuffer(payload, dtype=dtype, offset=start).reshape(shape).copy()
    if code == 0:
        name, ordinal = payload.decode().split("\0")
        return ObjectKey(name, int(ordinal))
    return tuple(msgpack.unpackb(payload, ext_hook=_direct_hook, raw=False,
                                 strict_map_key=False))


def direct_write(records: list[Record]) -> bytes:
    """All records as one msgpack list, compressed in one call."""
    body = _direct_pack([[r.key, r.data] for r in records])
    return bytes(lz4.frame.compress(body))


def direct_read(data: bytes) -> list[Any]:
    return list(msgpack.unpackb(lz4.frame.decompress(data), ext_hook=_direct_hook, raw=False,
                                strict_map_key=False))


# --- timing -------------------------------------------------------------------------------


def _timed(action: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action(*args)
    return time.perf_counter() - start, result


def _stream_bytes(content: StreamContent, compress: str | None) -> bytes:
    out = io.BytesIO()
    write_stream(out, content, compress=compress)  # type: ignore[arg-type]
    return out.getvalue()


def _session_save(session: Session) -> bytes:
    out = io.BytesIO()
    session.save(out, format="stream")
    return out.getvalue()


def _session_restore(data: bytes) -> Session:
    target = Session("sessionh5-bench", minimal=True, silent=True)
    target.restore(io.BytesIO(data))
    return target


def measure(session: Session, content: StreamContent, repeat: int) -> dict[str, list[float]]:
    """Seconds per repeat for each method and direction; each read decodes its own write.

    The order of the methods rotates from one repeat to the next, and every result is
    dropped before the next clock starts: page faults on freshly mapped memory cost
    this machine as much as the decoding, and which method inherits whose freed
    memory must not decide the ratios.
    """
    methods: list[tuple[str, Callable[[], bytes], Callable[[bytes], Any]]] = [
        ("direct", lambda: direct_write(content.records), direct_read),
        ("codec", lambda: _stream_bytes(content, "lz4"), lambda d: read_stream(io.BytesIO(d))),
        ("session", lambda: _session_save(session), _session_restore),
    ]
    times: dict[str, list[float]] = {}
    for round_ in range(repeat):
        shift = round_ % len(methods)
        for name, write, read in methods[shift:] + methods[:shift]:
            seconds, data = _timed(write)
            times.setdefault(f"{name} write", []).append(seconds)
            seconds, result = _timed(read, data)
            times.setdefault(f"{name} read", []).append(seconds)
            del data, result
    return times


def report(times: dict[str, list[float]], raw_bytes: int, sizes: dict[str, int]) -> str:
    lines = [f"{'method':<16}{'direction':<10}{'seconds':>9}{'MB/s':>9}{'ratio':>8}"
             f"{'file MB':>10}"]
    for method in ("direct", "codec", "session"):
        for direction in ("write", "read"):
            seconds = statistics.median(times[f"{method} {direction}"])
            base = statistics.median(times[f"direct {direction}"])
            lines.append(f"{method:<16}{direction:<10}{seconds:>9.3f}"
                         f"{raw_bytes / MB / seconds:>9.0f}{base / seconds:>8.2f}"
                         f"{sizes[method] / MB:>10.1f}")
    return "\n".join(lines)


def _check(content: StreamContent, session_data: bytes) -> None:
    """The codec and the session path both decode to the records the baseline packs."""
    again = read_stream(io.BytesIO(session_data))
    assert [r.key for r in again.records] == [r.key for r in content.records]
    decoded = direct_read(direct_write(content.records))
    assert len(decoded) == len(content.records)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="~7 MiB instead of ~230 MiB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    size = QUICK if args.quick else FULL
    session = mixed_session(size["scale"], size["objects"])
    session_data = _session_save(session)
    content = read_stream(io.BytesIO(session_data))
    _check(content, session_data)
    raw_bytes = len(_stream_bytes(content, None))
    sizes = {"direct": len(direct_write(content.records)), "codec": len(session_data),
             "session": len(session_data)}
    print(f"mixed session: {len(content.records)} records, {raw_bytes / MB:.1f} MB "
          f"uncompressed stream; lz4; {args.repeat} repeats; ratio = direct s / row s "
          "(goal >= 0.9)")
    print(report(measure(session, content, args.repeat), raw_bytes, sizes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
