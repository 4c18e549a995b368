"""Layout 3: the small arrays of table rows live in their table's pools (issue 15).

Objects whose arrays are at most POOL_ARRAY_BYTES stay table rows; each array goes
to the pool of its dtype and comes back with its shape, dtype and bits. Plain h5py
reads every pooled array from the index columns, a damaged index is a
CorruptFileError that says what is wrong, and the tools see the pools.
"""

from __future__ import annotations

import io
from typing import Any

import h5py
import numpy as np
import pytest
from craft import edit_hdf5, resign
from helpers import Box, Holder, assert_same, new_session

import sessionh5
from sessionh5 import CorruptFileError, Session, State
from sessionh5._containers._hdf5 import layout
from sessionh5._containers._hdf5.layout import POOL_ARRAY_BYTES
from sessionh5._tools.tree import session_tree

POINT = np.dtype([("x", "<f4"), ("y", ">i2"), ("tag", "S3")])


def varied_arrays(i: int) -> dict[str, Any]:
    """Arrays of many dtypes, shapes and byte orders, some nested in containers."""
    rng = np.random.default_rng(i)
    return {
        "profile": rng.random(300 + i, dtype=np.float32),
        "grid": rng.integers(-99, 99, (5, 7)).astype(np.int16),
        "swapped": np.arange(20 + i, dtype=">f8"),
        "names": np.array(["", "é", "日本", "abcd"][: 1 + i % 4], dtype="<U4"),
        "points": np.zeros(4, POINT),
        "nested": (np.zeros((0, 3), bool), [np.full((), 2.5),
                                             np.arange(6, dtype=np.complex64).reshape(3, 2)]),
        "when": np.array([0, 86_400 * i], dtype="datetime64[s]"),
        "label": f"box {i}",
    }


def save(session: Session, **kwargs: Any) -> bytes:
    buf = io.BytesIO()
    session.save(buf, **kwargs)
    return buf.getvalue()


def restore(data: bytes) -> Session:
    restored = new_session()
    restored.restore(io.BytesIO(data))
    return restored


@pytest.fixture(scope="module")
def varied() -> Session:
    session = new_session(minimal=True)
    session.h = Holder(boxes=[Box(**varied_arrays(i)) for i in range(12)])
    return session


@pytest.fixture(scope="module")
def varied_file(varied: Session) -> bytes:
    return save(varied)


def test_small_arrays_roundtrip_as_rows_of_one_table(varied: Session, varied_file: bytes
                                                      ) -> None:
    """Every array comes back equal in value, dtype, shape and byte order; no object node
    was made for any Box: they are rows, their arrays in pools."""
    assert_same(varied.h, restore(varied_file).h)
    with h5py.File(io.BytesIO(varied_file), "r") as f:
        kinds = {p: f[p].attrs[layout.NODE_KIND] for p in f.attrs[layout.NODES]
                 if p.startswith("/h")}
        assert kinds == {"/h": "object", "/h/Box": "table"}
        table = f["/h/Box"]
        pools = sorted(n for n in table if n.startswith(layout.POOL_PREFIX))
        assert len(pools) >= 8  # one per dtype
        assert len(table[layout.T_ARRAY_POOL]) == 12 * 9


def test_restored_arrays_are_writable_and_independent(varied_file: bytes) -> None:
    boxes = restore(varied_file).h.boxes
    first, second = boxes[0].profile, boxes[1].profile
    assert first.flags.writeable and first.flags.owndata
    first[:] = 7
    assert not np.any(second == 7)


def test_plain_h5py_reads_every_pooled_array() -> None:
    """pool[offset:offset + size].reshape(shape), with the row bounds of array_start."""
    session = new_session(minimal=True)
    profiles = [np.random.default_rng(i).random(10 + 37 * i, dtype=np.float32)
                for i in range(40)]
    grids = [np.full((i % 5, 3), i, dtype=">i8") for i in range(40)]
    session.h = Holder(boxes=[Box(profile=p, grid=g) for p, g in zip(profiles, grids,
                                                                      strict=True)])
    with h5py.File(io.BytesIO(save(session)), "r") as f:
        table = f["/h/Box"]
        starts = table["array_start"][()]
        pool_of, offsets = table["array_pool"][()], table["array_offset"][()]
        shape_start, dims = table["array_shape_start"][()], table["array_shape"][()]

        def array(j: int) -> np.ndarray:
            shape = tuple(dims[shape_start[j]:shape_start[j + 1]])
            pool = table[f"pool.{pool_of[j]}"]
            size = int(np.prod(shape, dtype=np.int64))
            return pool[offsets[j]:offsets[j] + size].reshape(shape)

        for row, ordinal in enumerate(table["ordinal"][()]):
            got = [array(j) for j in range(starts[row], starts[row + 1])]
            assert len(got) == 2
            np.testing.assert_array_equal(got[0], profiles[ordinal - 1])
            assert got[0].dtype == np.float32
            np.testing.assert_array_equal(got[1], grids[ordinal - 1])
            assert got[1].dtype == np.dtype(">i8")


