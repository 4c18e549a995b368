"""The HDF5 session file as plain h5py sees it, and files that are not session files.

A person with h5py (or h5dump) and no sessionh5 finds the metadata at the root, one
group per manager tag, arrays as chunked LZ4 datasets of their own shape and dtype,
objects named by class and ordinal with readable JSON state, and object references
that land on the referenced node. Files that are not sessions, or name classes this
process does not know, fail with RestoreError subclasses that say what is wrong.
"""

from __future__ import annotations

import datetime
import io
import json
from itertools import pairwise
from pathlib import Path
from typing import Any

import h5py
import msgpack
import numpy as np
import pytest
from helpers import Box, Holder, new_session, restamp, save_bytes

from sessionh5 import CorruptFileError, RestoreError, State, UnknownClassError

BLOSC_FILTER = 32001


class Volume(State):
    """An object owning a large array, so it gets a group of its own."""

    SESSION_NAME = "tests.layout.Volume"
    SESSION_VERSION = 3

    def __init__(self, name: str, data: np.ndarray) -> None:
        self.name = name
        self.data = data


class Atom(State):
    """Many small objects: packed as rows of one table per class."""

    SESSION_NAME = "tests.layout.Atom"

    def __init__(self, element: str, volume: Volume) -> None:
        self.element = element
        self.volume = volume


@pytest.fixture(scope="module")
def session_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    s = new_session()
    s.metadata["description"] = "layout test"
    s.metadata["thumbnail"] = b"\x89PNG\r\n\x1a\nfake"
    volume = Volume("density", np.linspace(0, 1, 40 * 50 * 60, dtype=">f4").reshape(40, 50, 60))
    s.scene = Holder(volume=volume, atoms=[Atom(e, volume) for e in "CNO"],
                     small=np.arange(4, dtype=np.int16), box=Box(n=1))
    s.user_aliases["hello"] = "echo hello"
    s.logger.info("saved by the layout test")
    path = tmp_path_factory.mktemp("layout") / "layout.h5s"
    path.write_bytes(save_bytes(s, "hdf5"))
    return path


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def test_root_attributes_hold_metadata_and_versions(session_file: Path) -> None:
    """Standard metadata, app name, session and layout versions are root attributes."""
    with h5py.File(session_file, "r") as f:
        attrs = f.attrs
        assert _text(attrs["description"]) == "layout test"
        assert _text(attrs["generator"]).startswith("sessionh5-tests")
        assert _text(attrs["created"]).endswith("Z")
        assert bytes(attrs["thumbnail"]).startswith(b"\x89PNG")
        assert _text(attrs["sessionh5-app-name"]) == "sessionh5-tests"
        assert int(attrs["sessionh5-session-version"]) == 3
        assert int(attrs["sessionh5-layout-version"]) == 3
        tags = [_text(t) for t in attrs["sessionh5-managers"]]
        assert tags == ["logger", "models", "main_view", "user_aliases", "scene"]


METADATA_LISTS = {"colour": [0.5, 0.2, 0.2], "ids": [1, 2, 2**62], "shown": [True, False],
                  "one": [1.5]}
METADATA_JSON = {"mixed": [1, 2.0], "huge": [2**64], "empty": [], "pair": (1, 2),
                 "when": datetime.date(2026, 12, 1)}


def test_metadata_lists_of_numbers_are_numeric_attributes(tmp_path: Path) -> None:
    """h5py and HDFView see numbers, not JSON text; every list comes back as the same list."""
    s = new_session(minimal=True)
    s.metadata.update(METADATA_LISTS, **METADATA_JSON)
    path = tmp_path / "meta.h5s"
    path.write_bytes(save_bytes(s, "hdf5"))
    with h5py.File(path, "r") as f:
        assert f.attrs["colour"].dtype == np.float64 and list(f.attrs["colour"]) == [0.5, 0.2,
                                                                                      0.2]
        assert f.attrs["ids"].dtype == np.int64 and f.attrs["shown"].dtype == np.bool_
        assert f.attrs["one"].shape == (1,)
        json_keys = {k.decode() if isinstance(k, bytes) else k
                     for k in f.attrs["sessionh5-json-metadata"]}
        assert json_keys == set(METADATA_JSON)
    restored = new_session(minimal=True)
    restored.restore(str(path))
    for key, value in {**METADATA_LISTS, **METADATA_JSON}.items():
        assert restored.metadata[key] == value and type(restored.metadata[key]) is type(value)
        if isinstance(value, list):
            assert [type(v) for v in restored.metadata[key]] == [type(v) for v in value], key


def test_one_group_per_manager_tag(session_file: Path) -> None:
    """Each manager tag is a top-level group, tagged with its class name."""
    with h5py.File(session_file, "r") as f:
        for tag in ("logger", "models", "main_view", "user_aliases", "scene"):
            assert isinstance(f[tag], h5py.Group), tag
            assert _text(f[tag].attrs["sessionh5-tag"]) == tag
        assert _text(f["scene"].attrs["sessionh5-class"]) == "helpers.Holder"
        assert _text(f["models"].attrs["sessionh5-class"]) == "Models"


