"""``sessionh5 dump FILE``: every record of a session file as readable text.

Works on both containers and on stream files of other applications, because the
dump reads records as data and never builds the classes they name.
"""

from __future__ import annotations

import argparse
from typing import Any

from .._tools.dump import sdump
from ._files import add_storage_option, storage_options


def add_parser(subparsers: Any) -> None:
    """Register the ``dump`` subcommand."""
    parser = subparsers.add_parser(
        "dump", help="print the metadata, providers, managers and every record of a file",
        description="Print a session file's session version, metadata, provider table, "
                    "state managers and every record, references shown as <class, ordinal>. "
                    "Reads HDF5 session files and session streams (also other applications').")
    parser.add_argument("file", metavar="FILE", help="session file (a path or an fsspec URL)")
    parser.add_argument("--path", metavar="PATH",
                        help="only records stored at or under this HDF5 path, e.g. /models")
    parser.add_argument("--class", dest="class_name", metavar="CLASS",
                        help="only records of this class (full or short name)")
    parser.add_argument("--max-items", type=_count, metavar="N",
                        help="show at most N items of each list, set or dict")
    add_storage_option(parser)
    parser.set_defaults(run=run)


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {text}")
    return value


def run(args: argparse.Namespace) -> int:
    """Dump ``args.file`` to standard output."""
    sdump(None, args.file, storage_options=storage_options(args), path=args.path,
          class_name=args.class_name, max_items=args.max_items)
    return 0
