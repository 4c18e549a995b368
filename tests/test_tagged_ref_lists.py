"""Long lists of references in tagged JSON decode at C speed, exactly as short ones do."""

from __future__ import annotations

import orjson
import pytest

from sessionh5 import CorruptFileError
from sessionh5._engine.decoding import decode_value


def _no_arrays(name: str) -> None:
    raise AssertionError(name)


REFS = [object() for _ in range(200)]


def _decode(items: list) -> list:
    return decode_value(orjson.dumps({"items": items}), REFS, _no_arrays)["items"]


def test_a_long_list_of_references_gives_the_objects_in_order() -> None:
    indices = [(i * 7) % 200 for i in range(150)]
    decoded = _decode([{"$ref": i} for i in indices])
    assert type(decoded) is list
    assert all(a is REFS[i] for a, i in zip(decoded, indices, strict=True))


@pytest.mark.parametrize("odd", [5, "x", None, [{"$ref": 1}], {"k": {"$ref": 2}}])
def test_a_long_list_mixing_references_and_other_values(odd: object) -> None:
    items = [{"$ref": i} for i in range(100)]
    items[50] = odd
    decoded = _decode(items)
    assert decoded[49] is REFS[49] and decoded[51] is REFS[51]
    if odd == [{"$ref": 1}]:
        assert decoded[50] == [REFS[1]] and decoded[50][0] is REFS[1]
    elif isinstance(odd, dict):
        assert decoded[50]["k"] is REFS[2]
    else:
        assert decoded[50] == odd


@pytest.mark.parametrize("bad", [{"$ref": 200}, {"$ref": -1}, {"$ref": True}, {"$ref": 1.0},
                                 {"$ref": "3"}])
def test_a_bad_reference_in_a_long_list_is_refused(bad: dict) -> None:
    items = [{"$ref": i} for i in range(100)]
    items[70] = bad
    with pytest.raises(CorruptFileError, match="reference index"):
        _decode(items)


def test_a_reference_with_extra_keys_decodes_as_in_a_short_list() -> None:
    """The fast path takes only exact ``{"$ref": i}``; the item-by-item path decides the rest."""
    odd = {"$ref": 1, "extra": 2}
    items = [{"$ref": i} for i in range(100)]
    items[3] = odd
    assert _decode(items)[3] is _decode([dict(odd)])[0] is REFS[1]
