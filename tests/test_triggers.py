"""TriggerSet and bracket: registration, call order, failures, self-removal, threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sessionh5._core.triggers import TriggerHandler, TriggerSet, bracket
from sessionh5.errors import SessionError, UsageError


@pytest.fixture
def triggers() -> TriggerSet:
    ts = TriggerSet()
    ts.add_trigger("begin save session")
    ts.add_trigger("end save session")
    return ts


class Recorder:
    """A handler that records its calls, and optionally raises."""

    def __init__(self, label: str, log: list[Any], exc: Exception | None = None) -> None:
        self.label, self.log, self.exc = label, log, exc

    def __call__(self, trigger_name: str, data: object) -> None:
        self.log.append((self.label, trigger_name, data))
        if self.exc is not None:
            raise self.exc


# -- definition ------------------------------------------------------------------------


def test_add_trigger_defines_name(triggers: TriggerSet) -> None:
    """A defined trigger is reported by has_trigger and trigger_names, in order."""
    triggers.add_trigger("models changed")
    assert triggers.has_trigger("models changed")
    assert not triggers.has_trigger("nope")
    assert triggers.trigger_names() == ("begin save session", "end save session", "models changed")


def test_trigger_names_is_a_snapshot(triggers: TriggerSet) -> None:
    """trigger_names returns a copy that later definitions do not change."""
    names = triggers.trigger_names()
    triggers.add_trigger("later")
    assert "later" not in names


def test_add_trigger_twice_is_usage_error(triggers: TriggerSet) -> None:
    """Defining a trigger twice is a bug and raises UsageError."""
    with pytest.raises(UsageError, match="already defined"):
        triggers.add_trigger("begin save session")


@pytest.mark.parametrize("bad", [pytest.param("", id="empty"), pytest.param(3, id="int")])
def test_add_trigger_rejects_bad_name(bad: Any) -> None:
    """A trigger name must be a non-empty str."""
    with pytest.raises(UsageError, match="non-empty str"):
        TriggerSet().add_trigger(bad)


def test_new_set_is_empty() -> None:
    """A new TriggerSet has no triggers; sets do not share definitions."""
    one, two = TriggerSet(), TriggerSet()
    one.add_trigger("x")
    assert two.trigger_names() == ()
    assert not two.has_trigger("x")


# -- handlers --------------------------------------------------------------------------


def test_add_handler_unknown_trigger_is_usage_error(triggers: TriggerSet) -> None:
    """Adding a handler to an undefined trigger raises UsageError naming it."""
    with pytest.raises(UsageError, match="no trigger named 'missing'") as info:
        triggers.add_handler("missing", lambda n, d: None)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, SessionError)


def test_add_handler_rejects_non_callable(triggers: TriggerSet) -> None:
    """A handler must be callable."""
    with pytest.raises(UsageError, match="callable"):
        triggers.add_handler("begin save session", "not a function")  # type: ignore[arg-type]


def test_add_handler_returns_handler(triggers: TriggerSet) -> None:
    """add_handler returns a TriggerHandler naming the trigger and function."""

    def func(name: str, data: object) -> None:
        pass

    handler = triggers.add_handler("begin save session", func)
    assert isinstance(handler, TriggerHandler)
    assert handler.trigger_name == "begin save session"
    assert handler.func is func
    assert handler.active
    assert "begin save session" in repr(handler)


def test_activate_calls_handlers_in_order_with_name_and_data(triggers: TriggerSet) -> None:
    """Handlers are called as func(trigger_name, data) in registration order."""
    log: list[Any] = []
    for label in "abc":
        triggers.add_handler("begin save session", Recorder(label, log))
    data = {"path": "x.h5"}
    triggers.activate_trigger("begin save session", data)
    assert log == [
        ("a", "begin save session", data),
        ("b", "begin save session", data),
        ("c", "begin save session", data),
    ]
    assert log[0][2] is data


def test_activate_only_calls_that_triggers_handlers(triggers: TriggerSet) -> None:
    """Activating one trigger does not call handlers of another."""
    log: list[Any] = []
    triggers.add_handler("begin save session", Recorder("begin", log))
    triggers.add_handler("end save session", Recorder("end", log))
    triggers.activate_trigger("end save session", None)
    assert log == [("end", "end save session", None)]


def test_activate_without_handlers_is_fine(triggers: TriggerSet) -> None:
    """A defined trigger with no handlers activates silently."""
    triggers.activate_trigger("begin save session", 1)


def test_activate_data_defaults_to_none(triggers: TriggerSet) -> None:
    """data is optional and defaults to None."""
    log: list[Any] = []
    triggers.add_handler("begin save session", Recorder("a", log))
    triggers.activate_trigger("begin save session")
    assert log == [("a", "begin save session", None)]


def test_activate_unknown_trigger_is_usage_error(triggers: TriggerSet) -> None:
    """Activating an undefined trigger raises UsageError listing the defined ones."""
    with pytest.raises(UsageError, match="begin save session"):
        triggers.activate_trigger("missing", None)


def test_same_function_twice_is_called_twice(triggers: TriggerSet) -> None:
    """Registering a function twice calls it twice; removing one receipt leaves the other."""
    log: list[Any] = []
    rec = Recorder("a", log)
    first = triggers.add_handler("begin save session", rec)
    triggers.add_handler("begin save session", rec)
    triggers.activate_trigger("begin save session", None)
    assert len(log) == 2
    triggers.remove_handler(first)
    triggers.activate_trigger("begin save session", None)
    assert len(log) == 3


def test_remove_handler_stops_calls(triggers: TriggerSet) -> None:
    """A removed handler is no longer called and is marked inactive."""
    log: list[Any] = []
    handler = triggers.add_handler("begin save session", Recorder("a", log))
    triggers.remove_handler(handler)
    triggers.activate_trigger("begin save session", None)
    assert log == []
    assert not handler.active


def test_remove_handler_twice_is_noop(triggers: TriggerSet) -> None:
    """Removing an already removed handler does nothing."""
    handler = triggers.add_handler("begin save session", lambda n, d: None)
    triggers.remove_handler(handler)
    triggers.remove_handler(handler)


def test_remove_handler_from_other_set_is_usage_error(triggers: TriggerSet) -> None:
    """A handler returned by another TriggerSet cannot be removed here."""
    other = TriggerSet()
    other.add_trigger("begin save session")
    foreign = other.add_handler("begin save session", lambda n, d: None)
    with pytest.raises(UsageError, match="not added to this TriggerSet"):
        triggers.remove_handler(foreign)
    assert foreign.active


def test_remove_handler_rejects_non_handler(triggers: TriggerSet) -> None:
    """remove_handler only accepts TriggerHandler receipts."""
    with pytest.raises(UsageError):
        triggers.remove_handler(lambda n, d: None)  # type: ignore[arg-type]


# -- changes during activation ---------------------------------------------------------


def test_handler_may_remove_itself(triggers: TriggerSet) -> None:
    """A handler removing itself while called does not disturb the others."""
    log: list[str] = []
    handlers: dict[str, TriggerHandler] = {}

    def once(name: str, data: object) -> None:
        log.append("once")
        triggers.remove_handler(handlers["once"])

    handlers["once"] = triggers.add_handler("begin save session", once)
    triggers.add_handler("begin save session", lambda n, d: log.append("after"))
    triggers.activate_trigger("begin save session", None)
    triggers.activate_trigger("begin save session", None)
    assert log == ["once", "after", "after"]


def test_handler_removed_during_activation_is_skipped(triggers: TriggerSet) -> None:
    """A later handler removed by an earlier one is not called in that activation."""
    log: list[str] = []
    handlers: dict[str, TriggerHandler] = {}
    triggers.add_handler("begin save session", lambda n, d: triggers.remove_handler(handlers["b"]))
    handlers["b"] = triggers.add_handler("begin save session", lambda n, d: log.append("b"))
    triggers.activate_trigger("begin save session", None)
    assert log == []


def test_handler_added_during_activation_waits(triggers: TriggerSet) -> None:
    """A handler added while the trigger runs is first called on the next activation."""
    log: list[str] = []

    def adder(name: str, data: object) -> None:
        log.append("adder")
        triggers.add_handler(name, lambda n, d: log.append("added"))

    handler = triggers.add_handler("begin save session", adder)
    triggers.activate_trigger("begin save session", None)
    assert log == ["adder"]
    triggers.remove_handler(handler)
    triggers.activate_trigger("begin save session", None)
    assert log == ["adder", "added"]


def test_handler_may_activate_another_trigger(triggers: TriggerSet) -> None:
    """Handlers run outside the lock, so a nested activation does not deadlock."""
    log: list[str] = []
    triggers.add_handler(
        "begin save session", lambda n, d: triggers.activate_trigger("end save session", d)
    )
    triggers.add_handler("end save session", lambda n, d: log.append(n))
    triggers.activate_trigger("begin save session", None)
    assert log == ["end save session"]


# -- failures --------------------------------------------------------------------------


def test_failing_handler_does_not_stop_others(triggers: TriggerSet) -> None:
    """Every handler runs; the single exception is re-raised unwrapped."""
    log: list[Any] = []
    boom = KeyError("boom")
    triggers.add_handler("begin save session", Recorder("a", log, boom))
    triggers.add_handler("begin save session", Recorder("b", log))
    with pytest.raises(KeyError) as info:
        triggers.activate_trigger("begin save session", None)
    assert info.value is boom
    assert [entry[0] for entry in log] == ["a", "b"]
    assert any("begin save session" in note for note in boom.__notes__)


def test_first_failure_raised_with_others_as_notes(triggers: TriggerSet) -> None:
    """With several failures, the first is raised and the others are described in notes."""
    log: list[Any] = []
    first, second, third = ValueError("one"), TypeError("two"), RuntimeError("three")
    triggers.add_handler("begin save session", Recorder("a", log, first))
    triggers.add_handler("begin save session", Recorder("b", log))
    triggers.add_handler("begin save session", Recorder("c", log, second))
    triggers.add_handler("begin save session", Recorder("d", log, third))
    with pytest.raises(ValueError, match="one") as info:
        triggers.activate_trigger("begin save session", None)
    assert info.value is first
    assert len(log) == 4
    notes = "\n".join(first.__notes__)
    assert "TypeError: two" in notes
    assert "RuntimeError: three" in notes
    assert notes.index("TypeError") < notes.index("RuntimeError")


def test_base_exception_is_not_collected(triggers: TriggerSet) -> None:
    """KeyboardInterrupt and friends stop the activation at once."""
    log: list[Any] = []
    triggers.add_handler("begin save session", Recorder("a", log, KeyboardInterrupt()))  # type: ignore[arg-type]
    triggers.add_handler("begin save session", Recorder("b", log))
    with pytest.raises(KeyboardInterrupt):
        triggers.activate_trigger("begin save session", None)
    assert [entry[0] for entry in log] == ["a"]


# -- bracket ---------------------------------------------------------------------------


def _record_both(triggers: TriggerSet, log: list[Any]) -> None:
    triggers.add_handler("begin save session", Recorder("begin", log))
    triggers.add_handler("end save session", Recorder("end", log))


def test_bracket_activates_begin_body_end(triggers: TriggerSet) -> None:
    """begin runs before the body, end after it, both with the same data."""
    log: list[Any] = []
    _record_both(triggers, log)
    with bracket(triggers, "begin save session", "end save session", "d"):
        log.append(("body",))
    assert log == [
        ("begin", "begin save session", "d"),
        ("body",),
        ("end", "end save session", "d"),
    ]


def test_bracket_activates_end_when_body_fails(triggers: TriggerSet) -> None:
    """end is activated even when the body raises, and the body's error propagates."""
    log: list[Any] = []
    _record_both(triggers, log)
    with (
        pytest.raises(ZeroDivisionError),
        bracket(triggers, "begin save session", "end save session"),
    ):
        _ = 1 / 0
    assert [entry[0] for entry in log] == ["begin", "end"]


