"""Plain values for the stream: references swapped for keys and back (sessionh5/_plain.py)."""

from __future__ import annotations

from collections import OrderedDict, deque

from sessionh5._engine.plain import resolve_in_place, substitute_keys
from sessionh5._engine.records import ObjectKey

A, B = ObjectKey("tests.A", 1), ObjectKey("tests.B", 2)
OBJECTS = {A: "object A", B: "object B"}


def _value() -> dict:
    return {"list": [A, 1, [B]], "tuple": (A, "x"), "set": {B}, "keys": {A: 1, "s": B},
            "odict": OrderedDict([(A, [B])]), "deque": deque([A], maxlen=3), "plain": 1.5}


EXPECTED = {"list": ["object A", 1, ["object B"]], "tuple": ("object A", "x"),
            "set": {"object B"}, "keys": {"object A": 1, "s": "object B"},
            "odict": OrderedDict([("object A", ["object B"])]),
            "deque": deque(["object A"], maxlen=3), "plain": 1.5}


def test_substitute_keys_copies_and_keeps_types() -> None:
    value = _value()
    result = substitute_keys(value, OBJECTS.__getitem__)
    assert result == EXPECTED
    assert type(result["odict"]) is OrderedDict and result["deque"].maxlen == 3
    assert value == _value()  # untouched


def test_resolve_in_place_reuses_lists_and_str_keyed_dicts() -> None:
    value = _value()
    inner = value["list"]
    result = resolve_in_place(value, OBJECTS.__getitem__)
    assert result == EXPECTED
    assert result is value and result["list"] is inner  # reused
    assert type(result["tuple"]) is tuple and type(result["odict"]) is OrderedDict
    assert result["deque"].maxlen == 3
