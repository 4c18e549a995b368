"""Logger: recorded messages, where each level is printed, silence, and subclassing."""

from __future__ import annotations

import copy
import io
import threading

import pytest

from sessionh5._core.logger import LEVELS, Logger


def make_logger(silent: bool = False) -> tuple[Logger, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Logger(silent, stdout=out, stderr=err), out, err


@pytest.mark.parametrize(
    ("level", "expected_out", "expected_err"),
    [
        pytest.param("info", "hello\n", "", id="info-stdout"),
        pytest.param("warning", "", "warning: hello\n", id="warning-stderr"),
        pytest.param("error", "", "error: hello\n", id="error-stderr"),
        pytest.param("status", "", "", id="status-not-printed"),
    ],
)
def test_level_is_recorded_and_printed(level: str, expected_out: str, expected_err: str) -> None:
    """Each level is recorded as (level, text) and printed to its own stream."""
    logger, out, err = make_logger()
    getattr(logger, level)("hello")
    assert logger.messages == [(level, "hello")]
    assert out.getvalue() == expected_out
    assert err.getvalue() == expected_err


def test_messages_kept_in_order() -> None:
    """messages lists every message, of every level, in the order logged."""
    logger, _, _ = make_logger()
    logger.status("saving")
    logger.info("a")
    logger.warning("b")
    logger.error("c")
    logger.info("d")
    assert logger.messages == [
        ("status", "saving"),
        ("info", "a"),
        ("warning", "b"),
        ("error", "c"),
        ("info", "d"),
    ]
    assert all(type(entry) is tuple for entry in logger.messages)


def test_silent_records_but_prints_nothing() -> None:
    """A silent logger keeps every message but writes to no stream."""
    logger, out, err = make_logger(silent=True)
    logger.info("a")
    logger.warning("b")
    logger.error("c")
    assert [level for level, _ in logger.messages] == ["info", "warning", "error"]
    assert out.getvalue() == err.getvalue() == ""


def test_silent_can_be_switched() -> None:
    """silent is a plain attribute read on every message."""
    logger, out, _ = make_logger(silent=True)
    logger.info("quiet")
    logger.silent = False
    logger.info("loud")
    assert out.getvalue() == "loud\n"


def test_clear_forgets_messages_without_touching_old_list() -> None:
    """clear() empties the log; a list taken earlier keeps its content."""
    logger, _, _ = make_logger()
    logger.info("a")
    earlier = logger.messages
    logger.clear()
    assert logger.messages == []
    assert earlier == [("info", "a")]
    logger.info("b")
    assert logger.messages == [("info", "b")]


def test_message_ending_in_newline_is_not_doubled() -> None:
    """A message that already ends with a newline is printed without an extra one."""
    logger, out, _ = make_logger()
    logger.info("line\n")
    assert out.getvalue() == "line\n"
    assert logger.messages == [("info", "line\n")]


def test_multiline_message_printed_as_is() -> None:
    """Multi-line messages are printed whole and recorded whole."""
    logger, _, err = make_logger()
    logger.error("first\nsecond")
    assert err.getvalue() == "error: first\nsecond\n"


def test_non_str_message_is_recorded_as_str() -> None:
    """Messages are stored as str so the log always saves as plain data."""
    logger, out, _ = make_logger()
    logger.info(42)  # type: ignore[arg-type]
    assert logger.messages == [("info", "42")]
    assert out.getvalue() == "42\n"


def test_default_streams_are_sys_streams(capsys: pytest.CaptureFixture[str]) -> None:
    """Without stream arguments, output goes to the current sys.stdout and sys.stderr."""
    logger = Logger()
    logger.info("to out")
    logger.warning("to err")
    logger.status("nowhere")
    captured = capsys.readouterr()
    assert captured.out == "to out\n"
    assert captured.err == "warning: to err\n"


def test_default_is_not_silent_and_empty() -> None:
    """A new logger is not silent and has no messages; loggers do not share lists."""
    one, two = Logger(), Logger()
    assert one.silent is False
    assert one.messages == []
    one.status("x")
    assert two.messages == []


def test_silent_is_positional_and_streams_keyword_only() -> None:
    """silent may be passed positionally; streams only by keyword."""
    assert Logger(True).silent is True
    with pytest.raises(TypeError):
        Logger(False, io.StringIO())  # type: ignore[misc]


def test_state_is_plain_attributes() -> None:
    """STATE_ATTRIBUTES names the plain state: a list of str tuples and a bool."""
    logger, _, _ = make_logger(silent=True)
    logger.warning("w")
    state = {name: getattr(logger, name) for name in Logger.STATE_ATTRIBUTES}
    assert state == {"messages": [("warning", "w")], "silent": True}
    assert copy.deepcopy(state) == state


def test_levels_constant() -> None:
    """LEVELS lists exactly the four levels."""
    assert sorted(LEVELS) == ["error", "info", "status", "warning"]


def test_subclass_with_another_base() -> None:
    """A class mixing Logger after another base gets a working logger (cooperative init)."""

    class Base:
        def __init__(self) -> None:
            super().__init__()
            self.base_ready = True

    class SessionLogger(Base, Logger):
        pass

    logger = SessionLogger()
    assert logger.base_ready
    logger.status("ok")
    assert logger.messages == [("status", "ok")]
    assert logger.silent is False


def test_subclass_can_override_a_level() -> None:
    """A GUI subclass can redirect status messages by overriding one method."""
    shown: list[str] = []

    class GuiLogger(Logger):
        def status(self, msg: str) -> None:
            super().status(msg)
            shown.append(msg)

    logger = GuiLogger(silent=True)
    logger.status("50%")
    assert shown == ["50%"]
    assert logger.messages == [("status", "50%")]


def test_concurrent_logging_keeps_every_message() -> None:
    """Messages logged from several threads are all kept."""
    logger, _, _ = make_logger(silent=True)

    def work(index: int) -> None:
        for i in range(500):
            logger.info(f"{index}-{i}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(logger.messages) == 2000
    assert len(set(logger.messages)) == 2000
