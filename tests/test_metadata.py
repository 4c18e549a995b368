"""standard_metadata, timestamps and METADATA_TYPES, following the session API seed."""

from __future__ import annotations

import copy
import getpass
import platform
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from sessionh5._core.metadata import (
    METADATA_TYPES,
    format_timestamp,
    parse_timestamp,
    standard_metadata,
)
from sessionh5.errors import UsageError

FIRST = datetime(2026, 11, 26, 8, 0, 0, 123456, tzinfo=UTC)
LATER = datetime(2027, 1, 2, 9, 30, 0, tzinfo=UTC)
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


@pytest.fixture(autouse=True)
def fixed_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the generator string independent of the machine running the tests."""
    monkeypatch.setattr(platform, "system", lambda: "Linux")
    monkeypatch.setattr(platform, "release", lambda: "6.1.0")
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")


def first_save(**kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"app_version": "1.2", "now": FIRST, "user": "alice"}
    options.update(kwargs)
    return standard_metadata(**options)


# -- first save ------------------------------------------------------------------------


def test_first_save_has_every_standard_key_but_modified() -> None:
    """A first save sets generator, created, creator and dateCopyrighted, not modified."""
    meta = first_save()
    assert meta == {
        "generator": "sessionh5/1.2 (Linux 6.1.0; x86_64)",
        "created": "2026-11-26T08:00:00.123456Z",
        "creator": "alice",
        "dateCopyrighted": "© 2026 alice",
    }


def test_generator_names_the_application() -> None:
    """app_name and app_version form the product of the User-Agent string."""
    meta = first_save(app_name="ChimeraX", app_version="1.8")
    assert meta["generator"] == "ChimeraX/1.8 (Linux 6.1.0; x86_64)"


def test_generator_is_user_agent_form() -> None:
    """The generator matches 'product/version (comment)' with a token product."""
    meta = first_save()
    assert re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+/[^ ]+ \([^()]+\)", meta["generator"])


def test_generator_without_known_version_omits_it() -> None:
    """With no app_version and no installed distribution of that name, only the name is used."""
    meta = first_save(app_name="NoSuchApplication-xyz", app_version=None)
    assert meta["generator"] == "NoSuchApplication-xyz (Linux 6.1.0; x86_64)"


def test_generator_sanitises_name_and_comment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spaces in the name and parentheses in OS details cannot break the User-Agent form."""
    monkeypatch.setattr(platform, "release", lambda: "10 (build 19045)")
    meta = first_save(app_name="UCSF ChimeraX")
    assert meta["generator"] == "UCSF-ChimeraX/1.2 (Linux 10 -build 19045-; x86_64)"


def test_generator_skips_unknown_platform_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """platform returns '' for what it cannot determine; empty parts are left out."""
    for name in ("system", "release", "machine"):
        monkeypatch.setattr(platform, name, lambda: "")
    assert first_save()["generator"] == "sessionh5/1.2"


@pytest.mark.parametrize("name", [pytest.param("", id="empty"), pytest.param("  ", id="blank")])
def test_empty_app_name_is_usage_error(name: str) -> None:
    """The generator must name an application."""
    with pytest.raises(UsageError, match="app_name"):
        first_save(app_name=name)


def test_default_user_is_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without user=, the creator is the login name."""
    monkeypatch.setattr(getpass, "getuser", lambda: "carol")
    meta = standard_metadata(app_version="1", now=FIRST)
    assert meta["creator"] == "carol"
    assert meta["dateCopyrighted"] == "© 2026 carol"


@pytest.mark.parametrize("exc", [OSError, KeyError, ImportError])
def test_unknown_login_name_leaves_creator_out(
    monkeypatch: pytest.MonkeyPatch, exc: type[Exception]
) -> None:
    """When the platform cannot name the user, no creator or copyright is invented."""

    def fail() -> str:
        raise exc("no user")

    monkeypatch.setattr(getpass, "getuser", fail)
    meta = standard_metadata(app_version="1", now=FIRST)
    assert "creator" not in meta
    assert "dateCopyrighted" not in meta
    assert meta["created"] == "2026-11-26T08:00:00.123456Z"


def test_unknown_login_name_keeps_previous_creator(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a later save by an unknown user, the previous creator is kept unchanged."""

    def fail() -> str:
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", fail)
    previous = first_save()
    meta = standard_metadata(previous, app_version="1", now=LATER)
    assert meta["creator"] == "alice"
    assert meta["dateCopyrighted"] == "© 2026 alice"


def test_default_now_is_current_utc_time() -> None:
    """Without now=, created is the current UTC time."""
    before = datetime.now(UTC)
    meta = standard_metadata(app_version="1", user="alice")
    after = datetime.now(UTC)
    assert before <= parse_timestamp(meta["created"]) <= after


