"""FILE arguments: local paths, or URLs that fsspec understands, with ``--storage-option``.

The library opens both (``_containers/remote.py``); the command line only gathers the
storage options. Each ``--storage-option KEY=VALUE`` sets one option; VALUE is read
as JSON when it is JSON (``true``, ``3``, ``{"a": 1}``) and kept as text otherwise, and
a dotted KEY (``client_kwargs.region_name=eu-west-1``) sets a nested option. What is
not given here comes from the environment as the file system package reads it (s3fs:
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``, ...; fsspec:
``FSSPEC_S3_ENDPOINT_URL`` and the like).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import UsageError

__all__ = ["add_storage_option", "is_url", "storage_options"]


def is_url(name: str) -> bool:
    """True for 'scheme://...' names (but not Windows drive letters like C:\\)."""
    scheme, sep, _ = name.partition("://")
    return bool(sep) and len(scheme) > 1 and scheme.replace("+", "").isalnum()


def add_storage_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable ``--storage-option KEY=VALUE`` to a subcommand."""
    parser.add_argument(
        "--storage-option", metavar="KEY=VALUE", action="append", default=[],
        type=_key_value, dest="storage_option",
        help="an fsspec storage option for URL arguments (repeatable), e.g. "
             "endpoint_url=http://127.0.0.1:9000 or anon=true; credentials also come from "
             "the environment as s3fs reads them (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...)")


def storage_options(args: argparse.Namespace) -> dict[str, Any] | None:
    """The options gathered from ``--storage-option`` (None when there are none)."""
    options: dict[str, Any] = {}
    for key, value in getattr(args, "storage_option", []):
        *parents, leaf = key.split(".")
        place = options
        for part in parents:
            inner = place.setdefault(part, {})
            if not isinstance(inner, dict):
                raise UsageError(f"--storage-option {key}: {part} was given a value, so it "
                                 "cannot also be a group of options")
            place = inner
        place[leaf] = value
    return options or None


def _key_value(text: str) -> tuple[str, Any]:
    """'KEY=VALUE' -> (KEY, VALUE as JSON if it parses, else the text)."""
    key, sep, value = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value
