"""Compressed streams are written as independent pieces compressed in parallel (frames.py)."""

from __future__ import annotations

import gzip
import io

import lz4.frame
import numpy as np
import pytest
from helpers import Holder, new_session, save_bytes

from sessionh5._containers._stream import frames
from sessionh5._containers._stream.container import compressed_writer

PIECE = frames.PIECE_SIZE


def _payload(size: int) -> bytes:
    """Compressible but not trivial bytes."""
    rng = np.random.default_rng(size)
    return rng.integers(0, 16, size, dtype=np.uint8).tobytes()


def _written(compress: str, parts: list[bytes | memoryview]) -> bytes:
    out = io.BytesIO()
    with compressed_writer(out, compress) as writer:  # type: ignore[arg-type]
        for part in parts:
            writer.write(part)
    return out.getvalue()


def _lz4_frame_count(data: bytes) -> int:
    count = 0
    while data:
        decompressor = lz4.frame.LZ4FrameDecompressor()
        decompressor.decompress(data)
        assert decompressor.eof
        data = decompressor.unused_data
        count += 1
    return count


@pytest.mark.parametrize("compress", ["lz4", "gzip"])
def test_pieces_do_not_depend_on_write_sizes(compress: str) -> None:
    """Same bytes in, same file out, however the writes were cut."""
    data = _payload(2 * PIECE + 12345)
    view = memoryview(data)
    cuts = [
        [data],
        [view[:10], view[10 : PIECE + 7], view[PIECE + 7 :]],
        [view[i : i + 999_999] for i in range(0, len(data), 999_999)],
    ]
    outputs = {_written(compress, parts) for parts in cuts}
    assert len(outputs) == 1
    (output,) = outputs
    if compress == "lz4":
        assert _lz4_frame_count(output) == 3
        assert lz4.frame.open(io.BytesIO(output)).read() == data  # how other readers read
    else:
        assert gzip.decompress(output) == data
        assert output.count(b"\x1f\x8b\x08") >= 3  # three members


@pytest.mark.parametrize("compress", ["lz4", "gzip"])
def test_empty_output_is_still_one_valid_frame(compress: str) -> None:
    output = _written(compress, [])
    if compress == "lz4":
        assert lz4.frame.decompress(output) == b""
    else:
        assert gzip.decompress(output) == b""


def test_an_error_while_writing_leaves_no_piece_running() -> None:
    """The pending pieces are dropped and nothing is written after the error."""
    out = io.BytesIO()
    with pytest.raises(RuntimeError, match="stop"), compressed_writer(out, "lz4") as writer:
        writer.write(_payload(PIECE // 2))
        raise RuntimeError("stop")
    assert out.getvalue() == b""


@pytest.mark.parametrize("compress", ["lz4", "gzip"])
def test_session_larger_than_a_piece_round_trips(compress: str) -> None:
    """A session stream of several frames restores, and each lz4 frame has its checksum."""
    rng = np.random.default_rng(3)
    session = new_session()
    session.holder = Holder(volume=rng.random((9, 512, 512)).astype(np.float32), name="v")
    data = save_bytes(session, "stream", compress=compress)
    restored = new_session()
    restored.restore(io.BytesIO(data))
    np.testing.assert_array_equal(restored.holder.volume, session.holder.volume)
    assert restored.holder.volume.dtype == np.float32
    if compress == "lz4":
        assert _lz4_frame_count(data) == 3
        rest = data
        while rest:  # FLG byte: content checksum flag on every frame
            assert rest[:4] == b"\x04\x22\x4d\x18" and rest[4] & 0b100
            decompressor = lz4.frame.LZ4FrameDecompressor()
            decompressor.decompress(rest)
            rest = decompressor.unused_data
