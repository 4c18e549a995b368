"""``sessionh5 info FILE [--json]``: a session file at a glance, without loading it."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from .._tools.info import info
from ._files import add_storage_option, storage_options


def add_parser(subparsers: Any) -> None:
    """Register the ``info`` subcommand."""
    parser = subparsers.add_parser(
        "info", help="show metadata, sizes, filters and managers of a session file",
        description="Show a session file's metadata, container and versions, size, "
                    "compression ratio, the filters it needs and its managers with object "
                    "counts. Only metadata is read, so this is fast on files of any size.")
    parser.add_argument("file", metavar="FILE", help="session file (a path or an fsspec URL)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_storage_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary of ``args.file``."""
    found = info(args.file, storage_options=storage_options(args))
    summary = dataclasses.replace(found, name=args.file)
    print(json.dumps(summary.to_json(), indent=2) if args.json else repr(summary))
    return 0
