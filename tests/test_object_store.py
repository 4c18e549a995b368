"""Sessions in object stores: save to and restore from URLs against a real S3 server.

The server is moto in server mode on 127.0.0.1 (tests/s3_server.py), the client s3fs
with ``storage_options``; ``https://`` is the byte-range server of range_server.py
(read-only) and ``memory://`` is fsspec's in-process file system. Saving to a URL
must be crash-safe like saving to a path: an upload that fails leaves the previous
object exactly as it was and no partial object under the key.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import Box, Holder, assert_same, new_session

import sessionh5
from sessionh5 import SaveError, Session, UsageError

pytest.importorskip("fsspec")


def rich_session(seed: int = 1, extra: np.ndarray | None = None, *, cycle: bool = True
                 ) -> Session:
    """Arrays of several dtypes (chunked and tiny), shared references, a cycle (which a
    stream cannot hold), metadata."""
    rng = np.random.default_rng(seed)
    session = new_session()
    shared = [1, 2.5, "three", None, (4, 5)]  # plain values: saved by value
    first, second = Box(name="first"), Box(name="second")
    first.partner, second.partner = second, first if cycle else None
    session.h = Holder(
        big=rng.standard_normal((300, 700)).astype(">f8"),  # chunked, big-endian
        counts=rng.integers(0, 1 << 40, 5000, dtype=np.int64),
        labels=np.array(["alpha", "beta", "γ"]),
        when=np.array(["2026-01-01T10:00", "2026-06-01T12:30"], dtype="datetime64[m]"),
        flags=np.array([True, False, True]),
        shared_a=shared, shared_b=shared, boxes=[first, second], first=first,
        stamp=dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC), ratio=0.1 + 0.2,
        extra=extra if extra is not None else np.arange(3, dtype=np.uint8))
    session.metadata.update(title="in the bucket", count=3, tags=["a", "b"],
                            thumbnail=b"\x89PNG\r\n", nested={"k": [1, 2]})
    return session


def assert_restored(original: Session, restored: Session) -> None:
    for name in ("big", "counts", "labels", "when", "flags", "shared_a", "stamp", "ratio",
                 "extra"):
        assert_same(getattr(original.h, name), getattr(restored.h, name), name)
    assert_same(original.h.shared_b, restored.h.shared_b, "shared_b")
    first, second = restored.h.boxes  # saved objects: one object, however many references
    assert restored.h.first is first and first.partner is second
    assert second.partner is (first if original.h.boxes[1].partner else None)
    assert first.name == "first" and second.name == "second"
    expected = {**original.metadata, "session_version": 3}
    assert_same(expected, restored.metadata, "metadata")


@pytest.mark.parametrize("fmt", ["hdf5", "stream"])
def test_save_to_s3_and_restore_from_s3(s3_server: Any, bucket: str, fmt: str) -> None:
    original = rich_session(cycle=fmt == "hdf5")
    name = f"s3://{bucket}/sessions/rich" + (".cxs" if fmt == "stream" else ".h5s")
    written = sessionh5.save(original, name, storage_options=s3_server.storage_options)
    assert written == name
    restored = new_session()
    restored.restore(name, storage_options=s3_server.storage_options)
    assert_restored(original, restored)


def test_a_url_without_a_suffix_gets_one(s3_server: Any, bucket: str) -> None:
    options = s3_server.storage_options
    written = sessionh5.save(rich_session(), f"s3://{bucket}/plain", storage_options=options)
    assert written == f"s3://{bucket}/plain.h5s"
    assert sessionh5.info(written, storage_options=options).container == "hdf5"


def test_restore_from_https_and_memory(tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    from range_server import serve

    original = rich_session(seed=2)
    sessionh5.save(original, tmp_path / "rich.h5s")
    with serve(tmp_path, lifetime=120) as server:
        restored = new_session()
        restored.restore(f"{server.url}/rich.h5s")
        assert server.requests > 0
    assert_restored(original, restored)

    url = "memory://sessionh5-tests/rich.h5s"
    assert sessionh5.save(original, url) == url
    again = new_session()
    again.restore(url)
    assert_restored(original, again)


def test_saving_to_https_is_refused() -> None:
    with pytest.raises(UsageError, match=r"cannot save to https://example\.org/a\.h5s: HTTP "
                                         r"URLs are read-only"):
        sessionh5.save(rich_session(), "https://example.org/a.h5s")


def test_storage_options_with_a_path_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="storage_options apply to URLs only"):
        sessionh5.save(rich_session(), tmp_path / "a.h5s", storage_options={"anon": True})
    with pytest.raises(UsageError, match="storage_options apply to URLs only"):
        sessionh5.info(tmp_path / "a.h5s", storage_options={"anon": True})


def _objects(s3_server: Any, bucket: str) -> dict[str, tuple[int, str]]:
    """Every object of the bucket: key -> (size, ETag), as the server lists them."""
    import s3fs

    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    return {info["name"]: (info["size"], info["ETag"])
            for info in fs.ls(bucket, detail=True, refresh=True) if info["type"] == "file"}


def _pending_uploads(s3_server: Any, bucket: str) -> list[Any]:
    import s3fs

    fs = s3fs.S3FileSystem(**s3_server.storage_options)
    return list(fs.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads", []))


@pytest.mark.parametrize("part", [None, 2], ids=["single-put", "multipart-part-2"])
def test_an_interrupted_upload_leaves_the_previous_object(
        s3_server: Any, bucket: str, part: int | None) -> None:
    """The server refuses the upload (the one PUT, or the 2nd part of a multipart upload)."""
    options = s3_server.storage_options
    url = f"s3://{bucket}/kept.h5s"
    previous = rich_session(seed=3)
    sessionh5.save(previous, url, storage_options=options)
    before = _objects(s3_server, bucket)
    # s3fs switches to a multipart upload above 100 MiB (two parts of 50 MiB).
    extra = (np.random.default_rng(4).integers(0, 255, 110 << 20, dtype=np.uint8)
             if part else None)
    replacement = rich_session(seed=5, extra=extra)

    def refused(method: str, path: str, query: dict[str, list[str]]) -> bool:
        if method != "PUT" or path != f"/{bucket}/kept.h5s":
            return False
        return query.get("partNumber") == [str(part)] if part else "uploadId" not in query

    s3_server.refuse(refused)
    try:
        with pytest.raises(SaveError, match=rf"uploading to s3://{bucket}/kept\.h5s failed, "
                                            r"so nothing was written there"):
            sessionh5.save(replacement, url, storage_options=options)
    finally:
        s3_server.refuse(None)
    if part:
        assert any("partNumber=1" in q for _, _, q, _ in s3_server.log)  # part 1 went in
    assert _objects(s3_server, bucket) == before  # no partial object, no other key
    assert _pending_uploads(s3_server, bucket) == []  # the multipart upload was aborted
    restored = new_session()
    restored.restore(url, storage_options=options)
    assert_restored(previous, restored)


# -- the command line ------------------------------------------------------------------------


def _option_args(s3_server: Any) -> list[str]:
    return ["--storage-option", f"endpoint_url={s3_server.url}",
            "--storage-option", "key=testing", "--storage-option", "secret=testing"]


SAVED_BY_CLI_FIXTURE: dict[str, Session] = {}


@pytest.fixture
def saved_url(s3_server: Any, bucket: str) -> str:
    url = f"s3://{bucket}/cli.h5s"
    SAVED_BY_CLI_FIXTURE[url] = session = rich_session(seed=6, cycle=False)
    sessionh5.save(session, url, storage_options=s3_server.storage_options)
    return url


def test_cli_info_ls_validate_convert_with_storage_options(
        s3_server: Any, saved_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
        ) -> None:
    from sessionh5._cli import main

    options = _option_args(s3_server)
    assert main(["info", saved_url, *options]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"file            {saved_url}"
    assert "title" in out and "in the bucket" in out
    assert main(["ls", saved_url, "/h", *options]) == 0
    assert ">f8 300x700  raw 1.6 MiB" in capsys.readouterr().out
    assert main(["validate", saved_url, *options]) == 0
    assert capsys.readouterr().out == f"{saved_url}: OK\n"
    local = tmp_path / "local.h5s"
    assert main(["convert", saved_url, str(local), *options]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {local} (HDF5 session file, ")
    restored = new_session()
    restored.restore(local)
    assert_restored(SAVED_BY_CLI_FIXTURE[saved_url], restored)
    back = saved_url.replace("cli.h5s", "back.cxs")
    assert main(["convert", str(local), back, *options]) == 0
    size = sessionh5.info(back, storage_options=s3_server.storage_options).file_size
    assert capsys.readouterr().out == f"wrote {back} (session stream, {size} bytes)\n"
    assert main(["diff", saved_url, back, *options]) == 0


def test_cli_reads_the_endpoint_and_credentials_from_the_environment(
        s3_server: Any, saved_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """As s3fs does: AWS_ENDPOINT_URL and the AWS_* credentials (set by the fixture)."""
    from sessionh5._cli import main

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.url)
    assert main(["info", saved_url]) == 0
    assert "in the bucket" in capsys.readouterr().out


@pytest.mark.parametrize("where", ["key", "bucket"])
def test_cli_a_missing_bucket_or_key_is_exit_status_2(
        s3_server: Any, bucket: str, where: str, capsys: pytest.CaptureFixture[str]) -> None:
    from sessionh5._cli import main

    url = f"s3://{bucket}/nothing.h5s" if where == "key" else "s3://no-such-bucket/a.h5s"
    for command in (["info", url], ["ls", url], ["validate", url],
                    ["convert", url, "unused.h5s"]):
        assert main([*command, *_option_args(s3_server)]) == 2
        captured = capsys.readouterr()
        assert captured.err == f"sessionh5: error: no such object: {url}\n"
        assert captured.out == ""


def test_cli_storage_options_parse_json_values_and_dotted_keys() -> None:
    from sessionh5._cli import build_parser
    from sessionh5._cli._files import storage_options

    args = build_parser().parse_args([
        "info", "s3://b/k.h5s", "--storage-option", "anon=true",
        "--storage-option", "client_kwargs.region_name=eu-west-1",
        "--storage-option", "config_kwargs.retries={\"max_attempts\": 2}",
        "--storage-option", "endpoint_url=http://127.0.0.1:9000"])
    assert storage_options(args) == {
        "anon": True, "client_kwargs": {"region_name": "eu-west-1"},
        "config_kwargs": {"retries": {"max_attempts": 2}},
        "endpoint_url": "http://127.0.0.1:9000"}


def test_cli_a_malformed_storage_option_is_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    from sessionh5._cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["info", "s3://b/k.h5s", "--storage-option", "no-equals-sign"])
    assert exit_info.value.code == 2
    assert "expected KEY=VALUE, not 'no-equals-sign'" in capsys.readouterr().err


# -- missing optional packages ----------------------------------------------------------------


def test_a_missing_s3fs_is_a_usage_error_naming_the_package(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import fsspec

    registry = sys.modules[fsspec.get_filesystem_class.__module__]._registry
    monkeypatch.setitem(sys.modules, "s3fs", None)  # import s3fs now raises ImportError
    monkeypatch.delitem(registry, "s3", raising=False)  # so fsspec imports it again
    with pytest.raises(UsageError, match=r"s3://b/k\.h5s needs s3fs, which is not installed: "
                                         r"pip install s3fs \(or pip install "
                                         r"'sessionh5\[remote\]'\)"):
        sessionh5.info("s3://b/k.h5s")


def test_a_missing_fsspec_is_a_usage_error_naming_the_package(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    from sessionh5._cli import main

    monkeypatch.setitem(sys.modules, "fsspec", None)
    message = ("s3://b/k.h5s is a URL, which needs fsspec: pip install fsspec (or pip install "
               "'sessionh5[remote]')")
    with pytest.raises(UsageError) as error:
        new_session().restore("s3://b/k.h5s")
    assert str(error.value) == message
    assert main(["ls", "s3://b/k.h5s"]) == 1
    assert capsys.readouterr().err == f"sessionh5: error: {message}\n"
