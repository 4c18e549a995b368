"""Sessions through the flat stream: cycles refused at save, metadata-only reads, bad input.

Every bad stream must raise RestoreError with a message that says what is wrong and
leave the session it was restored into exactly as it was: same manager objects,
models, metadata, aliases, view and log.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lz4.frame
import numpy as np
import pytest
from helpers import Box, CountingReader, Holder, new_session, save_bytes
from stream_variants import flip_bit, record_offsets, replace_at, top_level_values

import sessionh5
from sessionh5 import Model, RestoreError, SaveError, Session

# --- cycles ---------------------------------------------------------------------------


def _two_cycle(session: Session) -> None:
    a, b = Box(name="a"), Box(name="b")
    a.next, b.next = b, a
    session.holder = Holder(start=a)


def _self_reference(session: Session) -> None:
    a = Box()
    a.me = [a]
    session.holder = Holder(a=a)


def _through_manager(session: Session) -> None:
    holder = Holder()
    holder.child = Box(owner=holder)
    session.holder = holder


CYCLES = [
    pytest.param(_two_cycle, r"objects <helpers\.Box, \d>, <helpers\.Box, \d> refer", id="two"),
    pytest.param(_self_reference, r"object <helpers\.Box, 1> refers to itself", id="self"),
    pytest.param(_through_manager, r"<helpers\.Holder, 1>", id="manager"),
]


@pytest.mark.parametrize(("make", "match"), CYCLES)
def test_cycle_is_refused_before_anything_is_written(make: Callable[..., None], match: str) -> None:
    """A stream cannot hold a cycle: SaveError names the objects and says to use HDF5."""
    session = new_session()
    make(session)
    out = io.BytesIO()
    with pytest.raises(SaveError, match=match) as info:
        session.save(out, format="stream")
    assert "save as HDF5" in str(info.value)
    assert out.getvalue() == b""
    assert save_bytes(session, "hdf5")[:4] == b"\x89HDF"


def test_cycle_saved_to_a_cxs_path_leaves_no_file(tmp_path: Path) -> None:
    """Module-level save picks the stream from .cxs, refuses the cycle, leaves nothing."""
    session = new_session()
    _two_cycle(session)
    with pytest.raises(SaveError, match="cycle"):
        sessionh5.save(session, tmp_path / "cyclic.cxs")
    assert list(tmp_path.iterdir()) == []
    written = sessionh5.save(session, tmp_path / "cyclic.h5s")
    assert written == tmp_path / "cyclic.h5s" and written.stat().st_size > 0


# --- metadata_only ----------------------------------------------------------------------



@pytest.mark.parametrize("compress", ["lz4", "gzip", None])
def test_metadata_only_decodes_only_the_header_and_first_record(compress: str | None) -> None:
    """With a 24 MiB incompressible array in the file, a metadata read stays near 1 MiB."""
    original = new_session()
    original.metadata["description"] = "big"
    rng = np.random.default_rng(3)
    original.holder = Holder(data=rng.integers(0, 256, 24 * 2**20, dtype=np.uint8))
    data = save_bytes(original, "stream", compress=compress)
    assert len(data) > 24 * 2**20
    target = new_session()
    before = observable_state(target)
    reader = CountingReader.of_bytes(data)
    report = target.restore(reader, metadata_only=True)
    assert report.metadata_only is True
    assert 0 < reader.bytes_read < 2 * 2**20, reader.bytes_read
    assert target.metadata["description"] == "big"
    assert target.metadata["session_version"] == 3
    assert "holder" not in target.state_manager_tags
    assert observable_state(target)["managers"] == before["managers"]


# --- bad input at session level ---------------------------------------------------------


class Probe(Model):
    """A model with an array, so a session has something of its own to lose."""

    SESSION_NAME = "tests.stream_session.Probe"


def rich_session(label: str) -> Session:
    """A session with models, aliases, view, log and metadata that all differ by ``label``."""
    session = new_session()
    probe = Probe(f"{label}-probe", session)
    probe.values = np.arange(5_000, dtype="<f4") * len(label)
    session.models.add([probe, Model(f"{label}-plain", session)])
    session.user_aliases[label] = f"open {label}"
    session.main_view.field_of_view = 10.0 + len(label)
    session.main_view.window_size = (640 + len(label), 480)
    session.logger.info(f"built {label}")
    session.metadata["creator"] = label
    return session


def observable_state(session: Session) -> dict[str, Any]:
    """Everything a failed restore must not change, in comparable form."""
    view = session.main_view
    return {
        "managers": [(tag, id(session.get_state_manager(tag))) for tag in
                     session.state_manager_tags],
        "attributes": {tag: id(getattr(session, tag, None)) for tag in session.state_manager_tags},
        "metadata": dict(session.metadata),
        "models": [(m.id, m.name, type(m).__name__, id(m)) for m in session.models.list()],
        "aliases": dict(session.user_aliases.aliases),
        "view": (view.camera_position.tobytes(), view.field_of_view, view.background_color,
                 view.window_size),
        "log": list(session.logger.messages),
        "options": dict(session.restore_options),
    }


@pytest.fixture(scope="module")
def good_raw() -> bytes:
    """An uncompressed stream of a rich session (restores fine: checked below)."""
    return save_bytes(rich_session("saved"), "stream", compress=None)


def _cut_between(raw: bytes, record: int) -> bytes:
    return raw[: record_offsets(raw)[record]]


def _shorter_tag(raw: bytes) -> bytes:
    """An encoder defect: the 'models' tag written with a length one byte short."""
    values = top_level_values(raw)
    at = record_offsets(raw)[values.index("models", 2)]
    return replace_at(raw, at, b"\xa5")


def _flip_in_lz4_block(raw: bytes) -> bytes:
    """One bit flipped inside the lz4 data of a stream with incompressible content."""
    data = sessionh5_lz4(raw)
    return flip_bit(data, len(data) // 2, 3)


def sessionh5_lz4(raw: bytes) -> bytes:
    """Compress like the writer does: lz4 frame with a content checksum."""
    return lz4.frame.compress(raw, content_checksum=True)


def _header(line: bytes) -> Callable[[bytes], bytes]:
    return lambda raw: line + b"\n" + raw[raw.index(b"\n") + 1 :]


BAD_INPUTS = [
    pytest.param(lambda raw: b"", "the file is empty", id="empty"),
    pytest.param(lambda raw: b"PK\x03\x04 a zip file", "not a sessionh5 file", id="not-a-session"),
    pytest.param(lambda raw: b"#!/bin/sh\necho hi\n", "not a sessionh5 file", id="shell-script"),
    pytest.param(_header(b"# App Session version 1"), "version 1 .*pickle", id="version-1"),
    pytest.param(_header(b"# App Session version 2"), "version 2 .*obsolete", id="version-2"),
    pytest.param(_header(b"# App Session version 4"), "version 4 is not readable", id="version-4"),
    pytest.param(_header(b"# " + b"A" * 300 + b" Session version 3"), "longer than 256",
                 id="header-too-long"),
    pytest.param(lambda raw: raw[: len(raw) // 2], "truncated inside record", id="truncated"),
    pytest.param(lambda raw: raw[:-1], r"truncated after record \d+ \(no end marker\)",
                 id="cut-before-nil"),
    pytest.param(lambda raw: _cut_between(raw, 4), "truncated after record 4",
                 id="cut-between-records"),
    pytest.param(lambda raw: gzip.compress(raw, mtime=0)[:-40], "damaged gzip",
                 id="truncated-gzip"),
    pytest.param(lambda raw: sessionh5_lz4(raw)[:-30], "damaged lz4", id="truncated-lz4"),
    pytest.param(lambda raw: raw + b"\x00garbage", r"byte\(s\) after the end marker",
                 id="trailing-garbage"),
    pytest.param(lambda raw: flip_bit(gzip.compress(raw, mtime=0), 200, 1), "damaged gzip",
                 id="corrupt-gzip"),
    pytest.param(_flip_in_lz4_block, "damaged lz4", id="corrupt-lz4"),
    pytest.param(_shorter_tag, "tag 'model' is followed by", id="encoder-defect"),
]


def test_good_stream_restores(good_raw: bytes) -> None:
    """The base of every damaged variant is itself a good session stream."""
    target = new_session()
    target.restore(io.BytesIO(good_raw))
    assert [m.name for m in target.models.list()] == ["saved-probe", "saved-plain"]
    assert target.user_aliases["saved"] == "open saved"


@pytest.mark.parametrize(("damage", "match"), BAD_INPUTS)
def test_bad_stream_raises_and_leaves_session_untouched(
    good_raw: bytes, damage: Callable[[bytes], bytes], match: str
) -> None:
    """RestoreError says what is wrong; managers, models, metadata, view and log are kept."""
    target = rich_session("mine")
    before = observable_state(target)
    with pytest.raises(RestoreError, match=match):
        target.restore(io.BytesIO(damage(good_raw)))
    assert observable_state(target) == before


def test_writer_sets_the_lz4_content_checksum() -> None:
    """The frame descriptor's C.Checksum flag (bit 2 of FLG) is set by the stream writer."""
    data = save_bytes(new_session(), "stream", compress="lz4")
    assert data[:4] == b"\x04\x22\x4d\x18"
    assert data[4] & 0b100


