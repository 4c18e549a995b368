"""``sessionh5 convert SRC DST``: HDF5 session file <-> session stream, without the classes."""

from __future__ import annotations

import argparse
from typing import Any

from .._tools.convert import convert
from ._files import open_file
from .progress import progress_bar

#: Command-line spelling -> the library's compress argument.
COMPRESSIONS = {"lz4": "lz4", "gzip": "gzip", "none": None}


def add_parser(subparsers: Any) -> None:
    """Register the ``convert`` subcommand."""
    parser = subparsers.add_parser(
        "convert", help="convert between an HDF5 session file and a session stream",
        description="Write the session in SRC to DST. DST's container follows its suffix "
                    "(.cxs: session stream, anything else: HDF5) unless --format is given. "
                    "Classes need not be importable: records are copied as data.")
    parser.add_argument("src", metavar="SRC", help="session file to read (path or fsspec URL)")
    parser.add_argument("dst", metavar="DST", help="session file to write (replaced atomically)")
    parser.add_argument("--compress", choices=list(COMPRESSIONS), default="lz4",
                        help="compression of the written file (default: lz4)")
    parser.add_argument("--format", choices=["hdf5", "stream"], default=None,
                        help="container of DST (default: from its suffix)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Convert ``args.src`` to ``args.dst`` and say what was written."""
    with open_file(args.src) as stream, progress_bar("converting") as progress:
        written = convert(stream, args.dst, compress=COMPRESSIONS[args.compress],  # type: ignore[arg-type]
                          format=args.format, progress=progress)
    kind = "session stream" if args.format == "stream" or (
        args.format is None and written.suffix.lower() == ".cxs") else "HDF5 session file"
    print(f"wrote {written} ({kind}, {written.stat().st_size} bytes)")
    return 0