@pytest.mark.parametrize(("extra", "node"), [(0, "table"), (1, "object")])
def test_the_pool_limit_decides_between_a_row_and_an_object_node(extra: int, node: str
                                                                 ) -> None:
    session = new_session(minimal=True)
    data = np.arange(POOL_ARRAY_BYTES + extra, dtype=np.uint8)
    session.h = Holder(box=Box(data=data))
    saved = save(session)
    with h5py.File(io.BytesIO(saved), "r") as f:
        paths = [p for p in f.attrs[layout.NODES] if p.startswith("/h/")]
        assert [f[p].attrs[layout.NODE_KIND] for p in paths] == [node]
    assert_same(session.h, restore(saved).h)


class Custom(State):
    """Restores with its own restore_snapshot: loaded one row at a time, not in bulk."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    @classmethod
    def restore_snapshot(cls, session: Session, data: Any) -> Custom:
        return cls(data["data"])


def test_rows_loaded_one_by_one_get_their_arrays() -> None:
    session = new_session(minimal=True)
    arrays = [np.arange(i, dtype=np.int32) for i in range(1, 30)]
    session.h = Holder(items=[Custom(a) for a in arrays])
    restored = restore(save(session)).h.items
    assert [type(c) for c in restored] == [Custom] * len(arrays)
    for got, expected in zip(restored, arrays, strict=True):
        assert got.data.dtype == np.int32
        np.testing.assert_array_equal(got.data, expected)


def test_info_and_ls_show_the_pools(varied_file: bytes) -> None:
    found = sessionh5.info(io.BytesIO(varied_file))
    raw = sum(a.nbytes for i in range(12) for a in _arrays(varied_arrays(i)))
    assert found.raw_array_bytes == raw
    assert found.stored_array_bytes and found.stored_array_bytes > 0
    assert [dict(m.classes or ()) for m in found.managers if m.tag == "h"] == [
        {"helpers.Box": 12}]
    table = session_tree(io.BytesIO(varied_file), "/h/Box")
    assert table.kind == "table" and table.rows == 12
    assert [c.name for c in table.children][:2] == ["pool.0", "pool.1"]
    assert all(c.kind == "array" for c in table.children)


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    if isinstance(value, (list, tuple)):
        return [a for v in value for a in _arrays(v)]
    return []


def test_validate_reads_the_pools(varied_file: bytes) -> None:
    calls: list[tuple[int, int]] = []
    assert sessionh5.validate(io.BytesIO(varied_file), progress=lambda d, t: calls.append(
        (d, t))) == []
    assert calls and calls[-1][0] == calls[-1][1] > 0


# -- a damaged index is refused with a message naming it ---------------------------------


def _column_edit(name: str, change: Any) -> Any:
    def edit(file: h5py.File) -> None:
        column = file["/h/Box"][name]
        values = column[()]
        change(values)
        column[...] = values
    return edit


def _shift(values: np.ndarray) -> None:
    values[1] += 1


def _huge(values: np.ndarray) -> None:
    values[0] = 10**15


def _negative(values: np.ndarray) -> None:
    values[0] = -3


def _missing_pool(values: np.ndarray) -> None:
    values[-1] = 99


def _no_arrays_for_row_0(values: np.ndarray) -> None:
    values[1] = 0


DAMAGE = [
    pytest.param("array_offset", _shift, "do not fill it exactly", id="offset"),
    pytest.param("array_shape", _huge, "claims more elements than its pool", id="huge-shape"),
    pytest.param("array_shape", _negative, "an array shape is invalid", id="negative-dim"),
    pytest.param("array_pool", _missing_pool, "names a pool that does not exist", id="pool"),
    pytest.param("array_start", _no_arrays_for_row_0, "pooled array 0 is out of range",
                 id="row-bounds"),
]


@pytest.mark.parametrize(("name", "change", "message"), DAMAGE)
def test_a_damaged_array_index_is_refused(varied_file: bytes, name: str, change: Any,
                                          message: str) -> None:
    damaged = edit_hdf5(varied_file, _column_edit(name, change))
    with pytest.raises(CorruptFileError, match=message):
        new_session().restore(io.BytesIO(damaged))
    assert any(message in p for p in sessionh5.validate(io.BytesIO(damaged)))


def test_an_index_edit_that_is_not_re_signed_is_refused(varied_file: bytes) -> None:
    """Index columns carry checksums like every column, and the table digest covers them."""
    buf = io.BytesIO(varied_file)
    with h5py.File(buf, "r+") as file:
        _column_edit("array_offset", _shift)(file)
    with pytest.raises(CorruptFileError, match="array_offset' is corrupt"):
        new_session().restore(io.BytesIO(buf.getvalue()))


def test_the_table_digest_covers_the_index(varied_file: bytes) -> None:
    buf = io.BytesIO(varied_file)
    with h5py.File(buf, "r+") as file:
        digest = file["/h/Box"].attrs[layout.DIGEST]
        _column_edit("array_offset", _shift)(file)
        resign(file)  # the column's checksum is right again...
        file["/h/Box"].attrs[layout.DIGEST] = digest  # ...but not the table's digest
    with pytest.raises(CorruptFileError, match="/h/Box is damaged"):
        new_session().restore(io.BytesIO(buf.getvalue()))