def test_flipped_bit_in_lz4_stream_is_detected() -> None:
    """A flipped bit in a stored lz4 block of our own stream is an error, not wrong values."""
    original = new_session()
    rng = np.random.default_rng(11)
    original.holder = Holder(data=rng.integers(0, 256, 2**20, dtype=np.uint8))
    data = save_bytes(original, "stream", compress="lz4")
    target = new_session()
    before = observable_state(target)
    with pytest.raises(RestoreError, match="damaged lz4 compression"):
        target.restore(io.BytesIO(flip_bit(data, len(data) // 2, 5)))
    assert observable_state(target) == before


def test_saving_a_smaller_session_into_a_reused_stream_leaves_no_stale_tail() -> None:
    """A BytesIO that held a bigger session restores the new one after a second save."""
    big = new_session()
    big.h = Holder(data=np.arange(100_000.0))
    buf = io.BytesIO()
    big.save(buf, format="stream")
    small = new_session()
    small.h = Holder(data=[1, 2, 3])
    buf.seek(0)
    small.save(buf, format="stream")
    buf.seek(0)
    restored = new_session()
    restored.restore(buf)
    assert restored.h.data == [1, 2, 3]


def test_stream_source_finds_references_itself_when_the_reader_gave_none() -> None:
    """The references the reader met and those found by walking the values agree."""
    from sessionh5._containers._stream import read_stream
    from sessionh5._containers._stream.source import StreamSource

    session = new_session()
    shared = Box(name="shared")
    session.holder = Holder(items=[Box(link=shared), (shared, {"k": Box(deep=[shared])})])
    content = read_stream(io.BytesIO(save_bytes(session, "stream")))
    met = StreamSource(content)
    walked = StreamSource(type(content)(content.header, content.records))
    assert walked._met == {}
    keys = met.keys()
    for key in keys:  # the walk meets them in another order
        assert sorted(met.refs(key)) == sorted(walked.refs(key))
    assert sum(len(met.refs(key)) for key in keys) >= 5

    def resolve(key: Any) -> str:
        return f"object {key.ordinal}"

    for key in keys:
        assert met.load(key, resolve) == walked.load(key, resolve)