def _find_dataset(group: h5py.Group, shape: tuple[int, ...]) -> h5py.Dataset:
    found: list[h5py.Dataset] = []
    group.visititems(lambda name, obj: found.append(obj)
                     if isinstance(obj, h5py.Dataset) and obj.shape == shape else None)
    assert len(found) == 1, found
    return found[0]


def test_large_array_is_chunked_blosc_dataset_with_own_shape_and_dtype(session_file: Path) -> None:
    """The volume is a chunked dataset with Blosc (32001), its shape, dtype and byte order."""
    with h5py.File(session_file, "r") as f:
        dset = _find_dataset(f["scene"], (40, 50, 60))
        assert dset.dtype == np.dtype(">f4")
        assert dset.chunks is not None
        plist = dset.id.get_create_plist()
        filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
        assert filters == [BLOSC_FILTER, h5py.h5z.FILTER_FLETCHER32], filters
        import hdf5plugin  # noqa: F401  (lets plain h5py decode the Blosc chunks)

        expected = np.linspace(0, 1, 40 * 50 * 60, dtype=">f4").reshape(40, 50, 60)
        np.testing.assert_array_equal(dset[...], expected)


def test_object_with_arrays_has_its_own_group_named_by_class_and_ordinal(
        session_file: Path) -> None:
    """The volume's node is '/scene/Volume 1' with class, version and readable JSON."""
    with h5py.File(session_file, "r") as f:
        node = f["scene/Volume 1"]
        attrs = node.attrs
        assert _text(attrs["sessionh5-class"]) == "tests.layout.Volume"
        assert int(attrs["sessionh5-class-version"]) == 3
        assert int(attrs["sessionh5-ordinal"]) == 1
        state = json.loads(_text(attrs["sessionh5-state"]))
        assert state["name"] == "density"
        assert list(state["data"]) == ["$dataset"]
        assert isinstance(node[state["data"]["$dataset"]], h5py.Dataset)


def test_small_objects_are_rows_of_a_readable_table(session_file: Path) -> None:
    """The three atoms are rows of '/scene/Atom', each a msgpack map plain msgpack reads."""
    with h5py.File(session_file, "r") as f:
        table = f["scene/Atom"]
        assert _text(table.attrs["sessionh5-node"]) == "table"
        assert _text(table.attrs["sessionh5-class"]) == "tests.layout.Atom"
        assert table["ordinal"][()].tolist() == [1, 2, 3]
        data = table["state"][()].tobytes()
        starts = table["state_start"][()].tolist()
        assert starts[0] == 0 and starts[-1] == len(data)
        states = [msgpack.unpackb(data[a:b]) for a, b in pairwise(starts)]
        assert [s["element"] for s in states] == ["C", "N", "O"]
        assert list(msgpack.Unpacker(io.BytesIO(data))) == states  # back to back, nothing else


def test_manager_state_is_readable_json(session_file: Path) -> None:
    """Plain values are readable without sessionh5: tagged JSON, small arrays inline."""
    with h5py.File(session_file, "r") as f:
        aliases = json.loads(_text(f["user_aliases"].attrs["sessionh5-state"]))
        assert aliases == {"aliases": {"hello": "echo hello"}}
        scene = json.loads(_text(f["scene"].attrs["sessionh5-state"]))
        assert scene["small"] == {"$array": "<i2", "shape": [4], "value": [0, 1, 2, 3]}
        assert set(scene["volume"]) == {"$ref"}


def test_object_reference_dereferences_to_the_right_node(session_file: Path) -> None:
    """f[ref] of the manager's references lands on the Volume group and the Atom table."""
    with h5py.File(session_file, "r") as f:
        scene = f["scene"]
        state = json.loads(_text(scene.attrs["sessionh5-state"]))
        refs = scene.attrs["sessionh5-refs"]
        volume_node = f[refs[state["volume"]["$ref"]]]
        assert volume_node.name == "/scene/Volume 1"
        assert _text(volume_node.attrs["sessionh5-class"]) == "tests.layout.Volume"
        atom_index = state["atoms"][0]["$ref"]
        assert f[refs[atom_index]].name == "/scene/Atom"
        assert int(scene.attrs["sessionh5-ref-rows"][atom_index]) in (0, 1, 2)
        table = f["scene/Atom"]
        back = table["refs"][()]
        assert all(f[r].name == "/scene/Volume 1" for r in back)


def _copy(session_file: Path, tmp_path: Path) -> Path:
    path = tmp_path / "edited.h5s"
    path.write_bytes(session_file.read_bytes())
    return path


