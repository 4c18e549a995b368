"""``validate`` costs about what a restore costs, however many references a file holds.

It used to follow every HDF5 object reference with an h5py call and to hand every
reference id to jsonschema one by one: ten times a restore on 20,000 linked objects.
These tests count the work instead of timing it.
"""

from __future__ import annotations

import io

import h5py
import numpy as np
import pytest
from craft import edit_hdf5
from helpers import Box, Holder, new_session

import sessionh5
from sessionh5._containers._hdf5 import layout

ROWS = 600


@pytest.fixture(scope="module")
def linked_file() -> bytes:
    """A table of ROWS objects, each referring to two shared hubs, held by one manager."""
    session = new_session(minimal=True)
    hubs = [Box(label=f"hub {i}") for i in range(2)]
    rows = [Box(label=f"row {i}", links=[hubs[i % 2], hubs[(i + 1) % 2]]) for i in range(ROWS)]
    session.h = Holder(rows=rows, hubs=hubs)
    buf = io.BytesIO()
    session.save(buf)
    return buf.getvalue()


def test_validate_follows_few_references_however_many_there_are(
        linked_file: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    followed: list[h5py.Reference] = []
    original = h5py.Group.__getitem__

    def counting(self: h5py.Group, name: object) -> object:
        if isinstance(name, h5py.Reference):
            followed.append(name)
        return original(self, name)

    monkeypatch.setattr(h5py.Group, "__getitem__", counting)
    assert sessionh5.validate(io.BytesIO(linked_file)) == []
    with h5py.File(io.BytesIO(linked_file), "r") as file:
        references = sum(len(file[p][layout.T_REFS]) for p in file.attrs[layout.NODES]
                         if layout.T_REFS in file[p])
        nodes = len(file.attrs[layout.NODES])
    assert references >= 2 * ROWS  # the file holds many references...
    assert len(followed) <= 2 * nodes  # ...yet few (or none) are followed


def test_a_wrong_reference_among_many_is_still_reported(linked_file: bytes) -> None:
    """Comparing addresses instead of following references still catches a stray one."""
    def stray(file: h5py.File) -> None:
        table = next(file[p] for p in file.attrs[layout.NODES]
                     if file[p].attrs[layout.NODE_KIND] == layout.TABLE_NODE
                     and len(file[p][layout.T_REFS]) >= ROWS)
        refs = table[layout.T_REFS][()]
        refs[ROWS // 2] = file["/h"].ref
        table[layout.T_REFS][...] = refs

    problems = sessionh5.validate(io.BytesIO(edit_hdf5(linked_file, stray)))
    assert len(problems) == 1
    assert f"reference {ROWS // 2} points at /h, but its id names node" in problems[0]


def test_the_schema_still_sees_one_bad_id_in_a_long_list(linked_file: bytes) -> None:
    """Long integer attributes reach jsonschema as their extremes: a bad middle entry counts."""
    def bad(file: h5py.File) -> None:
        rows = np.asarray(file["/h"].attrs[layout.REF_ROWS]).copy()
        assert rows.size > 100
        rows[rows.size // 2] = -7
        file["/h"].attrs[layout.REF_ROWS] = rows

    problems = sessionh5.validate(io.BytesIO(edit_hdf5(linked_file, bad)))
    assert any(p.startswith("schema: ") and "sessionh5-ref-rows" in p
               and "-7 is less than the minimum of -1" in p for p in problems), problems