def test_bracket_activates_end_when_begin_fails(triggers: TriggerSet) -> None:
    """A failing begin handler skips the body but still activates end."""
    log: list[Any] = []
    triggers.add_handler("begin save session", Recorder("begin", log, ValueError("bad begin")))
    triggers.add_handler("end save session", Recorder("end", log))
    body_ran = False
    with (
        pytest.raises(ValueError, match="bad begin"),
        bracket(triggers, "begin save session", "end save session"),
    ):
        body_ran = True
    assert not body_ran
    assert [entry[0] for entry in log] == ["begin", "end"]


def test_bracket_end_failure_after_body_failure_becomes_note(triggers: TriggerSet) -> None:
    """When body and end both fail, the body's error wins and end's is a note."""
    triggers.add_handler("end save session", Recorder("end", [], OSError("disk gone")))
    with (
        pytest.raises(ZeroDivisionError) as info,
        bracket(triggers, "begin save session", "end save session"),
    ):
        _ = 1 / 0
    assert any("OSError: disk gone" in note for note in info.value.__notes__)


def test_bracket_end_failure_alone_propagates(triggers: TriggerSet) -> None:
    """When only end fails, its exception propagates."""
    triggers.add_handler("end save session", Recorder("end", [], OSError("disk gone")))
    with (
        pytest.raises(OSError, match="disk gone"),
        bracket(triggers, "begin save session", "end save session"),
    ):
        pass


