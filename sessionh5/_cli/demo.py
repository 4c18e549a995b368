"""``sessionh5 demo``: build, save, restore and verify a realistic session."""

from __future__ import annotations

import argparse
from typing import Any

from .._tools.demo import run_demo
from ._files import add_storage_option, storage_options
from .progress import progress_bar


def add_parser(subparsers: Any) -> None:
    """Register the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo", help="save and restore a realistic session and verify it round-trips",
        description="Build a session with a 64 MiB density volume, a million atoms with "
                    "per-atom attributes, markers, a view, aliases and a log; save it, show "
                    "what was written, restore it into a fresh session and verify that "
                    "everything is equal. Exit status 1 when verification fails.")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write the session here (kept; a path or an fsspec URL) "
                             "instead of a temporary file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary session file and print its path")
    parser.add_argument("--scale", type=_scale, default=1.0, metavar="S",
                        help="fraction of the full data size, e.g. 0.1 (default 1)")
    add_storage_option(parser)
    parser.set_defaults(run=run)


def _scale(text: str) -> float:
    """A positive scale factor; argparse turns the ValueError into a usage error (exit 2)."""
    value = float(text)
    if not 0 < value <= 16:
        raise argparse.ArgumentTypeError(f"scale must be in (0, 16], not {text}")
    return value


def run(args: argparse.Namespace) -> int:
    """Run the demo; 0 when the restored session equals the original."""
    result = run_demo(args.output, scale=args.scale, keep=args.keep, progress=progress_bar,
                      storage_options=storage_options(args))
    if args.keep and args.output is None and result.path is not None:
        print(f"kept {result.path}")
    return 0 if result.verified else 1
