"""``sessionh5 diff A B``: what differs between two session files, object by object."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from .._tools.diff import diff
from ._files import add_storage_option, storage_options


def add_parser(subparsers: Any) -> None:
    """Register the ``diff`` subcommand."""
    parser = subparsers.add_parser(
        "diff", help="show the differences between two session files",
        description="Compare two session files (either container) without the application's "
                    "classes: metadata, managers added or removed, objects added, removed or "
                    "changed (with the path of each changed value), arrays by shape, dtype "
                    "and content. Exits 0 when the sessions are equal, 1 when they differ, "
                    "2 when a file cannot be read or the usage is wrong.")
    parser.add_argument("a", metavar="A", help="first session file (a path or an fsspec URL)")
    parser.add_argument("b", metavar="B", help="second session file (a path or an fsspec URL)")
    parser.add_argument("--ignore-metadata", metavar="KEY", action="append", default=[],
                        help="leave this metadata key out (repeatable), e.g. modified")
    volatile = parser.add_mutually_exclusive_group()
    volatile.add_argument("--ignore-volatile", dest="compare_volatile", action="store_false",
                          help="leave out the metadata every save rewrites (modified, "
                               "session_version); the default")
    volatile.add_argument("--compare-volatile", dest="compare_volatile", action="store_true",
                          help="compare modified and session_version too")
    parser.add_argument("--summary", action="store_true",
                        help="print counts only (changed objects per class), not each change")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing; only the exit status tells")
    parser.add_argument("--json", action="store_true", help="print the differences as JSON")
    add_storage_option(parser)
    # Like diff(1) and cmp(1): 1 means "they differ", so a file that cannot be read is 2.
    # Both options share a dest: without this, the first one's default (True) would win.
    parser.set_defaults(run=run, error_code=2, compare_volatile=False)


def run(args: argparse.Namespace) -> int:
    """Print the differences of ``args.a`` and ``args.b``; exit 1 when there are any."""
    found = diff(args.a, args.b, ignore_metadata=args.ignore_metadata,
                 compare_volatile=args.compare_volatile, storage_options=storage_options(args))
    result = dataclasses.replace(found, a=args.a, b=args.b)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    elif args.summary and not args.quiet:
        print(result.summary())
    elif not args.quiet:
        print(repr(result))
    return 0 if result.equal else 1