@pytest.mark.parametrize(
    ("begin", "end"),
    [
        pytest.param("missing", "end save session", id="begin"),
        pytest.param("begin save session", "missing", id="end"),
    ],
)
def test_bracket_unknown_name_runs_nothing(triggers: TriggerSet, begin: str, end: str) -> None:
    """An unknown begin or end name raises UsageError before any handler or body runs."""
    log: list[Any] = []
    _record_both(triggers, log)
    with pytest.raises(UsageError, match="missing"), bracket(triggers, begin, end):
        log.append(("body",))
    assert log == []


# -- threads ---------------------------------------------------------------------------


def test_sets_in_threads_are_independent() -> None:
    """Sessions in separate threads, each with its own TriggerSet, never see each other."""
    n_threads, n_rounds = 8, 200
    results: dict[int, list[int]] = {}
    barrier = threading.Barrier(n_threads)

    def work(index: int) -> None:
        ts = TriggerSet()
        ts.add_trigger("t")
        seen: list[int] = []
        ts.add_handler("t", lambda n, d: seen.append(d))
        barrier.wait()
        for i in range(n_rounds):
            ts.activate_trigger("t", index * 1000 + i)
        results[index] = seen

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for index, seen in results.items():
        assert seen == [index * 1000 + i for i in range(n_rounds)]


def test_shared_set_survives_concurrent_add_remove_activate() -> None:
    """Adding, removing and activating from many threads at once neither fails nor deadlocks."""
    ts = TriggerSet()
    ts.add_trigger("t")
    calls = 0
    lock = threading.Lock()
    errors: list[BaseException] = []

    def count(name: str, data: object) -> None:
        nonlocal calls
        with lock:
            calls += 1

    def churn() -> None:
        try:
            for _ in range(300):
                handler = ts.add_handler("t", count)
                ts.activate_trigger("t", None)
                ts.remove_handler(handler)
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=churn) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert calls >= 6 * 300
    before = calls
    ts.activate_trigger("t", None)
    assert calls == before, "every handler was removed"
