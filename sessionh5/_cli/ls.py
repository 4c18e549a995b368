"""``sessionh5 ls FILE [PATH]``: the tree of managers, objects and arrays."""

from __future__ import annotations

import argparse
from typing import Any

from .._tools.tree import render_tree, session_tree
from ._files import add_storage_option, storage_options


def add_parser(subparsers: Any) -> None:
    """Register the ``ls`` subcommand."""
    parser = subparsers.add_parser(
        "ls", help="list the managers, objects and arrays in a session file",
        description="List the tree of managers, objects (class and ordinal; small objects "
                    "packed in tables are shown as one table with its row count) and arrays "
                    "(shape, dtype, raw and stored size). No array data is read.")
    parser.add_argument("file", metavar="FILE", help="session file (a path or an fsspec URL)")
    parser.add_argument("path", metavar="PATH", nargs="?", default=None,
                        help="only the subtree at this path, e.g. /models")
    add_storage_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the tree of ``args.file`` (or of its subtree ``args.path``)."""
    tree = session_tree(args.file, args.path, storage_options=storage_options(args))
    for line in render_tree(tree):
        print(line)
    return 0
