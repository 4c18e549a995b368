"""Object keys made at C speed are the same as keys made the usual way."""

from __future__ import annotations

from sessionh5._engine.records import ObjectKey, keys_of, new_key


def test_keys_made_in_bulk_equal_ordinary_keys() -> None:
    made = keys_of("pkg.Atom", [1, 7, 3], "bundle")
    expected = [ObjectKey("pkg.Atom", n, "bundle") for n in (1, 7, 3)]
    assert made == expected
    assert all(type(k) is ObjectKey for k in made)
    assert {hash(k) for k in made} == {hash(k) for k in expected}
    assert made[1].ordinal == 7 and made[1].provider == "bundle"


def test_a_single_fast_key_behaves_like_a_namedtuple() -> None:
    key = new_key(("pkg.Atom", 4, None))
    assert type(key) is ObjectKey and key == ObjectKey("pkg.Atom", 4)
    assert key._replace(ordinal=5) == ObjectKey("pkg.Atom", 5)
    assert str(key) == "<pkg.Atom, 4>"