def _restore(path: Path) -> Any:
    target = new_session()
    with open(path, "rb") as stream:
        target.restore(stream)
    return target


def test_unknown_class_name_is_restore_error(session_file: Path, tmp_path: Path) -> None:
    """A class name this process never registered is an UnknownClassError naming it."""
    path = _copy(session_file, tmp_path)
    with h5py.File(path, "r+") as f:
        attrs = f["scene/Volume 1"].attrs
        attrs.create("sessionh5-class", "evil.module.Payload", dtype=h5py.string_dtype())
        restamp(attrs)
    with pytest.raises(UnknownClassError, match=r"evil\.module\.Payload") as info:
        _restore(path)
    assert isinstance(info.value, RestoreError)
    assert "/scene/Volume 1" in str(info.value)


def test_unknown_manager_class_is_restore_error(session_file: Path, tmp_path: Path) -> None:
    """Renaming a manager's class also fails cleanly, and the session is untouched."""
    path = _copy(session_file, tmp_path)
    with h5py.File(path, "r+") as f:
        f["scene"].attrs.create("sessionh5-class", "os.system", dtype=h5py.string_dtype())
        restamp(f["scene"].attrs)
    target = new_session()
    models = target.models
    with pytest.raises(UnknownClassError, match=r"os\.system"), open(path, "rb") as stream:
        target.restore(stream)
    assert target.models is models and "scene" not in target.state_manager_tags


def test_edited_file_without_new_digest_is_corrupt(session_file: Path, tmp_path: Path) -> None:
    """Changing an object's state behind sessionh5's back is reported as a corrupt file."""
    path = _copy(session_file, tmp_path)
    with h5py.File(path, "r+") as f:
        attrs = f["user_aliases"].attrs
        attrs.create("sessionh5-state", '{"aliases": {"hello": "rm -rf"}}',
                     dtype=h5py.string_dtype())
    with pytest.raises(CorruptFileError, match="user_aliases"):
        _restore(path)


def _plain_hdf5(path: Path) -> None:
    with h5py.File(path, "w") as f:
        f["data"] = np.arange(10)
        f.attrs["title"] = "not a session"


NOT_SESSIONS = [
    pytest.param(_plain_hdf5, r"not a sessionh5 file \(an HDF5 file without", id="plain-hdf5"),
    pytest.param(lambda p: p.write_text("hello, this is text\n"),
                 r"not a sessionh5 file \(neither", id="text"),
    pytest.param(lambda p: p.write_bytes(b""), r"empty", id="empty"),
    pytest.param(lambda p: p.write_bytes(bytes(np.random.default_rng(1).integers(
        0, 256, 4096, dtype=np.uint8))), r"not a sessionh5 file \(neither", id="random-bytes"),
    pytest.param(lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 500),
                 r"HDF5", id="hdf5-signature-only"),
]


@pytest.mark.parametrize(("make", "message"), NOT_SESSIONS)
def test_non_session_file_is_restore_error(make: Any, message: str, tmp_path: Path) -> None:
    """Files that are not sessions fail with CorruptFileError and a clear message."""
    path = tmp_path / "not-a-session.h5s"
    make(path)
    with pytest.raises(CorruptFileError, match=message):
        _restore(path)


def test_non_session_file_metadata_only_is_restore_error(tmp_path: Path) -> None:
    """metadata_only on a plain HDF5 file fails the same way."""
    path = tmp_path / "plain.h5"
    _plain_hdf5(path)
    target = new_session()
    with pytest.raises(CorruptFileError), open(path, "rb") as stream:
        target.restore(stream, metadata_only=True)
    assert target.metadata == {}


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_truncated_session_file_is_restore_error(session_file: Path, fraction: float) -> None:
    """A session file cut short is a RestoreError saying so (an interrupted copy or
    download is the usual cause), never a crash or a partial session."""
    data = session_file.read_bytes()
    target = new_session()
    kept = int(len(data) * fraction)
    with pytest.raises(RestoreError, match=rf"the file is cut short: it has {kept:,} of the "
                                           rf"{len(data):,} bytes it was written with"):
        target.restore(io.BytesIO(data[:kept]))
    assert "scene" not in target.state_manager_tags


def test_sdump_shows_managers_and_objects(session_file: Path) -> None:
    """sdump writes a readable dump naming managers, classes and metadata."""
    from sessionh5 import sdump

    out = io.StringIO()
    sdump(new_session(), session_file, out)
    text = out.getvalue()
    for word in ("layout test", "scene", "tests.layout.Volume", "tests.layout.Atom"):
        assert word in text, word


def test_file_matches_the_layout_schema(session_file: Path) -> None:
    """The file (tables, object groups, datasets, metadata) passes the JSON schema check."""
    from sessionh5._containers._hdf5.schema import schema_problems

    with h5py.File(session_file, "r") as f:
        assert schema_problems(f) == []