def test_now_in_other_zone_is_converted_to_utc() -> None:
    """An aware now in another time zone is stored as UTC, and the year is the UTC year."""
    tokyo = timezone(timedelta(hours=9))
    meta = first_save(now=datetime(2027, 1, 1, 3, 0, tzinfo=tokyo))
    assert meta["created"] == "2026-12-31T18:00:00.000000Z"
    assert meta["dateCopyrighted"] == "© 2026 alice"


def test_naive_now_is_usage_error() -> None:
    """A naive datetime has no known zone, so it is refused."""
    with pytest.raises(UsageError, match="aware datetime"):
        first_save(now=datetime(2026, 11, 26, 8, 0))


# -- later saves -----------------------------------------------------------------------


def test_later_save_same_user_keeps_created_sets_modified() -> None:
    """A later save keeps created, sets modified, and leaves a same-year creator a str."""
    previous = first_save()
    meta = standard_metadata(
        previous, app_version="1.3", now=FIRST + timedelta(hours=1), user="alice"
    )
    assert meta["created"] == previous["created"]
    assert meta["modified"] == "2026-11-26T09:00:00.123456Z"
    assert meta["creator"] == "alice"
    assert meta["dateCopyrighted"] == "© 2026 alice"
    assert meta["generator"] == "sessionh5/1.3 (Linux 6.1.0; x86_64)"


def test_later_save_same_user_next_year_lists_copyrights() -> None:
    """The same user in a new year keeps one creator but gains a second copyright."""
    meta = standard_metadata(first_save(), app_version="1.2", now=LATER, user="alice")
    assert meta["creator"] == "alice"
    assert meta["dateCopyrighted"] == ["© 2026 alice", "© 2027 alice"]


def test_later_save_other_user_makes_lists() -> None:
    """Another user turns creator and dateCopyrighted into lists, previous values first."""
    meta = standard_metadata(first_save(), app_version="1.2", now=LATER, user="bob")
    assert meta["creator"] == ["alice", "bob"]
    assert meta["dateCopyrighted"] == ["© 2026 alice", "© 2027 bob"]
    assert meta["modified"] == "2027-01-02T09:30:00.000000Z"


def test_third_save_extends_lists_without_duplicates() -> None:
    """A previous list is extended; a user already listed is not added again."""
    second = standard_metadata(first_save(), app_version="1", now=LATER, user="bob")
    third = standard_metadata(second, app_version="1", now=LATER, user="alice")
    assert third["creator"] == ["alice", "bob"]
    assert third["dateCopyrighted"] == ["© 2026 alice", "© 2027 bob", "© 2027 alice"]
    fourth = standard_metadata(third, app_version="1", now=LATER, user="dave")
    assert fourth["creator"] == ["alice", "bob", "dave"]


def test_previous_single_item_list_stays_a_list() -> None:
    """A list stays a list even when the new value is already in it."""
    previous = {"created": "2026-01-01T00:00:00.000000Z", "creator": ["alice"]}
    meta = standard_metadata(previous, app_version="1", now=FIRST, user="alice")
    assert meta["creator"] == ["alice"]


def test_previous_tuple_is_extended_as_list() -> None:
    """A tuple (as a reader might return) is read like a list."""
    previous = {"created": "2026-01-01T00:00:00.000000Z", "creator": ("alice", "bob")}
    meta = standard_metadata(previous, app_version="1", now=FIRST, user="carol")
    assert meta["creator"] == ["alice", "bob", "carol"]


def test_previous_duplicates_are_dropped() -> None:
    """Duplicates already present in a previous list are not repeated."""
    previous = {"created": "2026-01-01T00:00:00.000000Z", "creator": ["alice", "alice"]}
    meta = standard_metadata(previous, app_version="1", now=FIRST, user="bob")
    assert meta["creator"] == ["alice", "bob"]


def test_previous_metadata_is_not_mutated() -> None:
    """standard_metadata returns a new dict and leaves previous metadata (and its lists) alone."""
    previous = standard_metadata(first_save(), app_version="1", now=LATER, user="bob")
    previous["thumbnail"] = PNG
    snapshot = copy.deepcopy(previous)
    meta = standard_metadata(previous, app_version="2", now=LATER, user="carol")
    assert previous == snapshot
    assert meta is not previous
    assert meta["creator"] is not previous["creator"]


def test_user_keys_and_thumbnail_kept_unchanged() -> None:
    """Keys that are not standard, like a PNG thumbnail and a description, are kept as is."""
    previous = first_save()
    previous.update({"thumbnail": PNG, "description": "two proteins", "count": 3})
    meta = standard_metadata(previous, app_version="1", now=LATER, user="bob")
    assert meta["thumbnail"] == PNG
    assert isinstance(meta["thumbnail"], bytes)
    assert meta["description"] == "two proteins"
    assert meta["count"] == 3


