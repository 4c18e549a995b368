"""``sessionh5 convert SRC DST``: HDF5 session file <-> session stream, without the classes."""

from __future__ import annotations

import argparse
from typing import Any

from .._tools.convert import convert, stored_size
from ._files import add_storage_option, storage_options
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
    parser.add_argument("dst", metavar="DST",
                        help="session file to write, replaced atomically (path or fsspec URL)")
    parser.add_argument("--compress", choices=list(COMPRESSIONS), default=None,
                        help="compression of the written file (default: the compression "
                             "of SRC)")
    parser.add_argument("--format", choices=["hdf5", "stream"], default=None,
                        help="container of DST (default: from its suffix)")
    add_storage_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Convert ``args.src`` to ``args.dst`` and say what was written."""
    options = storage_options(args)
    compress = "keep" if args.compress is None else COMPRESSIONS[args.compress]
    with progress_bar("converting") as progress:
        written = convert(args.src, args.dst, compress=compress,  # type: ignore[arg-type]
                          format=args.format, progress=progress, storage_options=options)
    kind = "session stream" if args.format == "stream" or (
        args.format is None and str(written).lower().endswith(".cxs")) else "HDF5 session file"
    print(f"wrote {written} ({kind}, {stored_size(written, options)} bytes)")
    return 0
