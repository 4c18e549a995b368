"""``sessionh5 validate FILE``: check layout, checksums and references; list every problem."""

from __future__ import annotations

import argparse
from typing import Any

from .._tools.validate import validate
from ._files import add_storage_option, storage_options
from .progress import progress_bar


def add_parser(subparsers: Any) -> None:
    """Register the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate", help="check a session file completely and list its problems",
        description="Check a session file without restoring it: the layout against its "
                    "schema, every digest and array checksum (all data is read) and every "
                    "reference. Exits 0 when the file is sound, 1 with one line per problem.")
    parser.add_argument("file", metavar="FILE", help="session file (a path or an fsspec URL)")
    add_storage_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print ``FILE: OK`` or the problems of ``args.file``; the exit code says which."""
    with progress_bar("validating") as progress:
        problems = validate(args.file, progress=progress, storage_options=storage_options(args))
    if not problems:
        print(f"{args.file}: OK")
        return 0
    print(f"{args.file}: {len(problems)} problem(s)")
    for problem in problems:
        print(f"  - {problem}")
    return 1