def test_previous_without_created_counts_as_first_save() -> None:
    """Previous metadata without created (user keys only) gets created, and no modified."""
    previous = {"description": "draft", "modified": "2020-01-01T00:00:00Z"}
    meta = standard_metadata(previous, app_version="1", now=FIRST, user="alice")
    assert meta["created"] == "2026-11-26T08:00:00.123456Z"
    assert "modified" not in meta
    assert meta["description"] == "draft"


def test_previous_malformed_created_is_repaired() -> None:
    """A previous '+00:00Z' created is kept as the same instant, in the valid form."""
    previous = {"created": "2025-03-04T05:06:07.890000+00:00Z", "creator": "alice"}
    meta = standard_metadata(previous, app_version="1", now=FIRST, user="alice")
    assert meta["created"] == "2025-03-04T05:06:07.890000Z"


def test_previous_unreadable_created_is_kept() -> None:
    """A previous created that is not a timestamp is kept rather than failing the save."""
    previous = {"created": "last Tuesday"}
    meta = standard_metadata(previous, app_version="1", now=FIRST, user="alice")
    assert meta["created"] == "last Tuesday"
    assert meta["modified"] == "2026-11-26T08:00:00.123456Z"


def test_none_previous_is_first_save() -> None:
    """None and an empty mapping both mean a first save."""
    assert first_save() == standard_metadata({}, app_version="1.2", now=FIRST, user="alice")


# -- timestamps ------------------------------------------------------------------------


def test_saved_timestamps_are_valid_iso_8601_utc() -> None:
    """created and modified end in Z, never '+00:00Z', and parse back to the saved time."""
    meta = standard_metadata(first_save(), app_version="1", now=LATER, user="bob")
    for key, when in (("created", FIRST), ("modified", LATER)):
        text = meta[key]
        assert ISO_UTC.match(text), text
        assert "+00:00" not in text
        assert parse_timestamp(text) == when
        # The standard library reads it too (Python 3.11+ accepts the Z).
        assert datetime.fromisoformat(text) == when


def test_format_timestamp_example() -> None:
    """format_timestamp gives the documented form."""
    assert format_timestamp(FIRST) == "2026-11-26T08:00:00.123456Z"


def test_format_timestamp_refuses_naive() -> None:
    """A naive datetime cannot be written as UTC."""
    with pytest.raises(UsageError):
        format_timestamp(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11-26T08:00:00.123456Z", FIRST, id="z"),
        pytest.param("2026-11-26T08:00:00.123456+00:00", FIRST, id="offset"),
        pytest.param("2026-11-26T08:00:00.123456+00:00Z", FIRST, id="malformed-offset-z"),
        pytest.param("2026-11-26T09:00:00.123456+01:00", FIRST, id="other-offset"),
        pytest.param("2026-11-26T08:00:00.123456", FIRST, id="naive-is-utc"),
        pytest.param("  2026-11-26T08:00:00.123456Z\n", FIRST, id="whitespace"),
        pytest.param(
            "2026-11-26T08:00:00Z", datetime(2026, 11, 26, 8, tzinfo=UTC), id="seconds"
        ),
        pytest.param("2026-11-26", datetime(2026, 11, 26, tzinfo=UTC), id="date-only"),
    ],
)
def test_parse_timestamp_accepts(text: str, expected: datetime) -> None:
    """parse_timestamp reads ISO 8601 forms, and the '+00:00Z' in real files, as UTC."""
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("Z", id="only-z"),
        pytest.param("yesterday", id="words"),
        pytest.param("2026-13-01T00:00:00Z", id="bad-month"),
        pytest.param("2026-11-26T08:00:00ZZ", id="double-z"),
    ],
)
def test_parse_timestamp_rejects(text: str) -> None:
    """Text that is not an ISO 8601 timestamp raises UsageError showing it."""
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_timestamp(text)


def test_parse_timestamp_rejects_non_str() -> None:
    """Only str is parsed."""
    with pytest.raises(UsageError, match="int"):
        parse_timestamp(20261126)  # type: ignore[arg-type]


def test_format_then_parse_round_trips() -> None:
    """format_timestamp and parse_timestamp are inverse for aware datetimes."""
    when = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5)))
    assert parse_timestamp(format_timestamp(when)) == when


# -- METADATA_TYPES --------------------------------------------------------------------


def test_metadata_types_covers_standard_keys() -> None:
    """METADATA_TYPES documents exactly the standard keys standard_metadata writes."""
    later = standard_metadata(first_save(), app_version="1", now=LATER, user="bob")
    assert set(METADATA_TYPES) == set(later)
    assert all(isinstance(v, str) and v for v in METADATA_TYPES.values())


def test_metadata_types_is_read_only() -> None:
    """METADATA_TYPES cannot be changed at run time."""
    with pytest.raises(TypeError):
        METADATA_TYPES["thumbnail"] = "bytes"  # type: ignore[index]
